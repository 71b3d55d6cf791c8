// Deployments: a timeline of production deployments (failures marked) and the list of
// deployments, newest first, a page at a time; each opens its changes, pull requests and
// incidents.
import {get, getAll} from "../api.js";
import {findRepo, findService, scopeParams} from "../catalog.js";
import {explain, empty, growingTable, numberLink, pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import {doraParams} from "../dora.js";
import {CHANGE_COLUMNS, INCIDENT_COLUMNS, explained} from "../evidence.js";
import * as fmt from "../format.js";
import {timeline} from "../chart.js";

export const title = "Deployments";
const PAGE_SIZE = 200;

export async function environments() {
  const recent = await get("/deployments", {limit: 200});
  return [...new Set(recent.items.map((d) => d.environment))].sort();
}

/** A deployment with what the report of `params` says of it: its verdict, changes and
 * incidents (the whole evidence, read once per page when a deployment is first opened). */
export async function openDeployment(id, params) {
  explain("Deployment", h("p", {class: "muted"}, "Loading…"));
  const [deployment, incidents, {evidence}] = await Promise.all([
    get(`/deployments/${id}`), getAll("/incidents", {deployment_id: id}), explained(params),
  ]);
  const verdict = evidence.deployments.find((d) => d.id === id);
  const changes = evidence.changes.filter((c) => c.deployment_id === id);
  const pulls = changes.filter((c) => c.kind === "pull_request");
  const attributed = evidence.incidents.filter((i) => i.deployment_id === id);
  explain(`Deployment ${deployment.ref_name || fmt.shortSha(deployment.sha)}`,
    table([{title: "Field", value: (r) => r[0]}, {title: "Value", value: (r) => r[1]}], [
      ["Environment", deployment.environment], ["Status", deployment.status],
      ["Finished", fmt.moment(deployment.finished_at)], ["Sha", h("code", {}, deployment.sha)],
      ["Source", deployment.source], ["Rollback", deployment.is_rollback ? "yes" : "no"],
      ["Failed (metrics)", verdict ? (verdict.failed ? "yes" : "no") : "not a counted production deployment in this window"],
      ["Failure signals", verdict?.failure_signals.map((s) => `${s.kind} ${s.rule}`).join(", ") || fmt.DASH],
      ["Marked failed by hand", deployment.marked_failed === null ? "no verdict" : String(deployment.marked_failed)],
    ]),
    h("h3", {}, `Pull requests (${pulls.length})`),
    pulls.length ? table(CHANGE_COLUMNS, pulls) : h("p", {class: "muted"}, "None."),
    h("h3", {}, `Changes (${changes.length})`),
    changes.length ? table(CHANGE_COLUMNS, changes.slice(0, 300)) : h("p", {class: "muted"},
      verdict ? "It shipped no new commit." : "Changes are known for counted production deployments."),
    h("h3", {}, `Incidents (${incidents.length + attributed.filter((a) => !incidents.some((i) => i.id === a.id)).length})`),
    attributed.length ? table(INCIDENT_COLUMNS, attributed) : null,
    incidents.length ? table([
      {title: "Linked incident", value: (i) => i.title || i.id},
      {title: "Started", value: (i) => fmt.moment(i.started_at)},
      {title: "Resolved", value: (i) => fmt.moment(i.resolved_at)},
    ], incidents) : null,
    !incidents.length && !attributed.length ? h("p", {class: "muted"}, "None.") : null);
}

function timelinePanel(evidence, window, params) {
  const deployments = evidence.deployments;
  if (!deployments.length) {
    return empty("No production deployments in this window",
      "Widen the date range or pick another scope; see Data quality for what was left out.");
  }
  const lanes = [...new Set(deployments.map((d) => d.repo || "unknown"))].sort();
  return timeline({
    lanes, from: Date.parse(window.from), to: Date.parse(window.to),
    label: "Production deployments over time",
    points: deployments.map((d) => ({x: Date.parse(d.finished_at), lane: d.repo || "unknown",
      failed: d.failed, data: d,
      label: `${d.repo} ${d.ref || fmt.shortSha(d.sha)} at ${fmt.moment(d.finished_at)}${d.failed ? " (failed)" : ""}`})),
    onPoint: (p) => openDeployment(p.data.id, params),
  });
}

/** `more` of the listing's table: the page at `cursor` (its rows that `keep` keeps). */
function following(query, keep, cursor) {
  if (!cursor) return null;
  return async () => {
    const page = await get("/deployments", {...query, limit: PAGE_SIZE, cursor});
    return {rows: page.items.filter(keep), more: following(query, keep, page.next_cursor)};
  };
}

export async function render({f, cat, window}) {
  const repo = findRepo(f, cat);
  const service = findService(f, cat);
  const params = doraParams(scopeParams(f, cat), window);
  const query = {
    repository_id: repo?.id, service_id: service?.id, environment: f.env,
    finished_from: `${window.from}T00:00:00Z`, finished_to: `${window.to}T00:00:00Z`,
  };
  const [{evidence}, first] = await Promise.all([
    explained(params, ["deployments"]), get("/deployments", {...query, limit: PAGE_SIZE}),
  ]);
  const verdicts = new Map(evidence.deployments.map((d) => [d.id, d]));
  // A team is no property of a deployment row: its deployments are those the metrics counted.
  const keep = (d) => !f.team || verdicts.has(d.id);
  const rows = first.items.filter(keep);
  const more = following(query, keep, first.next_cursor);
  const repoName = (id) => cat.repos.find((r) => r.id === id)?.name || fmt.DASH;
  return h("div", {},
    pageHead("Deployments", `${window.from} to ${window.to} (excluded). Failed deployments are marked in red.`),
    panel("Production timeline", timelinePanel(evidence, window, params)),
    panel(more ? "Deployments, newest first" : `All deployments (${rows.length})`,
      rows.length || more ? growingTable([
        {title: "Finished", value: (d) => numberLink(fmt.moment(d.finished_at),
          () => openDeployment(d.id, params), {"aria-label": `Open deployment of ${fmt.moment(d.finished_at)}`})},
        {title: "Repository", value: (d) => repoName(d.repository_id)},
        {title: "Environment", value: (d) => d.environment},
        {title: "Status", value: (d) => d.status},
        {title: "Ref / sha", value: (d) => h("code", {}, d.ref_name || fmt.shortSha(d.sha))},
        {title: "Failed", value: (d) => (verdicts.get(d.id)?.failed || d.marked_failed
          ? h("span", {class: "badge bad"}, "failed") : fmt.DASH)},
      ], rows, more, {rowClass: (d) => (verdicts.get(d.id)?.failed ? "failed" : null),
        label: `Show ${PAGE_SIZE} more`})
        : empty("No deployments match", "Change the filters or the date range.")));
}
