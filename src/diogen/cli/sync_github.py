"""`diogen sync github`: pull requests, reviews, deployments, releases and Actions runs from
GitHub (or GitHub Enterprise), with the commits of each repository from a clone."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    database,
    err,
    info,
    interruptible,
    is_interactive,
    settings_for,
    sync_app,
)
from diogen.config import Settings
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.github.config import (
    PUBLIC_API,
    GitHubAppConfig,
    GitHubSettings,
    IssueRules,
)
from diogen.errors import InputError, validation_problems
from diogen.ingest.credentials import (
    GITHUB_KEY_ENV,
    GITHUB_TOKEN_ENV,
    github_app,
    split_tokens,
)
from diogen.ingest.runner import SyncResult, run_sync
from diogen.processing.locks import sync_lock

TOKEN_ENV = list(GITHUB_TOKEN_ENV)
# Counters of a sync, as the summary names them.
SHOWN = (
    ("pull_requests", "pull requests"),
    ("review_comments", "review comments"),
    ("deployments", "deployments"),
    ("releases", "releases"),
    ("workflow_runs", "workflow runs"),
    ("commits", "commits"),
    ("teams", "teams"),
    ("commit_checks", "commits' checks"),
    ("issues", "issues"),
    ("incidents", "incidents"),
)


class CommitSource(StrEnum):
    clone = "clone"
    api = "api"
    none = "none"


@sync_app.command("github")
def sync_github(
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", metavar="OWNER/NAME", help="A repository (repeat for several)."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(metavar="ORG", help="Every repository of an organisation or user."),
    ] = None,
    token: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TOKEN",
            envvar=TOKEN_ENV,
            help="Personal access token; repeat (or separate with commas) for a pool "
            "(default: DIOGEN_GITHUB_TOKEN, GITHUB_TOKEN).",
            show_default=False,
            show_envvar=False,
        ),
    ] = None,
    app_id: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            envvar="DIOGEN_GITHUB_APP_ID",
            help="Authenticate as this GitHub App (with --private-key) instead of a token.",
            show_default=False,
        ),
    ] = None,
    private_key: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            envvar=GITHUB_KEY_ENV,
            help="The GitHub App's private key (.pem).",
            show_default=False,
        ),
    ] = None,
    installation_id: Annotated[
        int | None,
        typer.Option(
            metavar="ID",
            envvar="DIOGEN_GITHUB_INSTALLATION_ID",
            help="The App installation to act as (default: the one on the repository or org).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str,
        typer.Option(
            metavar="URL",
            envvar="DIOGEN_GITHUB_API_URL",
            help="REST API root; GitHub Enterprise: https://HOST/api/v3 (GraphQL is derived).",
        ),
    ] = PUBLIC_API,
    environment: Annotated[
        str | None,
        typer.Option(
            metavar="REGEX",
            help="GitHub Deployments to these environments count (default: the production "
            "environment setting).",
            show_default=False,
        ),
    ] = None,
    deploy_workflow: Annotated[
        str | None,
        typer.Option(
            metavar="REGEX",
            help="Successful runs of workflows whose name or path matches are deployments.",
            show_default=False,
        ),
    ] = None,
    deploy_branch: Annotated[
        str | None,
        typer.Option(
            metavar="REGEX", help="Only deployment runs on matching branches.", show_default=False
        ),
    ] = None,
    releases: Annotated[
        bool, typer.Option("--releases", help="Published releases are deployments of their tag.")
    ] = False,
    incident_label: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LABEL",
            help="Issues with this label are incidents (repeat; default: the github section's "
            "incident_labels). Issues are synced only when some rule is set.",
            show_default=False,
        ),
    ] = None,
    incident_type: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TYPE",
            help="Issues of this issue type are incidents (repeat; default: the github section's "
            "incident_types).",
            show_default=False,
        ),
    ] = None,
    commits: Annotated[
        CommitSource,
        typer.Option(
            "--commits",
            help="Commits and ancestry from a clone (a repository that cannot be cloned is "
            "read through the API), from the API only (no per-file counts), or none.",
        ),
    ] = CommitSource.clone,
    no_clone: Annotated[
        bool, typer.Option("--no-clone", help="Do not clone: the same as --commits api.")
    ] = False,
    checks: Annotated[
        bool,
        typer.Option(
            "--checks",
            help="Also check runs and commit statuses of the default branch's newest commits.",
        ),
    ] = False,
    teams: Annotated[
        bool,
        typer.Option(
            "--teams/--no-teams",
            help="With --org: its teams, their members and repositories (needs read:org).",
        ),
    ] = True,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Sync GitHub repositories: pull requests with reviews, commits and labels, deployments,
    releases, Actions runs and jobs; commits and ancestry from a clone or the API."""
    if no_clone and commits is CommitSource.none:
        raise InputError("--no-clone reads commits through the API: not with --commits none")
    settings = settings_for(db, config)
    given = {
        "environment_pattern": environment,
        "workflow_pattern": deploy_workflow,
        "workflow_branch_pattern": deploy_branch,
        "releases": releases or None,
    }
    rules = Rules(
        base={"environment_pattern": settings.production_environment},
        given={key: value for key, value in given.items() if value is not None},
        incident_labels=incident_label or [],
        incident_types=incident_type or [],
    )
    app = app_config(app_id, private_key, installation_id)
    tokens = [] if app else split_tokens(token)
    source = CommitSource.api if no_clone else commits
    github = github_config(settings, repo or [], org, tokens, api_url, rules, source.value, app)
    github = github.model_copy(update={"teams": teams, "checks": checks})
    connector = GitHubConnector(github)
    started = time.monotonic()
    with (
        interruptible(),
        database(settings) as engine,
        sync_lock(settings, engine, connector.source),
        SyncProgress(connector.source) as report,
    ):
        result = run_sync(engine, connector, progress=report)
    info(summary(result, time.monotonic() - started))


