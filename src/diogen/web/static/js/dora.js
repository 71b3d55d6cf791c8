// The five DORA metrics of a scope: cards with tiers and change against the previous period,
// and their trend lines. Numbers and points open their evidence.
import {get} from "./api.js";
import {empty, metricCard, panel} from "./components.js";
import {h} from "./dom.js";
import {showEvidence} from "./evidence.js";
import * as fmt from "./format.js";
import {lineChart} from "./chart.js";
import {previousWindow} from "./state.js";

export function bucketFor(window) {
  const days = (Date.parse(window.to) - Date.parse(window.from)) / 86400000;
  return days <= 31 ? "day" : days <= 200 ? "week" : "month";
}

export function doraParams(scope, window) {
  return {...scope, from: window.from, to: window.to};
}

/** `current` against `previous`: relative for amounts, in points for rates. */
function delta(current, previous, lowerIsBetter, isRate) {
  if (current === null || current === undefined) return null;
  if (previous === null || previous === undefined) return {text: "no previous data", verdict: ""};
  const change = isRate ? (current - previous) * 100 : previous ? ((current - previous) / previous) * 100 : null;
  if (change === null) return {text: "none in the previous period", verdict: ""};
  if (Math.abs(change) < 0.05) return {text: "unchanged from the previous period", verdict: ""};
  const better = lowerIsBetter ? change < 0 : change > 0;
  const unit = isRate ? " pts" : " %";
  return {text: `${change > 0 ? "▲" : "▼"} ${Math.abs(change).toFixed(1)}${unit} vs previous period`,
    verdict: better ? "better" : "worse"};
}

function cards(report, previous, params) {
  const f = report.deployment_frequency;
  const l = report.lead_time_for_changes;
  const c = report.change_failure_rate;
  const r = report.failed_deployment_recovery_time;
  const w = report.rework_rate;
  const p = previous || {};
  const open = (metric) => () => showEvidence(metric, params);
  return h("div", {class: "grid"},
    metricCard({key: "deployment_frequency", label: "Deployment frequency",
      text: `${fmt.number(f.per_week)} / week`, raw: f.per_week, tier: f.tier,
      delta: delta(f.per_week, p.deployment_frequency?.per_week, false, false),
      detail: `${f.deployments} deployments on ${f.deploy_days} days`,
      onExplain: open("deployment_frequency")}),
    metricCard({key: "lead_time_for_changes", label: "Lead time for changes (median)",
      text: fmt.hours(l.median_hours), raw: l.median_hours, tier: l.tier,
      delta: delta(l.median_hours, p.lead_time_for_changes?.median_hours, true, false),
      detail: `${l.changes} changes · p75 ${fmt.hours(l.p75_hours)} · p90 ${fmt.hours(l.p90_hours)}`,
      onExplain: open("lead_time_for_changes")}),
    metricCard({key: "change_failure_rate", label: "Change failure rate",
      text: fmt.percent(c.rate), raw: c.rate, tier: c.tier,
      delta: delta(c.rate, p.change_failure_rate?.rate, true, true),
      detail: c.reason || `${c.failed} of ${c.deployments} deployments failed`,
      onExplain: open("change_failure_rate")}),
    metricCard({key: "failed_deployment_recovery_time", label: "Failed deployment recovery (median)",
      text: fmt.hours(r.median_hours), raw: r.median_hours, tier: r.tier,
      delta: delta(r.median_hours, p.failed_deployment_recovery_time?.median_hours, true, false),
      detail: `${r.failures} failures · time to restore ${fmt.hours(r.time_to_restore?.median_hours)}`,
      onExplain: open("failed_deployment_recovery_time")}),
    metricCard({key: "rework_rate", label: "Deployment rework rate", text: fmt.percent(w.rate),
      raw: w.rate, withTier: false, delta: delta(w.rate, p.rework_rate?.rate, true, true),
      detail: w.reason || `${w.rework} of ${w.deployments} deployments`,
      onExplain: open("rework_rate")}));
}

function trend(report, params, key, name, format, options) {
  const points = report.buckets.map((b) => ({
    x: Date.parse(b.start), y: b[key], label: `${b.partial ? "part of " : ""}${bucketName(b)}`,
    range: {start: b.start, end: b.end},
  }));
  const metric = {deployments: "deployment_frequency", median_lead_time_hours: "lead_time_for_changes",
    change_failure_rate: "change_failure_rate"}[key];
  return panel(name, lineChart({
    series: [{name, cls: "s1", points}], format, ...options, label: `${name} over time`,
    onPoint: (p) => showEvidence(metric, params, p.range),
  }));
}

function bucketName(b) {
  return `${fmt.day(b.start)} to ${fmt.day(b.end)}`;
}

function trends(report, params) {
  return h("div", {class: "grid wide"},
    trend(report, params, "deployments", "Deployments", (v) => fmt.number(v, 0),
      {unit: "deployments", integer: true}),
    trend(report, params, "median_lead_time_hours", "Median lead time", fmt.hours,
      {unit: "median lead time", axisFormat: fmt.hoursAxis}),
    trend(report, params, "change_failure_rate", "Change failure rate", fmt.percent,
      {unit: "failure rate"}));
}

export function noDeployments(report) {
  return report.deployment_frequency.deployments === 0
    ? empty("No production deployments in this window",
      "Deployments come from deployment APIs, CI runs matching your rules, release tags ",
      "(pattern set by release_pattern) or POST /api/v1/ingest. Widen the date range, pick ",
      "another scope, or check the Data quality page for what was left out and why.")
    : null;
}

/** Cards and trends of a scope, with the report itself for callers that need more. */
export async function doraSection(scope, window) {
  const params = doraParams(scope, window);
  const [report, previous] = await Promise.all([
    get("/analytics/dora", {...params, bucket: bucketFor(window)}),
    get("/analytics/dora", doraParams(scope, previousWindow(window))),
  ]);
  const node = h("div", {class: "dora"}, noDeployments(report), cards(report, previous, params),
    trends(report, params));
  return {node, report, params};
}
