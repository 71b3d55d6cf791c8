// Incidents: the list with their attribution to deployments and their time to restore.
import {getAll} from "../api.js";
import {findRepo, findService, scopeParams} from "../catalog.js";
import {empty, numberLink, pageHead, panel, table} from "../components.js";
import {h} from "../dom.js";
import {doraParams} from "../dora.js";
import {explained, showEvidence} from "../evidence.js";
import * as fmt from "../format.js";
import {openDeployment} from "./deployments.js";

export const title = "Incidents";

function restore(incident) {
  if (!incident.resolved_at) return null;
  return (Date.parse(incident.resolved_at) - Date.parse(incident.started_at)) / 3600000;
}

export async function render({f, cat, window}) {
  const repo = findRepo(f, cat);
  const service = findService(f, cat);
  const params = doraParams(scopeParams(f, cat), window);
  const [report, listed] = await Promise.all([
    explained(params, ["incidents"]),
    getAll("/incidents", {
      repository_id: repo?.id, service_id: service?.id,
      started_from: `${window.from}T00:00:00Z`, started_to: `${window.to}T00:00:00Z`,
    }),
  ]);
  const evidence = report.evidence;
  const attributed = new Map(evidence.incidents.map((i) => [i.id, i]));
  const rows = f.team ? listed.filter((i) => attributed.has(i.id)) : listed;
  const serviceName = (id) => cat.services.find((s) => s.id === id)?.name || fmt.DASH;
  const restoreSummary = report.failed_deployment_recovery_time.time_to_restore;
  return h("div", {},
    pageHead("Incidents", `Started ${window.from} to ${window.to} (excluded).`),
    panel("Summary", h("p", {},
      `${rows.length} incidents; median time to restore `,
      numberLink(fmt.hours(restoreSummary.median_hours),
        () => showEvidence("failed_deployment_recovery_time", params),
        {dataset: {metric: "time_to_restore", value: String(restoreSummary.median_hours ?? "")}}),
      `; ${report.change_failure_rate.unattributed_incidents ?? 0} not attributed to a deployment.`)),
    panel("Incidents", rows.length ? table([
      {title: "Incident", value: (i) => (i.url ? h("a", {href: i.url, rel: "noreferrer"}, i.title || i.id) : i.title || i.id)},
      {title: "Severity", value: (i) => i.severity || fmt.DASH},
      {title: "Service", value: (i) => serviceName(i.service_id)},
      {title: "Started", value: (i) => fmt.moment(i.started_at)},
      {title: "Restore", num: true, value: (i) => fmt.hours(restore(i))},
      {title: "Deployment", value: (i) => {
        const link = i.deployment_id || attributed.get(i.id)?.deployment_id;
        const rule = i.deployment_id ? "linked" : attributed.get(i.id)?.attributed_by;
        return link ? numberLink(`${rule || "attributed"}: open`, () => openDeployment(link, params))
          : (attributed.get(i.id)?.reason || "unattributed");
      }},
    ], rows) : empty("No incidents in this window",
      "Incidents come from incident tools (PagerDuty) or POST /api/v1/ingest; none here may be good news.")));
}
