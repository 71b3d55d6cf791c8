// A team's sprints: burndown and burnup of one sprint (GET /analytics/sprints/{id}), chosen
// among the sprints completed in the window (GET /analytics/sprints). The choice is `sprint=`
// in the URL, so a view of one sprint is a shareable link.
import {get, offers} from "./api.js";
import {lineChart} from "./chart.js";
import {empty, panel} from "./components.js";
import {h} from "./dom.js";
import * as fmt from "./format.js";
import {link, route} from "./state.js";

const TITLE = "Sprint burndown and burnup";

function figure(key, label, work) {
  const points = work ? work.points : null;
  return h("li", {dataset: {metric: `sprint_${key}`, value: points === null ? "" : String(points)}},
    `${label}: `, h("strong", {}, work ? `${fmt.number(points, 1)} points` : fmt.DASH),
    work ? ` (${work.issues} issues)` : null);
}

function picker(sprints, chosen) {
  return h("label", {}, "Sprint ",
    h("select", {name: "sprint", onchange: (e) => { location.hash = link("team", {sprint: e.target.value}, true); }},
      sprints.map((sp) => h("option", {value: sp.id, selected: sp.id === chosen},
        `${sp.name} (${fmt.day(sp.start)} to ${fmt.day(sp.end)})`))));
}

function chart(report) {
  const line = (name, cls, key) => ({name, cls, points: report.series.map((p) => ({
    x: Date.parse(p.at), y: p[key], label: fmt.moment(p.at),
  }))});
  return lineChart({
    series: [line("scope (burnup)", "s1", "scope_points"), line("completed (burnup)", "s3", "completed_points"),
      line("remaining (burndown)", "s2", "remaining_points"), line("ideal remaining", "s4", "ideal_remaining_points")],
    format: (v) => `${fmt.number(v, 1)} points`, unit: "points", label: `Burndown and burnup of ${report.name}`,
  });
}

function figures(report) {
  return h("ul", {class: "figures"},
    figure("committed", "Committed at start", report.committed),
    figure("added", "Added after start", report.added_after_start),
    figure("removed", "Removed after start", report.removed_after_start),
    figure("completed", "Completed", report.completed),
    figure("carry_over", "Carried over", report.carry_over),
    h("li", {}, `Completion: `, h("strong", {}, fmt.percent(report.completion_ratio))));
}

export async function sprintPanel(team, window) {
  if (!(await offers("/analytics/sprints"))) {
    return panel(TITLE, empty("Not available on this server",
      "Burndown and burnup need GET /api/v1/analytics/sprints/{sprint_id}."));
  }
  const listed = await get("/analytics/sprints", {team_id: team.id, from: window.from, to: window.to});
  if (!listed.items.length) {
    return panel(TITLE, empty("No sprint of this team completed in this window",
      "Sync an issue tracker with sprints (", h("code", {}, "diogen sync jira …"), " or Linear cycles), ",
      "assign its issues to the team's members, and pick a window that covers the sprints."));
  }
  const asked = route().query.get("sprint");
  const chosen = listed.items.some((sp) => sp.id === asked) ? asked : listed.items[listed.items.length - 1].id;
  const report = await get(`/analytics/sprints/${encodeURIComponent(chosen)}`, {team_id: team.id});
  return panel(TITLE, h("div", {class: "row"}, picker(listed.items, chosen)),
    figures(report), report.series.length ? chart(report) : empty("This sprint has not started"));
}
