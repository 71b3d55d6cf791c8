// Start-up and routing: sign-in gate, navigation, filters, page rendering, theme, live data.
import {isSignedIn, onSignedOut, signOut} from "./api.js";
import {catalog, forgetCatalog} from "./catalog.js";
import {failure} from "./components.js";
import {byId, clear, h} from "./dom.js";
import {forgetEvidence} from "./evidence.js";
import {renderFilters} from "./filters.js";
import {forgetLive, startLive} from "./live.js";
import {filters, link, route, windowOf} from "./state.js";
import * as admin from "./pages/admin.js";
import * as deployments from "./pages/deployments.js";
import * as incidents from "./pages/incidents.js";
import * as overview from "./pages/overview.js";
import * as pulls from "./pages/pulls.js";
import * as quality from "./pages/quality.js";
import * as repos from "./pages/repos.js";
import * as signin from "./pages/signin.js";
import * as sources from "./pages/sources.js";
import * as team from "./pages/team.js";

const PAGES = {overview, team, repos, deployments, incidents, pulls, quality, sources, admin};
let generation = 0;

function renderNav(page) {
  clear(byId("nav")).append(...Object.entries(PAGES).map(([key, module]) =>
    h("a", {href: link(key), "aria-current": key === page ? "page" : null}, module.title)));
}

// `rendered` says which address the state is for: a test (or a user's script) that changed
// the address waits for its own page, not for the one still shown.
function setState(state, rendered) {
  const main = byId("main");
  main.dataset.state = state;
  main.dataset.rendered = rendered;
}

async function render() {
  const mine = ++generation;
  const main = byId("main");
  const {page: asked, query} = route();
  const page = PAGES[asked] ? asked : "overview";
  const shown = location.hash;
  setState("loading", shown);
  performance.mark("render-start");
  if (!isSignedIn()) {
    byId("filters").hidden = true;
    clear(byId("nav"));
    byId("signout").hidden = true;
    byId("who").textContent = "";
    clear(main).append(signin.render(render));
    setState("ready", shown);
    return;
  }
  renderNav(page);
  byId("signout").hidden = false;
  try {
    const cat = await catalog();
    byId("who").textContent = cat.me.email;
    const f = filters(query);
    const module = PAGES[page];
    renderFilters(page, f, cat, module.environments ? module.environments(cat) : null);
    document.title = `${module.title} · Diogen`;
    const node = await module.render({f, cat, query, window: windowOf(f), page});
    if (mine !== generation) return;
    clear(main).append(node);
    setState("ready", shown);
  } catch (error) {
    if (mine !== generation) return;
    clear(main).append(failure(error));
    setState("error", shown);
  }
  performance.measure("render", "render-start");
}

function refreshAll() {
  forgetCatalog();
  forgetEvidence();
  render();
}

function setupTheme() {
  const saved = localStorage.getItem("diogen.theme");
  if (saved) document.documentElement.dataset.theme = saved;
  byId("theme").addEventListener("click", () => {
    const dark = document.documentElement.dataset.theme === "dark" ||
      (!document.documentElement.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
    const next = dark ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("diogen.theme", next);
  });
}

function setupMenu() {
  const button = byId("menu");
  button.addEventListener("click", () => {
    const open = byId("nav").classList.toggle("open");
    button.setAttribute("aria-expanded", String(open));
  });
  byId("explain-close").addEventListener("click", () => byId("explain").close());
  byId("signout").addEventListener("click", async () => {
    await signOut();
    render();
  });
}

onSignedOut(() => {
  forgetCatalog();
  forgetEvidence();
  forgetLive();
});
window.addEventListener("hashchange", () => {
  byId("nav").classList.remove("open");
  render();
});
setupTheme();
setupMenu();
render();
startLive(refreshAll);
