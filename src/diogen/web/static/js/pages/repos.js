// Repositories and services: the list, and the DORA metrics of the one chosen.
import {findRepo, findService, orgName, scopeParams} from "../catalog.js";
import {empty, pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import {doraSection} from "../dora.js";
import * as fmt from "../format.js";
import {link} from "../state.js";

export const title = "Repositories & services";

function teamName(cat, id) {
  return cat.teams.find((t) => t.id === id)?.name || fmt.DASH;
}

function listing(cat, f) {
  const orgId = cat.orgs.find((o) => o.name === orgName(f, cat))?.id;
  const mine = (rows) => rows.filter((r) => !orgId || r.organization_id === orgId)
    .sort((a, b) => a.name.localeCompare(b.name));
  const repos = mine(cat.repos);
  const services = mine(cat.services);
  return h("div", {class: "grid wide"},
    panel("Repositories", repos.length
      ? table([
        {title: "Name", value: (r) => h("a", {href: link("repos", {repo: r.name, team: "", service: ""})}, r.name)},
        {title: "Provider", value: (r) => r.provider},
        {title: "Default branch", value: (r) => r.default_branch || fmt.DASH},
        {title: "Owning team", value: (r) => teamName(cat, r.owning_team_id)},
      ], repos)
      : empty("No repositories", "Sync one with ", h("code", {}, "diogen sync git PATH"), ".")),
    panel("Services", services.length
      ? table([
        {title: "Name", value: (r) => h("a", {href: link("repos", {service: r.name, team: "", repo: ""})}, r.name)},
        {title: "Owning team", value: (r) => teamName(cat, r.owning_team_id)},
      ], services)
      : empty("No services", "Services come from deployment and incident sources, or ",
        "POST /api/v1/services; a service can span repositories or a monorepo path.")));
}

export async function render({f, cat, window}) {
  const chosen = findRepo(f, cat) || findService(f, cat);
  if (!chosen) {
    return h("div", {}, pageHead(title, "Pick a repository or a service for its metrics."),
      listing(cat, f));
  }
  const kind = f.repo ? "Repository" : "Service";
  const dora = await doraSection(scopeParams(f, cat), window);
  return h("div", {},
    pageHead(`${kind} ${chosen.name}`, `${window.from} to ${window.to} (excluded).`,
      h("a", {href: link("deployments")}, "Its deployments"),
      h("a", {href: link("repos", {repo: "", service: ""})}, "All repositories and services")),
    dora.node);
}
