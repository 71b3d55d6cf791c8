// Pull requests with their stage times: those deployed in the window (DORA evidence).
import {scopeParams} from "../catalog.js";
import {empty, growingTable, numberLink, pageHead, panel, sliced} from "../components.js";
import {h} from "../dom.js";
import {doraParams} from "../dora.js";
import {explained} from "../evidence.js";
import * as fmt from "../format.js";
import {openDeployment} from "./deployments.js";
import {STAGES, stageSummary, stagesPerPull} from "../stages.js";

export const title = "Pull requests";
const CHARTED = 40;
const SHOWN = 200;

export async function render({f, cat, window}) {
  const params = doraParams(scopeParams(f, cat), window);
  const report = await explained(params, ["pull_requests"]);
  const pulls = report.evidence.changes.filter((c) => c.kind === "pull_request")
    .sort((a, b) => b.lead_time_hours - a.lead_time_hours);
  const head = pageHead("Pull requests",
    `Pull requests deployed to production ${window.from} to ${window.to} (excluded), with the ` +
    "time they spent in each stage; longest lead time first.");
  if (!pulls.length) {
    return h("div", {}, head, empty("No deployed pull requests in this window",
      "Pull requests come from code hosts (", h("code", {}, "diogen sync github --repo OWNER/NAME"),
      "); they appear here once a production deployment ships them."));
  }
  const open = (c) => openDeployment(c.deployment_id, params);
  return h("div", {}, head,
    panel("Stages (all deployed pull requests)",
      stageSummary(report.lead_time_for_changes.stages)),
    panel(`Stage times of the ${Math.min(CHARTED, pulls.length)} slowest`,
      stagesPerPull(pulls.slice(0, CHARTED), (row) => open(row.data))),
    panel(`Deployed pull requests (${pulls.length})`, growingTable([
      {title: "Pull request", value: (c) => numberLink(`${c.repo} ${c.pull_request}`, () => open(c),
        {"aria-label": `Open the deployment of ${c.repo} ${c.pull_request}`})},
      {title: "Commits", num: true, value: (c) => String(c.commits.length)},
      ...STAGES.map((st) => ({title: st.key[0].toUpperCase() + st.key.slice(1), num: true,
        value: (c) => fmt.hours(c.stages?.[`${st.key}_hours`] ?? null)})),
      {title: "Lead time", num: true, value: (c) => fmt.hours(c.lead_time_hours)},
      {title: "Deployed", value: (c) => fmt.moment(c.deployed_at)},
    ], pulls.slice(0, SHOWN), sliced(pulls, SHOWN, SHOWN),
    {label: `Show ${SHOWN} more (${pulls.length} in all)`})));
}
