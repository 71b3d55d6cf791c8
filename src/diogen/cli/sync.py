"""`diogen sync <source>`: collect data from a source into the database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

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
from diogen.connectors.git import GitConfig, GitConnector
from diogen.connectors.git.repo import is_url
from diogen.db import session_scope
from diogen.ingest.runner import SyncResult, run_sync
from diogen.processing.locks import sync_lock
from diogen.silver.repositories import check_location

ReleasePatternOption = Annotated[
    str | None,
    typer.Option(
        metavar="REGEX",
        help="Tags matching this are releases (default: v1.2.3, 1.2.3, v1.2, +build allowed).",
        show_default=False,
    ),
]
PrereleasesOption = Annotated[
    bool | None,
    typer.Option(
        "--include-prereleases",
        help="Count pre-release tags such as v1.2.0-rc1 as releases too.",
        show_default=False,
    ),
]


@sync_app.command("git")
def sync_git(
    location: Annotated[
        str, typer.Argument(metavar="PATH_OR_URL", help="A local repository, or a URL to clone.")
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Name of the repository in Diogen (default: its directory name)."),
    ] = None,
    release_pattern: ReleasePatternOption = None,
    include_prereleases: PrereleasesOption = None,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="Parallel git processes (default: 2).")
    ] = None,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Sync a git repository: commits with file stats, branches, tags, and releases from tags."""
    settings = settings_for(
        db,
        config,
        release_pattern=release_pattern,
        include_prereleases=include_prereleases,
        git_jobs=jobs,
    )
    connector = GitConnector(git_config(location, name, settings))
    started = time.monotonic()
    with interruptible(), database(settings) as engine:
        result = run_git_sync(engine, connector, settings)
    info(_summary(result, time.monotonic() - started))
    shallow = result.summary.get("shallow_boundary_commits")
    if shallow:
        info(
            f"warning: shallow clone: {shallow} boundary commit(s) have no stats; "
            "run 'git fetch --unshallow' for complete history"
        )


def git_config(location: str, name: str | None, settings: Settings) -> GitConfig:
    """The connector config from the command's arguments and the settings."""
    if not is_url(location):
        location = str(Path(location).expanduser().resolve())
    return GitConfig(
        location=location,
        name=name,
        release_pattern=settings.effective_release_pattern,
        bot_pattern=settings.bot_pattern,
        jobs=settings.git_jobs,
        cache_dir=settings.cache_dir,
    )


def run_git_sync(engine: Engine, connector: GitConnector, settings: Settings) -> SyncResult:
    """One sync of a git repository, with a progress bar on a terminal; never beside another
    sync of the same repository (a worker's scheduled one, say)."""
    with session_scope(engine) as session:
        check_location(session, "git", connector.name, connector.config.location)
    with sync_lock(settings, engine, connector.source), SyncProgress(connector.source) as report:
        return run_sync(engine, connector, progress=report)


class SyncProgress:
    """A progress bar on a terminal; silence elsewhere (logs and pipes get the summary only)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not is_interactive():
            return None
        self.bar = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            console=err,
        )
        self.bar.start()
        self.task = self.bar.add_task(f"syncing {self.source}", total=None)
        return self.update

    def update(self, counters: dict[str, int]) -> None:
        assert self.bar is not None
        self.bar.update(
            self.task,
            completed=counters.get("commits", counters.get("records", 0)),
            total=counters.get("commits_to_read"),
        )

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary(result: SyncResult, seconds: float) -> str:
    s = result.summary
    if not result.records and not s:
        return f"{result.source}: up to date ({seconds:.1f} s)"
    parts = [f"{s.get('commits', 0)} commits read"]
    if s.get("unreachable"):
        parts.append(f"{s['unreachable']} no longer reachable")
    parts.append(f"{s.get('releases', 0)} releases")
    parts.append(f"{s.get('deployed_commits', 0)} deployed commits")
    if result.rejected:
        parts.append(f"{result.rejected} records rejected (kept in quarantine)")
    return f"{result.source}: " + ", ".join(parts) + f" ({seconds:.1f} s)"
