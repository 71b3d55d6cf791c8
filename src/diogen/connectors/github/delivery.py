"""Repositories, refs, deployments, releases and Actions runs → silver rows (REST shapes, which
the sync and webhooks share)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from diogen.connectors.base import SilverRow
from diogen.connectors.github.context import RepoContext, parse_time
from diogen.silver import Deployment, GitRef, PipelineJob, PipelineRun, Repository
from diogen.silver.base import table_of
from diogen.silver.keys import ref_id

DEPLOYMENT = table_of(Deployment)
PIPELINE_RUN = table_of(PipelineRun)
PIPELINE_JOB = table_of(PipelineJob)
GIT_REF = table_of(GitRef)
# What a person may decide about a deployment; a sync never overwrites it.
VERDICTS = ("marked_failed", "fixes_deployment_id")
FULL_UPDATE = tuple(c.name for c in DEPLOYMENT.columns if c.name not in ("id", *VERDICTS))
# Without a status (the `deployment` webhook) only what the deployment itself says.
CREATED_UPDATE = ("environment", "sha", "ref_name", "started_at", "url")
FINAL_STATES = {"success": "success", "failure": "failure", "error": "failure"}
RUN_STATUS = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
}
SHA = re.compile(r"^[0-9a-f]{40}$")


def repository(ctx: RepoContext, repo: dict[str, Any]) -> Iterator[SilverRow]:
    yield SilverRow(
        table_of(Repository),
        {
            "id": ctx.repository_id,
            "source": ctx.source,
            "external_id": str(repo["id"]),
            "url": repo["html_url"],
            "organization_id": None,
            "owning_team_id": None,
            "provider": ctx.source,
            "name": repo["full_name"],
            "default_branch": repo.get("default_branch"),
            "location": repo["html_url"],
        },
        ("external_id", "url", "default_branch"),
    )


def tag(ctx: RepoContext, name: str, sha: str) -> Iterator[SilverRow]:
    """A tag as the REST tag list or a push shows it (no tagger: a clone knows that)."""
    yield SilverRow(
        GIT_REF,
        {
            "id": ref_id(ctx.repository_id, "tag", name),
            "repository_id": ctx.repository_id,
            "name": name,
            "kind": "tag",
            "commit_sha": sha,
            "tag_sha": None,
            "tagger_name": None,
            "tagger_email": None,
            "tagged_at": None,
        },
        ("commit_sha",),
    )


def deployment(
    ctx: RepoContext, deployment: dict[str, Any], statuses: list[dict[str, Any]] | None
) -> Iterator[SilverRow]:
    """A GitHub Deployment and its statuses (None: not known yet, as in the `deployment`
    webhook); kept when its environment matches the repository's rule."""
    environment = deployment["environment"]
    if not ctx.environments.search(environment):
        return
    rows, _ = ctx.account(deployment.get("creator"))
    yield from rows
    latest = max(statuses or [], key=lambda s: (s["created_at"], s["id"]), default=None)
    state = latest["state"] if latest else "pending"
    final = FINAL_STATES.get(state)
    yield SilverRow(
        DEPLOYMENT,
        _deployment_row(
            ctx,
            ctx.source,
            deployment["id"],
            url=deployment["url"],
            environment=environment,
            sha=deployment["sha"],
            ref_name=deployment.get("ref"),
            status=final or state,
            started_at=parse_time(deployment["created_at"]),
            finished_at=parse_time(latest["created_at"]) if latest and final else None,
        ),
        FULL_UPDATE if statuses is not None else CREATED_UPDATE,
    )


def release(ctx: RepoContext, release: dict[str, Any], sha: str | None) -> Iterator[SilverRow]:
    """A published release deploys its tag's commit, when the rules say releases deploy."""
    if not ctx.rules.releases or release.get("draft") or release.get("prerelease"):
        return
    if sha is None and SHA.match(release.get("target_commitish") or ""):
        sha = release["target_commitish"]
    published = parse_time(release.get("published_at"))
    if sha is None or published is None:
        return
    yield SilverRow(
        DEPLOYMENT,
        _deployment_row(
            ctx,
            f"{ctx.source}:release",
            release["id"],
            url=release["html_url"],
            environment="production",
            sha=sha,
            ref_name=release["tag_name"],
            status="success",
            started_at=published,
            finished_at=published,
        ),
        FULL_UPDATE,
    )