def github_config(
    settings: Settings,
    repos: list[str],
    org: str | None,
    tokens: list[str],
    api_url: str,
    rules: Rules,
    commits: str = "clone",
    app: GitHubAppConfig | None = None,
) -> GitHubConfig:
    """The connector config, or one line saying what is wrong with the options."""
    if not tokens and app is None:
        raise InputError(
            "a GitHub token is needed: --token, or DIOGEN_GITHUB_TOKEN/GITHUB_TOKEN "
            "(or a GitHub App: --app-id with --private-key)"
        )
    try:
        section = GitHubSettings(**settings.github)
    except ValidationError as exc:
        raise InputError(f"invalid [github] settings: {validation_problems(exc)}") from exc
    try:
        common, per_repo = section.rules(rules.base, rules.given)
        incidents = IssueRules(
            labels=rules.incident_labels or section.incident_labels,
            types=rules.incident_types or section.incident_types,
        )
        return GitHubConfig(
            repos=repos,
            org=org,
            tokens=tokens,
            app=app,
            api_url=api_url,
            rules=common,
            repo_rules=per_repo,
            incidents=incidents,
            bot_pattern=settings.bot_pattern,
            commits=commits,
            cache_dir=settings.cache_dir,
            git_jobs=settings.git_jobs,
        )
    except ValidationError as exc:
        raise InputError(f"invalid GitHub options: {validation_problems(exc)}") from exc


@dataclass(frozen=True)
class Rules:
    """Deployment and incident rules of the command line, over the `[github]` settings."""

    base: dict[str, Any]
    given: dict[str, Any]
    incident_labels: list[str] = field(default_factory=list)
    incident_types: list[str] = field(default_factory=list)


def app_config(
    app_id: str | None, private_key: Path | None, installation_id: int | None
) -> GitHubAppConfig | None:
    """The GitHub App of the options (None: authenticate with tokens)."""
    if app_id is None and private_key is None:
        if installation_id is not None:
            raise InputError("--installation-id needs --app-id and --private-key")
        return None
    if app_id is None or private_key is None:
        raise InputError("a GitHub App needs both --app-id and --private-key FILE")
    return github_app(app_id, private_key, installation_id)


class SyncProgress:
    """Items, requests and remaining quota on a terminal; silence elsewhere."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not is_interactive():
            return None
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            transient=True,
            console=err,
        )
        self.bar.start()
        self.task = self.bar.add_task(f"syncing {self.source}")
        return self.update

    def update(self, counters: dict[str, int]) -> None:
        assert self.bar is not None
        self.bar.update(self.task, description=f"syncing {self.source}: {progress_line(counters)}")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def progress_line(counters: dict[str, int]) -> str:
    parts = [f"{counters[key]} {label}" for key, label in SHOWN if counters.get(key)]
    parts.append(f"{counters.get('requests', 0)} requests")
    if "rate_limit_remaining" in counters:
        parts.append(f"quota left {counters['rate_limit_remaining']}")
    return ", ".join(parts)


def summary(result: SyncResult, seconds: float) -> str:
    s = result.summary
    line = f"{result.source}: {s.get('repositories', 0)} repositories, " + progress_line(s)
    if s.get("not_modified"):
        line += f" ({s['not_modified']} not modified)"
    if s.get("graphql_points"):
        line += f", {s['graphql_points']} GraphQL points"
    if s.get("deployed_commits") is not None:
        line += f", {s['deployed_commits']} deployed commits"
    if s.get("clones_failed"):
        line += f", {s['clones_failed']} repositories not cloned (commits read through the API)"
    if s.get("teams_refused"):
        line += ", teams not read (GitHub refused them: a token needs read:org; or --no-teams)"
    if result.rejected:
        line += f", {result.rejected} records rejected (kept in quarantine)"
    return line + f" ({seconds:.1f} s)"
