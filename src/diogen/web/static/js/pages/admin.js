// Administration: sources, teams and memberships, identity merging, users and API keys.
import {del, get, getAll, patch, post} from "../api.js";
import {orgName} from "../catalog.js";
import {connectionsPanel} from "../connections.js";
import {empty, failure, pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import {actionButton, actionForm, input, select} from "../forms.js";
import * as fmt from "../format.js";
import {link} from "../state.js";

export const title = "Administration";
const ROLES = ["viewer", "maintainer", "admin"];

async function guarded(title, build) {
  try {
    return panel(title, await build());
  } catch (error) {
    return panel(title, error.status === 403
      ? empty("You may not manage this", error.message) : failure(error));
  }
}

function orgChoices(cat) {
  return cat.orgs.map((o) => [o.id, o.name]);
}

async function teams(cat, f, people) {
  const team = cat.teams.find((t) => t.name === f.team);
  const create = actionForm("Create team", [
    input("Name", "name", {required: true, maxlength: 255}),
    cat.orgs.length > 1 ? select("Organisation", "organization_id", orgChoices(cat)) : null,
  ], async (form) => {
    const organization = form.organization_id?.value || cat.orgs[0]?.id;
    await post("/teams", {name: form.name.value.trim(), organization_id: organization});
    return `Team ${form.name.value.trim()} created.`;
  });
  const list = h("p", {}, "Teams: ", cat.teams.map((t, i) => [i ? ", " : "",
    h("a", {href: link("admin", {team: t.name, repo: "", service: ""})}, t.name)]));
  if (!team) return [list, create, h("p", {class: "muted"}, "Pick a team to manage its members.")];
  const members = await getAll(`/teams/${team.id}/members`);
  const name = (id) => people.find((p) => p.id === id)?.display_name || id;
  return [list, create, h("h3", {}, `Members of ${team.name}`),
    members.length ? table([
      {title: "Person", value: (m) => name(m.person_id)},
      {title: "From", value: (m) => fmt.day(m.valid_from)},
      {title: "To", value: (m) => (m.valid_to ? fmt.day(m.valid_to) : "now")},
      {title: "", value: (m) => (m.valid_to ? "" : actionButton("End today", () =>
        patch(`/teams/${team.id}/members/${m.id}`, {valid_to: new Date().toISOString()})))},
    ], members) : h("p", {class: "muted"}, "No members yet."),
    actionForm("Add member", [
      select("Person", "person_id", people.map((p) => [p.id, p.display_name || p.primary_email || p.id])),
      input("From", "valid_from", {type: "date", required: true,
        value: new Date().toISOString().slice(0, 10)}),
    ], async (form) => {
      await post(`/teams/${team.id}/members`, {person_id: form.person_id.value,
        valid_from: `${form.valid_from.value}T00:00:00Z`});
      return "Member added.";
    })];
}

function identities(people) {
  const choices = people.map((p) => [p.id, `${p.display_name || "?"} <${p.primary_email || "no email"}>`]);
  return [
    h("p", {class: "muted"}, "Merging makes one person of several; later syncs never undo it."),
    actionForm("Merge", [
      select("Keep", "target", choices), select("Merge into it", "other", choices),
    ], async (form) => {
      if (form.target.value === form.other.value) throw new Error("pick two different people");
      await post(`/developers/${form.target.value}/merge`, {person_ids: [form.other.value]});
      return "Merged.";
    }),
    table([
      {title: "Person", value: (p) => p.display_name || fmt.DASH},
      {title: "Identities", value: (p) => h("ul", {}, p.identities.map((i) => h("li", {},
        `${i.provider}: ${i.login || i.email || i.key}${i.is_bot ? " (bot)" : ""} `,
        p.identities.length > 1 ? actionButton("Unmerge", () =>
          post(`/developers/${p.id}/unmerge`, {identity_ids: [i.id]})) : null)))},
    ], people)];
}

async function users() {
  const rows = await getAll("/users");
  return [table([
    {title: "Email", value: (u) => u.email},
    {title: "Administrator", value: (u) => (u.is_superuser ? "yes" : "no")},
    {title: "Active", value: (u) => actionButton(u.is_active ? "Disable" : "Enable",
      () => patch(`/users/${u.id}`, {is_active: !u.is_active}),
      {"aria-label": `${u.is_active ? "Disable" : "Enable"} ${u.email}`})},
  ], rows),
  actionForm("Create user", [
    input("Email", "email", {type: "email", required: true}),
    input("Password", "password", {type: "password", required: true, autocomplete: "new-password"}),
  ], async (form) => {
    await post("/users", {email: form.email.value.trim(), password: form.password.value});
    return `User ${form.email.value.trim()} created.`;
  })];
}

async function keys(cat, f) {
  const rows = await get("/api-keys");
  const shown = h("p", {role: "status"});
  return [table([
    {title: "Name", value: (k) => k.name},
    {title: "Prefix", value: (k) => h("code", {}, k.prefix)},
    {title: "Role", value: (k) => k.role},
    {title: "Last used", value: (k) => fmt.moment(k.last_used_at)},
    {title: "", value: (k) => (k.revoked_at ? "revoked" : actionButton("Revoke", () => del(`/api-keys/${k.id}`),
      {"aria-label": `Revoke key ${k.name}`}))},
  ], rows),
  actionForm("Create key", [
    input("Name", "name", {required: true}),
    select("Role", "role", ROLES.map((r) => [r, r])),
  ], async (form) => {
    const org = cat.orgs.find((o) => o.name === orgName(f, cat)) || (cat.orgs.length === 1 ? cat.orgs[0] : null);
    const made = await post("/api-keys", {name: form.name.value.trim(), role: form.role.value,
      organization_id: org?.id || null});
    shown.replaceChildren("Copy the key now; it is not shown again: ", h("code", {}, made.key));
    return "Key created.";
  }, {keepOpen: true}), shown];
}

export async function render({f, cat}) {
  const people = await getAll("/developers").catch(() => []);
  const sections = await Promise.all([
    guarded("Teams and memberships", () => teams(cat, f, people)),
    guarded("Identities", async () => identities(people)),
    guarded("Users", users),
    guarded("API keys", () => keys(cat, f)),
  ]);
  return h("div", {}, pageHead("Administration", `Signed in as ${cat.me.email}.`),
    cat.me.is_superuser
      ? await guarded("Source connections", connectionsPanel)
      : panel("Source connections", empty("Connections are managed by instance administrators",
        "They belong to no organisation; an administrator adds and tests them here or with ",
        h("code", {}, "diogen sources add"), ".")),
    ...sections);
}
