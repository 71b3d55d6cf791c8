"""Which GitHub records the deployment rules count as production deployments, and why each
does or does not: the same decisions as `delivery`, spelt out for a person."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from diogen.connectors.github.config import DeploymentRules
from diogen.connectors.github.delivery import FINAL_STATES, RUN_STATUS, SHA

PREVIEWED = ("deployments", "workflow_runs", "releases")


@dataclass(frozen=True)
class Verdict:
    kind: str  # "deployment", "workflow run", "release"
    name: str
    at: str | None
    sha: str | None
    counts: bool
    reason: str

    @property
    def status(self) -> str:
        return "IN " if self.counts else "OUT"


def judge(rules: DeploymentRules, stream: str, payload: dict[str, Any]) -> Verdict:
    if stream == "deployments":
        return _deployment(rules, payload["deployment"], payload.get("statuses") or [])
    if stream == "workflow_runs":
        return _run(rules, payload)
    if stream == "releases":
        return _release(rules, payload["release"], (payload.get("tag") or {}).get("sha"))
    raise ValueError(f"not a deployment stream: {stream!r}")


def _deployment(
    rules: DeploymentRules, deployment: dict[str, Any], statuses: list[dict[str, Any]]
) -> Verdict:
    environment = deployment["environment"]
    name = f"#{deployment['id']} to {environment}"

    def verdict(counts: bool, reason: str) -> Verdict:
        created = deployment.get("created_at")
        return Verdict("deployment", name, created, deployment.get("sha"), counts, reason)

    pattern = rules.environment_pattern
    if not re.search(pattern, environment, re.I):
        return verdict(False, f"environment {environment!r} does not match /{pattern}/")
    latest = max(statuses, key=lambda s: (s["created_at"], s["id"]), default=None)
    state = latest["state"] if latest else "pending"
    final = FINAL_STATES.get(state)
    if final is None:
        return verdict(False, f"environment matches /{pattern}/, but its latest status is {state}")
    outcome = "succeeded" if final == "success" else f"failed ({state})"
    return verdict(True, f"environment matches /{pattern}/ and it {outcome}")


def _run(rules: DeploymentRules, run: dict[str, Any]) -> Verdict:
    name = f"{run.get('name') or run.get('path')} #{run['id']}"
    branch = run.get("head_branch") or ""

    def verdict(counts: bool, reason: str) -> Verdict:
        at = run.get("run_started_at") or run.get("created_at")
        return Verdict("workflow run", name, at, run.get("head_sha"), counts, reason)

    workflow = rules.workflow_pattern
    if workflow is None:
        return verdict(False, "no workflow is a deployment (no workflow rule)")
    names = (run.get("name") or "", run.get("path") or "")
    if not any(re.search(workflow, text, re.I) for text in names):
        return verdict(False, f"neither its name nor {names[1]!r} matches /{workflow}/")
    branches = rules.workflow_branch_pattern
    if branches is not None and not re.search(branches, branch):
        return verdict(
            False, f"workflow matches, but branch {branch!r} does not match /{branches}/"
        )
    if run["status"] != "completed":
        return verdict(False, f"workflow matches, but the run is {run['status']}")
    conclusion = run.get("conclusion") or "unknown"
    if conclusion not in RUN_STATUS:
        return verdict(
            False, f"workflow matches, but it was {conclusion}: it neither deployed nor failed"
        )
    outcome = "succeeded" if RUN_STATUS[conclusion] == "success" else f"failed ({conclusion})"
    return verdict(True, f"workflow matches /{workflow}/ and it {outcome}")


def _release(rules: DeploymentRules, release: dict[str, Any], sha: str | None) -> Verdict:
    name = release.get("tag_name") or str(release["id"])
    if sha is None and SHA.match(release.get("target_commitish") or ""):
        sha = release["target_commitish"]

    def verdict(counts: bool, reason: str) -> Verdict:
        return Verdict("release", name, release.get("published_at"), sha, counts, reason)

    if not rules.releases:
        return verdict(False, "releases are not deployments (the releases rule is off)")
    if release.get("draft") or release.get("prerelease"):
        return verdict(False, "a draft or pre-release")
    if sha is None or not release.get("published_at"):
        return verdict(False, "its tag's commit or its publication time is not known")
    return verdict(True, "a published release deploys its tag's commit")
