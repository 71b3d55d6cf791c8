// Building blocks shared by pages: panels, metric cards with tiers, tables, empty states,
// and the evidence dialog.
import {byId, clear, h} from "./dom.js";

export function panel(title, ...children) {
  return h("section", {class: "panel"}, title ? h("h2", {}, title) : null, ...children);
}

export function tierBadge(tier) {
  return h("span", {class: `tier ${tier || "none"}`, title: "DORA performance tier"},
    tier || "no tier");
}

/** A number the reader can click to see the rows behind it. */
export function numberLink(text, onClick, attrs = {}) {
  return h("button", {type: "button", class: "number-link", onclick: onClick, ...attrs}, text);
}

/**
 * A metric: label, value (a button opening its evidence), tier, change against the previous
 * period, and a line of detail. `raw` is kept in data-value for tests and scripts.
 */
export function metricCard({key, label, text, raw, tier, delta, detail, onExplain, withTier = true}) {
  return h("section", {class: "panel metric", dataset: {metric: key}},
    h("span", {class: "label"}, label),
    h("button", {type: "button", class: "value", onclick: onExplain,
      "aria-label": `${label}: ${text}. Show the evidence`,
      dataset: {value: raw === null || raw === undefined ? "" : String(raw)}}, text),
    withTier ? tierBadge(tier) : null,
    delta ? h("span", {class: `delta ${delta.verdict}`}, delta.text) : null,
    detail ? h("span", {class: "sub"}, detail) : null);
}

function tableRow(columns, row, rowClass) {
  return h("tr", {class: rowClass ? rowClass(row) : null},
    columns.map((c) => h("td", {class: c.num ? "num" : null}, c.value(row))));
}

export function table(columns, rows, {rowClass, caption} = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", {class: c.num ? "num" : null, scope: "col"},
    c.title)));
  const body = rows.map((row) => tableRow(columns, row, rowClass));
  return h("div", {class: "table-wrap"},
    h("table", {}, caption ? h("caption", {class: "muted"}, caption) : null,
      h("thead", {}, head), h("tbody", {}, body)));
}

/**
 * A table of its first rows and a button adding the next: `more()` resolves to `{rows, more}`,
 * the next rows and what gives the ones after them (null after the last). Tens of thousands
 * of rows drawn at once took the browser seconds to lay out, for a page nobody scrolls through.
 */
export function growingTable(columns, rows, more, {rowClass, label = "Show more"} = {}) {
  const wrap = table(columns, rows, {rowClass});
  if (!more) return wrap;
  const body = wrap.querySelector("tbody");
  let next = more;
  const button = h("button", {type: "button", class: "ghost more"}, label);
  const error = h("p", {class: "error", role: "alert", hidden: true});
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const page = await next();
      body.append(...page.rows.map((row) => tableRow(columns, row, rowClass)));
      next = page.more;
    } catch (failed) {
      error.textContent = `Could not load more: ${failed.message}`;
      error.hidden = false;
    }
    if (next) button.disabled = false;
    else button.remove();
  });
  return h("div", {}, wrap, button, error);
}

/** `more` of a growingTable over rows already at hand, `size` at a time from `start`. */
export function sliced(rows, start, size) {
  if (start >= rows.length) return null;
  return async () => ({rows: rows.slice(start, start + size), more: sliced(rows, start + size, size)});
}

/** What to do when there is nothing to show: say why and what to configure. */
export function empty(title, ...advice) {
  return h("div", {class: "empty", role: "note"}, h("strong", {}, title), ...advice);
}

export function failure(error) {
  return h("p", {class: "error", role: "alert"}, `Could not load: ${error.message}`);
}

export function explain(title, ...content) {
  const dialog = byId("explain");
  byId("explain-title").textContent = title;
  clear(byId("explain-body")).append(...content.flat().filter(Boolean));
  if (!dialog.open) dialog.showModal();
  byId("explain-close").focus();
}

export function pageHead(title, subtitle, ...actions) {
  return h("div", {class: "page-head"},
    h("div", {}, h("h1", {}, title), subtitle ? h("p", {class: "muted"}, subtitle) : null),
    actions.length ? h("div", {class: "row"}, ...actions) : null);
}
