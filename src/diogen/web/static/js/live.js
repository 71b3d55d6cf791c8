// Live updates: poll two cheap listings with their ETags (a 304 costs almost nothing) and
// redraw the page when the newest deployment or incident changes.
import {isSignedIn, request} from "./api.js";
import {byId} from "./dom.js";

const WATCHED = ["/deployments", "/incidents"];
const tags = new Map();

async function changed() {
  let any = false;
  for (const path of WATCHED) {
    const headers = tags.has(path) ? {"If-None-Match": tags.get(path)} : {};
    const response = await request("GET", path, {params: {limit: 1}, headers});
    if (response.status === 304 || !response.ok) continue;
    const tag = response.headers.get("ETag");
    if (tags.has(path) && tags.get(path) !== tag) any = true;
    tags.set(path, tag);
  }
  return any;
}

export function startLive(onNewData) {
  const seconds = Number(document.documentElement.dataset.pollSeconds) || 30;
  const tick = async () => {
    if (isSignedIn() && document.visibilityState === "visible") {
      try {
        if (await changed()) {
          byId("live").textContent = `New data arrived; updated at ${new Date().toLocaleTimeString()}.`;
          onNewData();
        }
      } catch {
        // A failed poll is retried at the next tick; the page keeps what it shows.
      }
    }
    setTimeout(tick, seconds * 1000);
  };
  tick();
}

export function forgetLive() {
  tags.clear();
}
