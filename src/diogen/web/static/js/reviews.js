// Review load per person: who reviews the scope's pull requests, and how much
// (GET /analytics/review-load, docs/flow.md).
import {get, offers} from "./api.js";
import {groupedBars} from "./chart.js";
import {empty, panel, table} from "./components.js";
import {h} from "./dom.js";
import * as fmt from "./format.js";

const TITLE = "Review load per person";
const PATH = "/analytics/review-load";
const CHARTED = 12;

export async function reviewPanel(scope, window) {
  if (!(await offers(PATH))) {
    return panel(TITLE, empty("Not available on this server", `Review load needs GET /api/v1${PATH}.`));
  }
  const report = await get(PATH, {...scope, from: window.from, to: window.to});
  if (!report.people.length) {
    return panel(TITLE, empty("No reviews in this window",
      "Reviews come from code hosts (", h("code", {}, "diogen sync github --repo OWNER/NAME"),
      "); reviews by the author or by bots do not count."));
  }
  const shown = report.people.slice(0, CHARTED);
  return panel(TITLE,
    h("p", {dataset: {metric: "reviews", value: String(report.reviews)}},
      `${report.reviews} reviews and ${report.review_comments} review comments on the pull requests of this scope.`),
    groupedBars({
      groups: shown.map((p) => ({label: p.name, values: [p.reviews, p.review_comments]})),
      series: [{name: "reviews", cls: "s1"}, {name: "review comments", cls: "s2"}],
      format: (v) => fmt.number(v, 0), unit: "given", integer: true,
      label: "Reviews and review comments per person",
    }),
    table([
      {title: "Person", value: (p) => p.name},
      {title: "Reviews", num: true, value: (p) => h("span", {dataset: {reviewer: p.name, value: String(p.reviews)}}, String(p.reviews))},
      {title: "Pull requests", num: true, value: (p) => String(p.pull_requests_reviewed)},
      {title: "Comments", num: true, value: (p) => String(p.review_comments)},
      {title: "Share", num: true, value: (p) => fmt.percent(p.share_of_reviews)},
    ], report.people));
}
