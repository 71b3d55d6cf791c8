// The URL is the state: "#/<page>?from=..&to=..&team=.." — every view is a shareable link.

export const FILTERS = ["org", "from", "to", "team", "repo", "service", "env"];
export const DEFAULT_DAYS = 90;
const DAY_MS = 86400000;

export function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, query] = hash.split("?", 2);
  return {page: page || "overview", query: new URLSearchParams(query || "")};
}

export function filters(query = route().query) {
  const found = {};
  for (const key of FILTERS) found[key] = query.get(key) || "";
  return found;
}

/** The link to `page` with the current filters, changed by `changes` ("" or null removes). */
export function link(page, changes = {}, keepExtra = false) {
  const current = route();
  const query = new URLSearchParams();
  for (const [key, value] of current.query) {
    if (FILTERS.includes(key) || keepExtra) query.set(key, value);
  }
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") query.delete(key);
    else query.set(key, value);
  }
  const text = query.toString();
  return `#/${page}${text ? `?${text}` : ""}`;
}

export function go(page, changes = {}, keepExtra = false) {
  location.hash = link(page, changes, keepExtra);
}

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function parseDay(text) {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
}

/** The window [from, to) as YYYY-MM-DD: the filters', else the 90 days ending tomorrow. */
export function windowOf(f) {
  const now = Date.now();
  const tomorrow = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  let to = parseDay(f.to);
  if (Number.isNaN(to)) to = tomorrow;
  let from = parseDay(f.from);
  if (Number.isNaN(from) || from >= to) from = to - DEFAULT_DAYS * DAY_MS;
  return {from: isoDay(from), to: isoDay(to)};
}

/** The window of the same length just before `window`, for "change against last period". */
export function previousWindow(window) {
  const from = parseDay(window.from);
  const to = parseDay(window.to);
  return {from: isoDay(from - (to - from)), to: window.from};
}

export function daysBack(days, window) {
  const to = parseDay(window.to);
  return {from: isoDay(to - days * DAY_MS), to: window.to};
}
