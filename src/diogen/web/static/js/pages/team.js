// A team: its DORA metrics, pull request stages, flow panels and members.
import {getAll} from "../api.js";
import {findTeam, scopeParams} from "../catalog.js";
import {empty, pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import {bucketFor, doraSection} from "../dora.js";
import {showEvidence} from "../evidence.js";
import {flowPanels} from "../flow.js";
import * as fmt from "../format.js";
import {link} from "../state.js";
import {reviewPanel} from "../reviews.js";
import {sprintPanel} from "../sprints.js";
import {stageSummary} from "../stages.js";

export const title = "Team";

function chooser(cat, f) {
  const teams = [...cat.teams].sort((a, b) => a.name.localeCompare(b.name));
  return h("div", {}, pageHead("Team", "Pick a team (or use the Team filter above)."),
    teams.length
      ? panel("Teams", h("ul", {}, teams.map((t) =>
        h("li", {}, h("a", {href: link("team", {team: t.name, repo: "", service: ""})}, t.name)))))
      : empty("No teams yet", "Create teams and their memberships on the Administration page."),
    f.team ? h("p", {class: "error"}, `Unknown team ${f.team}.`) : null);
}

async function members(team) {
  const rows = await getAll(`/teams/${team.id}/members`);
  if (!rows.length) {
    return empty("No members", "Add people to the team on the Administration page; changes count ",
      "for the team their author belonged to at the time.");
  }
  return table([
    {title: "Person", value: (r) => r.display_name || r.person_id},
    {title: "Role", value: (r) => r.role || fmt.DASH},
    {title: "From", value: (r) => fmt.day(r.valid_from)},
    {title: "To", value: (r) => (r.valid_to ? fmt.day(r.valid_to) : "now")},
  ], rows);
}

function stages(report, params) {
  const section = report.lead_time_for_changes.stages;
  if (!section || !section.pull_requests) {
    return empty("No deployed pull requests in this window",
      "Stages need pull requests (sync a code host such as GitHub) and deployments that ship them.");
  }
  return h("div", {},
    h("p", {class: "muted"}, `${section.pull_requests} deployed pull requests. Click a bar for them.`),
    stageSummary(section, () => showEvidence("lead_time_for_changes", params)));
}


export async function render({f, cat, window}) {
  const team = findTeam(f, cat);
  if (!team) return chooser(cat, f);
  const scope = scopeParams(f, cat);
  const [dora, flow, reviews, sprint, people] = await Promise.all([
    doraSection(scope, window),
    flowPanels(scope, window, bucketFor(window)),
    reviewPanel(scope, window),
    sprintPanel(team, window),
    members(team),
  ]);
  return h("div", {},
    pageHead(`Team ${team.name}`, `${window.from} to ${window.to} (excluded). Changes count for ` +
      "the team their author belonged to at the time."),
    dora.node,
    panel("Pull request cycle time by stage", stages(dora.report, dora.params)),
    flow,
    h("div", {class: "grid wide"},
      reviews, sprint),
    panel("Members", people));
}
