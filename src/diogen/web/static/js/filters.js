// The filter bar: organisation, team, repository, service, date range and environment, all
// kept in the URL. A team, repository and service exclude one another (one scope at a time).
import {byId, clear, h} from "./dom.js";
import {orgName} from "./catalog.js";
import {daysBack, go, windowOf} from "./state.js";

const PRESETS = [30, 90, 180, 365];
const SCOPES = ["team", "repo", "service"];

function choice(label, name, value, options, onChange) {
  return h("label", {}, label,
    h("select", {name, onchange: (e) => onChange(e.target.value)},
      h("option", {value: ""}, "All"),
      options.map((o) => h("option", {value: o, selected: o === value}, o))));
}

function names(rows, org, cat) {
  const orgId = cat.orgs.find((o) => o.name === org)?.id;
  return [...new Set(rows.filter((r) => !orgId || r.organization_id === orgId)
    .map((r) => r.name))].sort();
}

/** The environment box; its suggestions (a promise of names) are added when they come, as
 * the page does not wait for them. */
function environmentField(page, f, environments) {
  const list = h("datalist", {id: "environments"});
  Promise.resolve(environments)
    .then((known) => list.append(...known.map((e) => h("option", {value: e}))))
    .catch(() => null);
  return h("label", {}, "Environment",
    h("input", {name: "env", value: f.env, list: "environments", placeholder: "any",
      onchange: (e) => go(page, {env: e.target.value.trim()})}),
    list);
}

export function renderFilters(page, f, cat, environments) {
  const form = byId("filters");
  const window = windowOf(f);
  const org = orgName(f, cat);
  const scope = (key) => (value) => go(page, Object.fromEntries(
    SCOPES.map((k) => [k, k === key ? value : ""])));
  clear(form).append(...[
    cat.orgs.length > 1
      ? choice("Organisation", "org", f.org, cat.orgs.map((o) => o.name).sort(),
        (value) => go(page, {org: value, team: "", repo: "", service: ""}))
      : null,
    choice("Team", "team", f.team, names(cat.teams, org, cat), scope("team")),
    choice("Repository", "repo", f.repo, names(cat.repos, org, cat), scope("repo")),
    choice("Service", "service", f.service, names(cat.services, org, cat), scope("service")),
    h("label", {}, "From",
      h("input", {type: "date", name: "from", value: window.from, required: true,
        onchange: (e) => e.target.value && go(page, {from: e.target.value})})),
    h("label", {}, "To (excluded)",
      h("input", {type: "date", name: "to", value: window.to, required: true,
        onchange: (e) => e.target.value && go(page, {to: e.target.value})})),
    h("div", {class: "presets", role: "group", "aria-label": "Quick ranges"},
      PRESETS.map((days) => h("button", {type: "button", class: "ghost",
        onclick: () => go(page, daysBack(days, window))}, `${days} d`))),
    environments ? environmentField(page, f, environments) : null,
  ].filter(Boolean));
  form.hidden = false;
  form.onsubmit = (e) => e.preventDefault();
}
