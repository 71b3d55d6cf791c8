// Data quality: what the metrics leave out or cannot attribute, and why; and the sources.
import {get} from "../api.js";
import {scopeLabel, scopeParams} from "../catalog.js";
import {pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import {link} from "../state.js";

export const title = "Data quality";

function examples(finding) {
  if (!finding.examples.length) return null;
  const keys = Object.keys(finding.examples[0]);
  return h("details", {}, h("summary", {}, `Examples (${finding.examples.length} of ${finding.count})`),
    table(keys.map((key) => ({title: key, value: (row) => String(row[key] ?? "—")})), finding.examples));
}

export async function render({f, cat}) {
  const report = await get("/analytics/data-quality", scopeParams(f, cat));
  return h("div", {},
    pageHead("Data quality", `Checks over ${scopeLabel(f, cat)}; release pattern `,
      h("code", {}, report.release_pattern)),
    panel(`Findings (${report.problems} with problems)`,
      h("div", {class: "spaced"}, report.findings.map((finding) =>
        h("section", {class: "block", dataset: {check: finding.check, count: String(finding.count)}},
          h("h3", {}, `${finding.title}: ${finding.count}`),
          h("p", {class: "muted"}, finding.reason),
          examples(finding))))),
    panel("Sources and syncs", h("p", {}, "Last syncs, errors, rate-limit budgets, dead letters and ",
      "quarantined records are on the ", h("a", {href: link("sources")}, "Sources"), " page.")));
}
