// Sources: the stored connections (add, test, enable, remove; connections.js), then per
// source the last sync, errors, cursors, rate-limit budget, backlog and dead
// letters (GET /sources, what `diogen status` shows), and the quarantined records with their
// reasons (GET /quarantine); Sync now queues a sync for the worker (POST /sources/{source}/sync).
// All belong to no organisation: instance administrators only.
import {get, post} from "../api.js";
import {connectionsPanel, schedule} from "../connections.js";
import {empty, pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import * as fmt from "../format.js";

export const title = "Sources";
const QUARANTINE_SHOWN = 50;

function lastSync(s) {
  if (!s.last_status) return "never";
  return `${s.last_status} ${fmt.moment(s.last_finished || s.last_started)}`;
}

function errors(s) {
  if (!s.failures_since_success && !s.last_error) return "none";
  const first = (s.last_error || "").split("\n")[0];
  return `${s.failures_since_success} failed since success${first ? `: ${first}` : ""}`;
}

function cursors(s) {
  if (!s.cursors.length) return fmt.DASH;
  return h("details", {}, h("summary", {}, `${s.cursors.length} stream${s.cursors.length === 1 ? "" : "s"}, ${fmt.moment(s.cursor_updated)}`),
    h("ul", {}, s.cursors.map((c) => h("li", {}, `${c.stream}: ${fmt.moment(c.updated_at)}`))));
}

function count(key, value) {
  return h("span", {dataset: {metric: key, value: String(value)}}, String(value));
}

function syncButton(s, redraw) {
  if (s.sync_requested_at) {
    return h("span", {class: "muted", dataset: {requested: s.sync_requested_at}},
      `requested ${fmt.moment(s.sync_requested_at)}`);
  }
  if (!s.can_sync) {
    return h("span", {class: "muted", title: "The worker syncs stored connections, git " +
      "repositories with a location and sources whose secrets it holds; see Schedule."},
    "diogen sync on the server");
  }
  const button = h("button", {type: "button", "aria-label": `Sync ${s.source} now`,
    onclick: async () => {
      button.disabled = true;
      try {
        await post(`/sources/${encodeURIComponent(s.source)}/sync`);
        redraw();
      } catch (error) {
        button.replaceWith(h("span", {class: "error", role: "alert"}, error.message));
      }
    }}, "Sync now");
  return button;
}

function sourcesTable(body, redraw) {
  if (!body.items.length) {
    return empty("No source has been synced yet",
      "Run a sync on the server (", h("code", {}, "diogen sync git PATH"), ", ",
      h("code", {}, "diogen sync github --repo OWNER/NAME"), ") or start ", h("code", {}, "diogen worker"),
      " for scheduled syncs.");
  }
  return table([
    {title: "Source", value: (s) => (s.connection ? [s.source, h("div", {class: "muted"}, `connection ${s.connection}`)] : s.source)},
    {title: "Last sync", value: lastSync},
    {title: "Records", num: true, value: (s) => String(s.last_records)},
    {title: "Errors", value: errors},
    {title: "Rate-limit budget", num: true,
      value: (s) => (s.rate_limit_remaining === null ? "not reported" : count("budget", s.rate_limit_remaining))},
    {title: "Cursors", value: cursors},
    {title: "Unpublished", num: true, value: (s) => String(s.unpublished)},
    {title: "Quarantined", num: true, value: (s) => count("quarantined", s.quarantined)},
    {title: "Dead letters", num: true, value: (s) => count("dead_letters", s.dead_letters)},
    {title: "Schedule", value: (s) => schedule(s.schedule)},
    {title: "Sync", value: (s) => syncButton(s, redraw)},
  ], body.items, {rowClass: (s) => (s.failures_since_success ? "failed" : null)});
}

function quarantineTable(page) {
  if (!page.items.length) return empty("Nothing in quarantine", "Every record received so far was normalised.");
  return table([
    {title: "Received", value: (q) => fmt.moment(q.received_at)},
    {title: "Source", value: (q) => q.source},
    {title: "Stream", value: (q) => q.stream},
    {title: "Record", value: (q) => q.natural_key || fmt.DASH},
    {title: "Reason", value: (q) => q.error},
  ], page.items, {caption: page.next_cursor ? `The newest ${QUARANTINE_SHOWN}; more on the server (diogen replay).` : null});
}

// Draw the page again through the router, which owns the loading and ready states.
function redraw() {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export async function render({cat}) {
  const head = pageHead("Sources", "Connections, syncs, schedules, cursors, backlog, rate-limit budget and rejected records.");
  if (!cat.me.is_superuser) {
    return h("div", {}, head, empty("Sources are shown to instance administrators",
      "Sync runs and quarantined records belong to no organisation. Ask an administrator, or run ",
      h("code", {}, "diogen status"), " on the server."));
  }
  const [body, quarantined, connections] = await Promise.all([
    get("/sources"), get("/quarantine", {limit: QUARANTINE_SHOWN}), connectionsPanel(),
  ]);
  const lag = Object.values(body.lag).reduce((a, b) => a + b, 0);
  return h("div", {}, head,
    h("p", {class: "muted"}, `Bus ${body.bus}, group ${body.group}: ${lag} events to process; `,
      `${body.dead_letters} dead letters; ${body.stale_windows} stale metric windows.`),
    panel("Connections", connections),
    panel(`Sources (${body.items.length})`, sourcesTable(body, redraw),
      h("p", {class: "muted"}, "Sync now queues the sync for the worker (",
        h("code", {}, "diogen worker"), "); it runs at the worker's next scheduler tick.")),
    panel("Quarantine", quarantineTable(quarantined)));
}

