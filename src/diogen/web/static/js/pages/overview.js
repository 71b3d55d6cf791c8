// Organisation overview: the five DORA metrics with tiers, trends and change against the
// previous period; teams ranked.
import {get} from "../api.js";
import {orgName, scopeLabel, scopeParams} from "../catalog.js";
import {empty, pageHead, panel, table, tierBadge} from "../components.js";
import {h} from "../dom.js";
import {doraSection} from "../dora.js";
import * as fmt from "../format.js";
import {mapLimited} from "../pool.js";
import {link} from "../state.js";

export const title = "Overview";
const TIER_POINTS = {elite: 4, high: 3, medium: 2, low: 1};
const TIERED = ["deployment_frequency", "lead_time_for_changes", "change_failure_rate",
  "failed_deployment_recovery_time"];

function score(report) {
  return TIERED.reduce((sum, key) => sum + (TIER_POINTS[report[key].tier] || 0), 0);
}

function withTier(text, tier) {
  return h("span", {}, text, " ", tierBadge(tier));
}

async function rankedTeams(cat, f, window) {
  const org = orgName(f, cat);
  const orgId = cat.orgs.find((o) => o.name === org)?.id;
  const teams = cat.teams.filter((t) => !orgId || t.organization_id === orgId);
  if (!teams.length) {
    return empty("No teams yet",
      "Create teams and their memberships on the Administration page (or POST /api/v1/teams); ",
      "changes count for the team their author belonged to at the time.");
  }
  const reports = await mapLimited(teams, 4, (team) =>
    get(`/analytics/dora/${team.id}`, {from: window.from, to: window.to}));
  const rows = teams.map((team, i) => ({team, report: reports[i], score: score(reports[i])}))
    .sort((a, b) => b.score - a.score
      || b.report.deployment_frequency.per_week - a.report.deployment_frequency.per_week
      || a.team.name.localeCompare(b.team.name));
  return table([
    {title: "#", num: true, value: (r) => String(rows.indexOf(r) + 1)},
    {title: "Team", value: (r) => h("a", {href: link("team", {team: r.team.name, repo: "", service: ""})},
      r.team.name)},
    {title: "Deploys / week", value: (r) => withTier(fmt.number(r.report.deployment_frequency.per_week),
      r.report.deployment_frequency.tier)},
    {title: "Lead time", value: (r) => withTier(fmt.hours(r.report.lead_time_for_changes.median_hours),
      r.report.lead_time_for_changes.tier)},
    {title: "Failure rate", value: (r) => withTier(fmt.percent(r.report.change_failure_rate.rate),
      r.report.change_failure_rate.tier)},
    {title: "Recovery", value: (r) => withTier(fmt.hours(r.report.failed_deployment_recovery_time.median_hours),
      r.report.failed_deployment_recovery_time.tier)},
  ], rows, {caption: "Ranked by tiers (elite 4 … low 1 points per metric), then deployments per week."});
}

export async function render({f, cat, window}) {
  if (!cat.repos.length && !cat.services.length) {
    return h("div", {}, pageHead("Overview"),
      empty("No repositories or services yet",
        "Sync a source (", h("code", {}, "diogen sync git PATH"), " or ",
        h("code", {}, "diogen sync github --repo OWNER/NAME"),
        "), or add repositories under Administration."));
  }
  const [dora, teams] = await Promise.all([
    doraSection(scopeParams(f, cat), window),
    rankedTeams(cat, f, window),
  ]);
  return h("div", {},
    pageHead("Overview", `DORA metrics of ${scopeLabel(f, cat)}, ${window.from} to ${window.to} ` +
      `(excluded), against the ${dora.report.benchmarks} benchmarks. Click a number or a point for its evidence.`),
    dora.node,
    panel("Teams", teams));
}
