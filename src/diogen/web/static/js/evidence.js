// The rows behind DORA numbers (`explain=true`): which deployments, changes and incidents
// were counted, and every excluded row with its reason.
import {get} from "./api.js";
import {explain, table} from "./components.js";
import {h} from "./dom.js";
import * as fmt from "./format.js";

const SHOWN = 300;
const cache = new Map();

/** The report with evidence for these parameters (one request per distinct query); with
 * `parts`, only those lists of its evidence (the API's `evidence`): a page that shows one
 * reads a tenth of a large organisation's 27 MB. */
export function explained(params, parts = null) {
  const query = parts ? {...params, evidence: parts.join(",")} : {...params, explain: true};
  const key = JSON.stringify(query);
  if (!cache.has(key)) {
    const request = get("/analytics/dora", query);
    request.catch(() => cache.delete(key));
    cache.set(key, request);
  }
  return cache.get(key);
}

export function forgetEvidence() {
  cache.clear();
}

function inRange(iso, range) {
  return !range || (iso >= range.start && iso < range.end);
}

const signals = (d) => d.failure_signals.map((sig) => `${sig.kind} (${sig.rule})`).join(", ");

export const DEPLOYMENT_COLUMNS = [
  {title: "Finished", value: (d) => fmt.moment(d.finished_at)},
  {title: "Repository", value: (d) => d.repo || fmt.DASH},
  {title: "Ref / sha", value: (d) => h("code", {}, d.ref || fmt.shortSha(d.sha))},
  {title: "Changes", num: true, value: (d) => d.changes},
  {title: "Failed", value: (d) => (d.failed ? h("span", {class: "badge bad"}, "failed") : "no")},
  {title: "Why", value: (d) => signals(d) || fmt.DASH},
];

export const CHANGE_COLUMNS = [
  {title: "Change", value: (c) => (c.kind === "pull_request" ? `PR ${c.pull_request}`
    : h("code", {}, fmt.shortSha(c.sha)))},
  {title: "Repository", value: (c) => c.repo || fmt.DASH},
  {title: "First commit", value: (c) => fmt.moment(c.authored_at)},
  {title: "Deployed", value: (c) => fmt.moment(c.deployed_at)},
  {title: "Lead time", num: true, value: (c) => fmt.hours(c.lead_time_hours)},
];

const RECOVERY_COLUMNS = [
  ...DEPLOYMENT_COLUMNS.slice(0, 3),
  {title: "Recovered by", value: (d) => (d.recovered_by
    ? `${d.recovered_by.kind} (${d.recovered_by.rule})` : "not recovered")},
  {title: "Recovery", num: true, value: (d) => fmt.hours(d.recovery_hours)},
];

export const INCIDENT_COLUMNS = [
  {title: "Incident", value: (i) => i.title || i.id},
  {title: "Started", value: (i) => fmt.moment(i.started_at)},
  {title: "Resolved", value: (i) => fmt.moment(i.resolved_at)},
  {title: "Restore", num: true, value: (i) => fmt.hours(i.restore_hours)},
  {title: "Attributed by", value: (i) => i.attributed_by || i.reason || "unattributed"},
];

const EXCLUDED_COLUMNS = [
  {title: "Row", value: (x) => (x.kind === "deployment" ? `deployment ${x.ref || fmt.shortSha(x.sha)}`
    : `${x.change} ${x.pull_request || fmt.shortSha(x.sha)}`)},
  {title: "Repository", value: (x) => x.repo || fmt.DASH},
  {title: "Reason", value: (x) => h("code", {}, x.reason)},
  {title: "Detail", value: (x) => x.detail || ""},
];

function rows(title, columns, items, rowClass) {
  const shown = items.slice(0, SHOWN);
  return h("section", {class: "block"},
    h("h3", {}, `${title} (${items.length})`),
    items.length ? table(columns, shown, {rowClass}) : h("p", {class: "muted"}, "None."),
    items.length > SHOWN ? h("p", {class: "muted"}, `and ${items.length - SHOWN} more`) : null);
}

const failedClass = (d) => (d.failed ? "failed" : null);

/** What each metric shows as its evidence. */
const VIEWS = {
  deployment_frequency: (ev, range) => [
    rows("Deployments counted", DEPLOYMENT_COLUMNS,
      ev.deployments.filter((d) => inRange(d.finished_at, range)), failedClass)],
  lead_time_for_changes: (ev, range) => [
    rows("Changes deployed", CHANGE_COLUMNS,
      ev.changes.filter((c) => inRange(c.deployed_at, range))
        .sort((a, b) => b.lead_time_hours - a.lead_time_hours))],
  change_failure_rate: (ev, range) => {
    const counted = ev.deployments.filter((d) => inRange(d.finished_at, range));
    return [rows("Failed deployments", DEPLOYMENT_COLUMNS, counted.filter((d) => d.failed), failedClass),
      rows("Deployments that did not fail", DEPLOYMENT_COLUMNS, counted.filter((d) => !d.failed))];
  },
  failed_deployment_recovery_time: (ev, range) => [
    rows("Failed deployments", RECOVERY_COLUMNS,
      ev.deployments.filter((d) => d.failed && inRange(d.finished_at, range))),
    rows("Incidents (time to restore)", INCIDENT_COLUMNS,
      ev.incidents.filter((i) => inRange(i.started_at, range)))],
  rework_rate: (ev, range) => [
    rows("Rework deployments", DEPLOYMENT_COLUMNS,
      ev.deployments.filter((d) => d.rework && inRange(d.finished_at, range)), failedClass)],
};

export const METRIC_TITLES = {
  deployment_frequency: "Deployment frequency",
  lead_time_for_changes: "Lead time for changes",
  change_failure_rate: "Change failure rate",
  failed_deployment_recovery_time: "Failed deployment recovery time",
  rework_rate: "Deployment rework rate",
};

/** Open the evidence of `metric` (optionally of one bucket [start, end)). */
export async function showEvidence(metric, params, range) {
  const when = range ? ` — ${fmt.day(range.start)} to ${fmt.day(range.end)}` : "";
  explain(`${METRIC_TITLES[metric]}${when}`, h("p", {class: "muted"}, "Loading evidence…"));
  try {
    const report = await explained(params);
    const ev = report.evidence;
    explain(`${METRIC_TITLES[metric]}${when}`,
      h("p", {class: "muted"}, `Production environments: ${ev.production_environments.join(", ") || "none"}.`),
      VIEWS[metric](ev, range),
      h("details", {}, h("summary", {}, `Excluded rows and why (${ev.excluded.length})`),
        table(EXCLUDED_COLUMNS, ev.excluded.slice(0, SHOWN))));
  } catch (error) {
    explain(METRIC_TITLES[metric], h("p", {class: "error"}, error.message));
  }
}
