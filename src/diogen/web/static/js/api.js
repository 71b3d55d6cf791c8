// The API client: tokens from POST /auth/token, one shared refresh, problem+json errors.

const BASE = "/api/v1";
const STORE = "diogen.tokens";
const PAGE_LIMIT = 200;
const MAX_PAGES = 25;

export class ApiError extends Error {
  constructor(status, detail, type) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.type = type || null;
  }
}

let refreshing = null;
const signedOutListeners = [];

function tokens() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || "null");
  } catch {
    return null;
  }
}

function keep(answer) {
  localStorage.setItem(STORE, JSON.stringify({
    access: answer.access_token, refresh: answer.refresh_token,
  }));
}

export function isSignedIn() {
  return tokens() !== null;
}

export function onSignedOut(listener) {
  signedOutListeners.push(listener);
}

function forget() {
  localStorage.removeItem(STORE);
  for (const listener of signedOutListeners) listener();
}

async function problem(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return new ApiError(response.status, body && (body.detail || body.title), body && body.type);
}

export async function signIn(email, password) {
  const response = await fetch(`${BASE}/auth/token`, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({email, password}),
  });
  if (!response.ok) throw await problem(response);
  keep(await response.json());
}

export async function signOut() {
  const held = tokens();
  forget();
  if (held) {
    // Best effort: the tokens are gone from this browser whatever the server says.
    await fetch(`${BASE}/auth/logout`, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({refresh_token: held.refresh}),
    }).catch(() => null);
  }
}

// Refresh tokens work once: concurrent 401s must share one refresh, or the second
// would replay a spent token and the server would revoke them all.
function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const held = tokens();
      if (!held) return false;
      const response = await fetch(`${BASE}/auth/refresh`, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({refresh_token: held.refresh}),
      });
      if (!response.ok) return false;
      keep(await response.json());
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return `${BASE}${path}${text ? `?${text}` : ""}`;
}

/** The raw response of an authenticated request (after one refresh if the token expired). */
export async function request(method, path, {params, body, headers} = {}) {
  const send = () => {
    const held = tokens();
    const all = {...(headers || {})};
    if (held) all.Authorization = `Bearer ${held.access}`;
    if (body !== undefined) all["Content-Type"] = "application/json";
    return fetch(url(path, params), {
      method, headers: all, body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  let response = await send();
  if (response.status === 401 && tokens()) {
    if (await refresh()) response = await send();
    if (response.status === 401) forget();
  }
  return response;
}

async function json(method, path, options) {
  const response = await request(method, path, options);
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response.json();
}

export const get = (path, params) => json("GET", path, {params});
export const post = (path, body) => json("POST", path, {body});
export const patch = (path, body) => json("PATCH", path, {body});
export const del = (path) => json("DELETE", path, {});

/** Every item of a paginated listing (bounded: dashboards show, they do not export). */
export async function getAll(path, params) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await get(path, {...params, limit: PAGE_LIMIT, cursor});
    items.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items;
}

let schema = null;

/** Whether this server offers `path` (an OpenAPI path template), asked once of /openapi.json
 * rather than by probing: a probe's 404 would be logged as an error by the browser. */
export async function offers(path) {
  if (!schema) {
    schema = fetch("/openapi.json").then((r) => (r.ok ? r.json() : {paths: {}}));
  }
  const paths = (await schema).paths || {};
  return Object.hasOwn(paths, `${BASE}${path}`);
}
