// Flow panels of a team (throughput, bottleneck, WIP and ageing, velocity), drawn from
// GET /analytics/flow when the server offers it; otherwise an empty state says so.
import {get, offers} from "./api.js";
import {groupedBars, lineChart, stackedBars} from "./chart.js";
import {empty, panel} from "./components.js";
import {h} from "./dom.js";
import * as fmt from "./format.js";

const FLOW_PATH = "/analytics/flow";
const BANDS = [["up_to_1_day", "≤ 1 d"], ["up_to_3_days", "≤ 3 d"], ["up_to_7_days", "≤ 7 d"],
  ["up_to_30_days", "≤ 30 d"], ["over_30_days", "> 30 d"]];

function missing(what) {
  return empty(`${what}: not available on this server`,
    `This panel needs GET /api/v1${FLOW_PATH} (the flow_report document of docs/flow.md). `,
    "It appears here as soon as the server offers it.");
}

function throughput(report) {
  const points = report.buckets.map((b) => ({x: Date.parse(b.start), y: b.merged,
    label: `${fmt.day(b.start)} to ${fmt.day(b.end)}`}));
  const t = report.pull_requests.throughput;
  return panel("Throughput", h("p", {dataset: {metric: "throughput", value: String(t.merged)}},
    `${t.merged} pull requests merged (${fmt.number(t.per_week)} per week)`),
  lineChart({series: [{name: "merged", cls: "s1", points}], format: (v) => fmt.number(v, 0),
    unit: "merged", integer: true, label: "Pull requests merged per bucket"}));
}

function bottleneck(report) {
  const b = report.bottleneck;
  if (!b.stages.some((st) => st.pull_requests)) {
    return panel("Bottleneck", empty("No merged pull requests in this window"));
  }
  const stages = b.stages.map((st, i) => ({key: st.stage, name: st.stage, cls: `s${i + 1}`}));
  const values = Object.fromEntries(b.stages.map((st) => [st.stage, st.median_hours]));
  return panel("Bottleneck",
    h("p", {}, `Largest share of cycle time: `, h("strong", {}, b.stage || fmt.DASH),
      ` (${fmt.percent(b.share)}), trend ${b.trend?.direction || "unknown"}.`),
    stackedBars({rows: [{label: "median", values}], stages, format: fmt.hours, axisFormat: fmt.hoursAxis,
      label: "Median hours per stage"}));
}

function wip(report) {
  const w = report.pull_requests.wip;
  return panel("Work in progress and ageing",
    h("p", {dataset: {metric: "wip", value: String(w.open)}},
      `${w.open} open pull requests at ${fmt.moment(w.at)}; median age ${fmt.hours(w.age.median_hours)}.`),
    groupedBars({groups: BANDS.map(([key, label]) => ({label, values: [w.age_bands[key]]})),
      series: [{name: "open pull requests", cls: "s2"}], format: (v) => fmt.number(v, 0),
      unit: "open", integer: true, label: "Open pull requests by age"}));
}

function velocity(report) {
  const sprints = report.sprints;
  if (!sprints) return panel("Sprint velocity", empty("Sprints are counted for teams and organisations only"));
  if (!sprints.items.length) {
    return panel("Sprint velocity", empty("No sprint completed in this window",
      "Sync an issue tracker with sprints (Jira, Linear) and pick a window that covers them."));
  }
  return panel("Sprint velocity",
    h("p", {}, `Mean completed ${fmt.number(sprints.mean_completed_points)} points over ${sprints.sprints} sprints.`),
    groupedBars({
      groups: sprints.items.map((sp) => ({label: sp.name, values: [sp.committed.points, sp.completed.points]})),
      series: [{name: "committed", cls: "s1"}, {name: "completed", cls: "s3"}],
      format: (v) => fmt.number(v, 1), unit: "points", label: "Committed and completed points per sprint",
    }));
}

export async function flowPanels(scope, window, bucket) {
  if (!(await offers(FLOW_PATH))) {
    return h("div", {class: "grid wide"}, panel("Throughput", missing("Throughput")),
      panel("Work in progress and ageing", missing("WIP and ageing")),
      panel("Sprint velocity", missing("Velocity")), panel("Bottleneck", missing("Bottleneck")));
  }
  const report = await get(FLOW_PATH, {...scope, from: window.from, to: window.to, bucket});
  return h("div", {class: "grid wide"}, throughput(report), wip(report), velocity(report),
    bottleneck(report));
}
