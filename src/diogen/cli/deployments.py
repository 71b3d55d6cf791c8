"""`diogen deployments preview`: which synced GitHub records the current rules count as
production deployments, and why each does or does not, from bronze alone (no network)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from diogen.cli.app import ConfigOption, DatabaseOption, app, database, err, settings_for
from diogen.connectors.github.config import REPO_NAME, DeploymentRules, GitHubSettings
from diogen.connectors.github.preview import PREVIEWED, Verdict, judge
from diogen.errors import InputError, NotFoundError
from diogen.ingest.models import RawRecord

deployments_app = typer.Typer(help="Inspect what counts as a deployment.", no_args_is_help=True)
app.add_typer(deployments_app, name="deployments")


@deployments_app.command("preview")
def preview(
    repo: Annotated[
        str | None,
        typer.Option(metavar="OWNER/NAME", help="Only this repository.", show_default=False),
    ] = None,
    environment: Annotated[
        str | None, typer.Option(metavar="REGEX", help="As `sync github --environment`.")
    ] = None,
    deploy_workflow: Annotated[
        str | None, typer.Option(metavar="REGEX", help="As `sync github --deploy-workflow`.")
    ] = None,
    deploy_branch: Annotated[
        str | None, typer.Option(metavar="REGEX", help="As `sync github --deploy-branch`.")
    ] = None,
    releases: Annotated[
        bool, typer.Option("--releases", help="As `sync github --releases`.")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many records per repository, newest first.")
    ] = 50,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """List the GitHub Deployments, Actions runs and releases already synced (bronze, no
    network) with whether the rules (the github section of diogen.toml, and these options)
    count each as a production deployment, and why."""
    if repo is not None and not REPO_NAME.match(repo):
        raise InputError(f"--repo {repo!r} is not OWNER/NAME")
    settings = settings_for(db, config)
    given = {
        "environment_pattern": environment,
        "workflow_pattern": deploy_workflow,
        "workflow_branch_pattern": deploy_branch,
        "releases": releases or None,
    }
    try:
        section = GitHubSettings(**settings.github)
        common, per_repo = section.rules(
            {"environment_pattern": settings.production_environment},
            {key: value for key, value in given.items() if value is not None},
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'rules'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"invalid deployment rules: {problems}") from exc
    with database(settings) as engine, Session(engine) as session:
        records = synced_records(session, repo)
    if not records:
        where = f" of {repo}" if repo else ""
        raise NotFoundError(
            f"no GitHub deployments, workflow runs or releases{where} are synced: "
            "run `diogen sync github` first",
            repo=repo,
        )
    shown = counted = 0
    for full_name, items in sorted(records.items()):
        rules = _rules_for(full_name, common, per_repo)
        verdicts = sorted((judge(rules, s, p) for s, p in items), key=_newest, reverse=True)
        for verdict in verdicts[:limit]:
            typer.echo(line(full_name, verdict))
            shown += 1
            counted += verdict.counts
    err.print(
        f"{shown} records shown: {counted} would count as production deployments, "
        f"{shown - counted} would not"
    )


def synced_records(session: Session, repo: str | None) -> dict[str, list[tuple[str, Any]]]:
    """The latest stored version of every deployment, workflow run and release of the GitHub
    sources, per repository ("owner/name" as synced)."""
    query = select(RawRecord.natural_key, RawRecord.stream, RawRecord.payload).where(
        or_(RawRecord.source == "github", RawRecord.source.like("github@%")),
        RawRecord.stream.in_(PREVIEWED),
    )
    if repo is not None:
        query = query.where(func.lower(RawRecord.natural_key).like(f"{repo.lower()}#%"))
    latest: dict[str, tuple[str, Any]] = {}
    for key, stream, payload in session.execute(query.order_by(RawRecord.fetched_at)):
        latest[key] = (stream, payload)
    by_repo: dict[str, list[tuple[str, Any]]] = {}
    for key, item in latest.items():
        by_repo.setdefault(key.split("#", 1)[0], []).append(item)
    return by_repo


def _rules_for(
    full_name: str, common: DeploymentRules, per_repo: dict[str, DeploymentRules]
) -> DeploymentRules:
    for name, rules in per_repo.items():
        if name.lower() == full_name.lower():
            return rules
    return common


def _newest(verdict: Verdict) -> str:
    return verdict.at or ""


def line(full_name: str, verdict: Verdict) -> str:
    sha = (verdict.sha or "")[:7] or "-"
    at = verdict.at or "-"
    return (
        f"{verdict.status}  {full_name}  {verdict.kind}: {verdict.name}  {at}  {sha}  "
        f"{verdict.reason}"
    )
