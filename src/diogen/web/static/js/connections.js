// Source connections (GET/POST/PATCH/DELETE /connections, POST /connections/{id}/test): the
// sources the worker syncs. Secrets are typed into a password field, sent once and never
// shown again: the API answers only whether each is set and when it was written.
import {del, getAll, patch, post} from "./api.js";
import {empty, table} from "./components.js";
import {h} from "./dom.js";
import {actionButton, actionForm, input, select} from "./forms.js";
import * as fmt from "./format.js";

const KINDS = {
  github: {secret: "token", example: '{"repos": ["acme/api"], "releases": true}'},
  git: {secret: null, example: '{"location": "https://github.com/acme/api.git"}'},
  jira: {secret: "token", example: '{"url": "https://acme.atlassian.net", "email": "bot@acme.com", "projects": ["ENG"]}'},
  linear: {secret: "api_key", example: '{"teams": ["ENG"]}'},
  asana: {secret: "token", example: '{"projects": ["1201234567890"]}'},
};

function secrets(c) {
  const names = Object.entries(c.secrets);
  if (!names.length) return "none needed";
  return names.map(([name, s]) => h("div", {dataset: {secret: name, set: String(s.set)}},
    s.set ? `${name}: set ${fmt.moment(s.updated_at)}` : `${name}: not set`));
}

export function schedule(text) {
  if (!text) return h("span", {class: "muted"}, "not scheduled");
  const refused = text.startsWith("cannot be scheduled");
  return h("span", {class: refused ? "error" : null, dataset: {schedule: text}}, text);
}

function lastTest(t) {
  if (!t) return h("span", {class: "muted"}, "never tested");
  return h("span", {class: t.ok ? "good" : "error", dataset: {testOk: String(t.ok)}},
    `${t.ok ? "ok" : "failed"} ${fmt.moment(t.at)}: ${t.detail || ""}`);
}

function testButton(c) {
  const cell = h("span", {role: "status"});
  const button = h("button", {type: "button", class: "ghost", "aria-label": `Test ${c.name}`,
    onclick: async () => {
      button.disabled = true;
      cell.replaceChildren("testing…");
      try {
        const result = await post(`/connections/${encodeURIComponent(c.id)}/test`);
        cell.replaceChildren(lastTest({ok: result.ok, at: result.tested_at, detail: result.detail}));
      } catch (error) {
        cell.replaceChildren(h("span", {class: "error", role: "alert"}, error.message));
      } finally {
        button.disabled = false;
      }
    }}, "Test");
  return [button, " ", cell];
}

function connectionsTable(rows) {
  if (!rows.length) {
    return empty("No stored connection yet",
      "Add one below (or ", h("code", {}, "diogen sources add KIND NAME …"),
      " on the server); ", h("code", {}, "diogen worker"), " then syncs it on its schedule.");
  }
  return table([
    {title: "Name", value: (c) => c.name},
    {title: "Kind", value: (c) => c.kind},
    {title: "Source", value: (c) => c.source || h("span", {class: "muted"}, "known after a test")},
    {title: "Options", value: (c) => h("code", {}, JSON.stringify(c.options))},
    {title: "Secrets", value: secrets},
    {title: "Schedule", value: (c) => schedule(c.schedule)},
    {title: "Last test", value: (c) => lastTest(c.last_test)},
    {title: "", value: (c) => h("div", {class: "row"}, testButton(c),
      actionButton(c.enabled ? "Disable" : "Enable",
        () => patch(`/connections/${encodeURIComponent(c.id)}`, {enabled: !c.enabled}),
        {"aria-label": `${c.enabled ? "Disable" : "Enable"} ${c.name}`}),
      actionButton("Remove", () => del(`/connections/${encodeURIComponent(c.id)}`),
        {"aria-label": `Remove ${c.name}`}))},
  ], rows, {rowClass: (c) => (c.last_test && !c.last_test.ok ? "failed" : null)});
}

function parseOptions(text) {
  if (!text.trim()) return {};
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // fall through to the one message below
  }
  throw new Error("options must be a JSON object, e.g. " + KINDS.github.example);
}

function addForm() {
  const options = h("textarea", {name: "options", rows: 2, cols: 48, placeholder: KINDS.github.example});
  const secret = input("Token (write-only)", "secret", {type: "password", autocomplete: "off"});
  const kind = select("Kind", "kind", Object.keys(KINDS).map((k) => [k, k]));
  kind.querySelector("select").addEventListener("change", (event) => {
    const chosen = KINDS[event.target.value];
    options.placeholder = chosen.example;
    secret.hidden = !chosen.secret;
    secret.firstChild.textContent = `${chosen.secret === "api_key" ? "API key" : "Token"} (write-only)`;
  });
  return actionForm("Add connection", [
    kind,
    input("Name", "name", {required: true, maxlength: 255}),
    h("label", {}, "Options (JSON)", options),
    secret,
    input("Every (minutes)", "interval", {type: "number", min: 0, step: "any", placeholder: "default"}),
  ], async (form) => {
    const chosen = KINDS[form.kind.value];
    const body = {kind: form.kind.value, name: form.name.value.trim(),
      options: parseOptions(form.options.value)};
    if (chosen.secret && form.secret.value) body.secrets = {[chosen.secret]: form.secret.value};
    if (form.interval.value !== "") body.interval_minutes = Number(form.interval.value);
    const made = await post("/connections", body);
    form.secret.value = "";
    return `Connection ${made.name} stored${made.source ? ` (${made.source})` : ""}.`;
  });
}

export async function connectionsPanel() {
  const rows = await getAll("/connections");
  return [connectionsTable(rows), addForm(),
    h("p", {class: "muted"}, "Secrets are encrypted with the server's DIOGEN_SECRET_KEY and never shown again.")];
}
