"""Check runs and commit statuses of the newest commits of a repository's default branch:
the CI that is not GitHub Actions (whose runs and jobs come from the Actions API already).

Each commit is read until its checks have all finished, then never again; the cursor keeps
which commits are done. Check runs become pipeline runs of source `SOURCE:checks`, and each
status context of a commit one pipeline run of source `SOURCE:statuses` (its latest state).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow
from diogen.connectors.github.client import GitHubApi
from diogen.connectors.github.context import RepoContext, parse_time
from diogen.silver import PipelineRun
from diogen.silver.base import table_of

PIPELINE_RUN = table_of(PipelineRun)
# GitHub Actions reports its jobs as check runs too: those are read as workflow jobs.
ACTIONS_APP = "github-actions"
STATUS_CONCLUSION = {"success": "success", "failure": "failure", "error": "failure"}


@dataclass
class CommitChecks:
    api: GitHubApi
    full_name: str
    branch: str
    cursor: dict[str, Any]
    stats: FetchStats
    commits: int

    def run(self) -> Iterator[RawItem | Checkpoint]:
        state = dict(self.cursor.get("checks", {}))
        done: list[str] = list(state.get("done", []))
        response = self.api.get(
            f"repos/{self.full_name}/commits",
            etag=state.get("etag"),
            sha=self.branch,
            per_page=self.commits,
        )
        listed = state["listed"] if response.not_modified else [c["sha"] for c in response.data]
        state = {"etag": response.etag, "listed": listed, "done": done}
        for sha in [sha for sha in listed if sha not in done]:
            payload = {"sha": sha, **self._checks(sha)}
            self.stats.add("commit_checks")
            yield RawItem("commit_checks", f"{self.full_name}#checks/{sha}", payload)
            if _finished(payload):
                done.append(sha)
            # Only as many as are listed are kept: older commits are not listed again.
            state["done"] = done[-2 * self.commits :]
            self.cursor["checks"] = dict(state)
            yield Checkpoint({self.full_name: dict(self.cursor)})
        self.cursor["checks"] = state
        yield Checkpoint({self.full_name: dict(self.cursor)})

    def _checks(self, sha: str) -> dict[str, Any]:
        base = f"repos/{self.full_name}/commits/{sha}"
        return {
            "check_runs": list(self.api.items(f"{base}/check-runs", "check_runs")),
            "statuses": list(self.api.items(f"{base}/statuses")),
        }


def _finished(payload: dict[str, Any]) -> bool:
    runs_done = all(run["status"] == "completed" for run in payload["check_runs"])
    latest = _latest_statuses(payload["statuses"])
    return runs_done and all(s["state"] != "pending" for s in latest.values())


def _latest_statuses(statuses: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for status in sorted(statuses, key=lambda s: (s["updated_at"], s["id"])):
        latest[status["context"]] = status
    return latest


def commit_checks(ctx: RepoContext, payload: dict[str, Any]) -> Iterator[SilverRow]:
    sha = payload["sha"]
    for run in payload["check_runs"]:
        app = (run.get("app") or {}).get("slug") or "unknown"
        if app == ACTIONS_APP:
            continue
        yield _run_row(
            ctx,
            f"{ctx.source}:checks",
            ctx.entity_id("check_run", run["id"]),
            external_id=str(run["id"]),
            url=run.get("html_url"),
            name=run["name"],
            workflow=f"check:{app}",
            branch=(run.get("check_suite") or {}).get("head_branch"),
            sha=sha,
            status=run["status"],
            conclusion=run.get("conclusion"),
            started_at=parse_time(run.get("started_at")),
            finished_at=parse_time(run.get("completed_at")),
        )
    by_context: dict[str, list[dict[str, Any]]] = {}
    for status in payload["statuses"]:
        by_context.setdefault(status["context"], []).append(status)
    for context, latest in _latest_statuses(payload["statuses"]).items():
        conclusion = STATUS_CONCLUSION.get(latest["state"])
        yield _run_row(
            ctx,
            f"{ctx.source}:statuses",
            ctx.entity_id("commit_status", f"{ctx.full_name.lower()}:{sha}:{context}"),
            external_id=str(latest["id"]),
            url=latest.get("target_url"),
            name=context,
            workflow="status",
            branch=None,
            sha=sha,
            status="completed" if conclusion else "in_progress",
            conclusion=conclusion,
            started_at=parse_time(min(s["created_at"] for s in by_context[context])),
            finished_at=parse_time(latest["updated_at"]) if conclusion else None,
        )


def _run_row(ctx: RepoContext, source: str, row_id: str, **fields: Any) -> SilverRow:
    values = {"id": row_id, "source": source, "repository_id": ctx.repository_id, **fields}
    return SilverRow(PIPELINE_RUN, values)