def workflow_run(ctx: RepoContext, run: dict[str, Any]) -> Iterator[SilverRow]:
    rows, _ = ctx.account(run.get("actor") or run.get("triggering_actor"))
    yield from rows
    completed = run["status"] == "completed"
    started = parse_time(run.get("run_started_at") or run["created_at"])
    finished = parse_time(run["updated_at"]) if completed else None
    yield SilverRow(
        PIPELINE_RUN,
        {
            "id": ctx.entity_id("pipeline_run", run["id"]),
            "source": ctx.source,
            "external_id": str(run["id"]),
            "url": run["html_url"],
            "repository_id": ctx.repository_id,
            "name": run.get("name"),
            "workflow": run.get("path"),
            "branch": run.get("head_branch"),
            "sha": run["head_sha"],
            "status": run["status"],
            "conclusion": run.get("conclusion"),
            "started_at": started,
            "finished_at": finished,
        },
    )
    if completed and _deploys(ctx, run):
        conclusion = run.get("conclusion") or "unknown"
        # Cancelled, skipped or awaiting approval: it did not deploy, nor did it fail to.
        status = RUN_STATUS.get(conclusion, conclusion)
        yield SilverRow(
            DEPLOYMENT,
            _deployment_row(
                ctx,
                f"{ctx.source}:actions",
                run["id"],
                url=run["html_url"],
                environment=ctx.rules.workflow_environment,
                sha=run["head_sha"],
                ref_name=run.get("head_branch"),
                status=status,
                started_at=started,
                finished_at=finished,
            ),
            FULL_UPDATE,
        )


def workflow_job(ctx: RepoContext, job: dict[str, Any]) -> Iterator[SilverRow]:
    run_id = ctx.entity_id("pipeline_run", job["run_id"])
    # A job may arrive before its run (webhooks): a placeholder the run's own row replaces.
    yield SilverRow(
        PIPELINE_RUN,
        {
            "id": run_id,
            "source": ctx.source,
            "external_id": str(job["run_id"]),
            "url": None,
            "repository_id": ctx.repository_id,
            "name": job.get("workflow_name"),
            "workflow": None,
            "branch": job.get("head_branch"),
            "sha": job["head_sha"],
            "status": job["status"],
            "conclusion": None,
            "started_at": None,
            "finished_at": None,
        },
        (),
    )
    yield SilverRow(
        PIPELINE_JOB,
        {
            "id": ctx.entity_id("pipeline_job", job["id"]),
            "source": ctx.source,
            "external_id": str(job["id"]),
            "url": job["html_url"],
            "pipeline_run_id": run_id,
            "name": job["name"],
            "status": job["status"],
            "conclusion": job.get("conclusion"),
            "started_at": parse_time(job.get("started_at")),
            "finished_at": parse_time(job.get("completed_at")),
        },
    )


def _deploys(ctx: RepoContext, run: dict[str, Any]) -> bool:
    rules = ctx.rules
    if rules.workflow_pattern is None:
        return False
    pattern = re.compile(rules.workflow_pattern, re.I)
    if not (pattern.search(run.get("name") or "") or pattern.search(run.get("path") or "")):
        return False
    branch = rules.workflow_branch_pattern
    return branch is None or bool(re.search(branch, run.get("head_branch") or ""))


def _deployment_row(
    ctx: RepoContext, source: str, external_id: object, **fields: Any
) -> dict[str, Any]:
    return {
        "id": ctx.entity_id(f"{source}:deployment", external_id),
        "source": source,
        "external_id": str(external_id),
        "repository_id": ctx.repository_id,
        "service_id": None,
        "is_rollback": False,
        "marked_failed": None,
        "fixes_deployment_id": None,
        **fields,
    }
