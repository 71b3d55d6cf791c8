// The pull request cycle cut into stages (DESIGN §5 lead-time breakdown).
import {stackedBars} from "./chart.js";
import * as fmt from "./format.js";

export const STAGES = [
  {key: "coding", name: "Coding (first commit → ready)", cls: "s1"},
  {key: "pickup", name: "Pickup (→ first review)", cls: "s2"},
  {key: "review", name: "Review (→ merge)", cls: "s3"},
  {key: "deploy", name: "Deploy (merge → production)", cls: "s4"},
];

/** Median, p75 and p90 of each stage as stacked bars (from the DORA lead-time section). */
export function stageSummary(stages, onBar) {
  const row = (label, stat) => ({
    label, values: Object.fromEntries(STAGES.map((st) => [st.key, stages[st.key]?.[stat] ?? null])),
  });
  return stackedBars({
    rows: [row("median", "median_hours"), row("p75", "p75_hours"), row("p90", "p90_hours")],
    stages: STAGES, format: fmt.hours, axisFormat: fmt.hoursAxis, onBar,
    label: "Pull request cycle time by stage",
  });
}

/** One bar per pull request (from DORA evidence changes). */
export function stagesPerPull(changes, onBar) {
  return stackedBars({
    rows: changes.map((c) => ({
      label: `${c.repo} ${c.pull_request}`, data: c,
      values: Object.fromEntries(STAGES.map((st) => [st.key, c.stages?.[`${st.key}_hours`] ?? null])),
    })),
    stages: STAGES, format: fmt.hours, axisFormat: fmt.hoursAxis, onBar,
    label: "Stage times of each pull request",
  });
}
