// What the signed-in user may see (organisations, teams, repositories, services), loaded
// once per sign-in and again when new data arrives; and the analytics scope of the filters.
import {get, getAll} from "./api.js";

let loaded = null;

export function catalog() {
  if (!loaded) {
    loaded = Promise.all([
      get("/me"), getAll("/organizations"), getAll("/teams"),
      getAll("/repositories"), getAll("/services"),
    ]).then(([me, orgs, teams, repos, services]) => ({me, orgs, teams, repos, services}));
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

export function forgetCatalog() {
  loaded = null;
}

function orgOf(cat, organizationId) {
  return cat.orgs.find((o) => o.id === organizationId)?.name || "";
}

/** The organisation a filter set is about: named, else the chosen team's. */
export function orgName(f, cat) {
  if (f.org) return f.org;
  const team = f.team && cat.teams.find((t) => t.name === f.team);
  return team ? orgOf(cat, team.organization_id) : "";
}

function named(rows, name, org, cat) {
  return rows.find((r) => r.name === name && (!org || orgOf(cat, r.organization_id) === org));
}

export const findTeam = (f, cat) => f.team && named(cat.teams, f.team, orgName(f, cat), cat);
export const findRepo = (f, cat) => f.repo && named(cat.repos, f.repo, orgName(f, cat), cat);
export const findService = (f, cat) =>
  f.service && named(cat.services, f.service, orgName(f, cat), cat);

/** Parameters of /analytics/*: one of repo, service or team (the narrowest), and the org. */
export function scopeParams(f, cat) {
  const params = {};
  const org = orgName(f, cat);
  if (org) params.org = org;
  if (f.repo) params.repo = f.repo;
  else if (f.service) params.service = f.service;
  else if (f.team) params.team = f.team;
  return params;
}

export function scopeLabel(f, cat) {
  if (f.repo) return `repository ${f.repo}`;
  if (f.service) return `service ${f.service}`;
  if (f.team) return `team ${f.team}`;
  const org = orgName(f, cat);
  return org ? `organisation ${org}` : "every organisation";
}
