"""`diogen demo`: a fresh embedded database, one repository synced (or a generated sample
organisation), its DORA metrics printed."""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import diogen
from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    app,
    database,
    info,
    interruptible,
    settings_for,
)
from diogen.cli.sync import PrereleasesOption, ReleasePatternOption, git_config, run_git_sync
from diogen.config import Settings
from diogen.connectors.git import GitConnector
from diogen.connectors.git.repo import open_local
from diogen.db import session_scope
from diogen.errors import InputError, SourceError
from diogen.metrics import Scope, Window, dora_report, render_table
from diogen.metrics.window import start_of_next_day
from diogen.silver import Commit, Organization

DEMO_DATABASE = Path("diogen-demo.db")
# 2 repositories, 5,000 commits, 1,000 pull requests, 248 deployments, 25 incidents, 1,500
# issues in sprints: a few seconds to generate, and every dashboard page has something to show.
SAMPLE_SCALE = 0.005


@app.command()
def demo(
    repo: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Repository to analyse (default: this Diogen checkout)."),
    ] = None,
    release_pattern: ReleasePatternOption = None,
    include_prereleases: PrereleasesOption = None,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="Instead of a repository: a generated sample organisation (teams, pull "
            "requests, deployments, incidents, sprints), so every dashboard page has data.",
        ),
    ] = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Then serve the dashboard on the demo data, with a demo admin."
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="With --serve: port to listen on.")
    ] = 8000,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Sync a git repository into a fresh embedded database and print its DORA metrics. Offline.

    With --serve the dashboard and API then serve that data on http://HOST:PORT; sign in with
    the demo admin and the one-time password printed.
    """
    if sample and repo is not None:
        raise InputError("--sample generates its own data: leave out --repo")
    if db is None:
        _remove_demo_database()
        db = f"sqlite:///{DEMO_DATABASE}"
    settings = settings_for(
        db, config, release_pattern=release_pattern, include_prereleases=include_prereleases
    )
    if sample:
        _sample_demo(settings, serve=serve, host=host, port=port)
        return
    path = repo or _own_checkout()
    git = git_config(str(path), None, settings)
    connector = GitConnector(git)
    started = time.monotonic()
    with interruptible(), database(settings) as engine:
        result = run_git_sync(engine, connector, settings)
        info(
            f"synced {connector.name}: {result.summary.get('commits', 0)} commits, "
            f"{result.summary.get('releases', 0)} releases ({time.monotonic() - started:.1f} s)"
        )
        with session_scope(engine) as session:
            window = _whole_history(session, connector.repository_id)
            report_doc = dora_report(
                session,
                Scope(repo=connector.name),
                window,
                benchmarks=settings.benchmarks,
                production_environment=settings.production_environment,
            )
    typer.echo(render_table(report_doc))
    again = None if serve else "demo --serve" + (f" --repo {repo}" if repo else "")
    _hints(connector.name, db, report_doc, git.release_pattern, serve_command=again)
    if serve:
        # The web stack is imported only when asked for, as `diogen serve` does.
        from diogen.cli.demo_serve import serve_demo

        with database(settings) as engine:
            serve_demo(settings, engine, connector.name, window, host, port)


def _sample_demo(settings: Settings, *, serve: bool, host: str, port: int) -> None:
    """The sample organisation's DORA metrics over its last 13 weeks, then maybe the dashboard."""
    from diogen.testing.synthetic_org import END, generate_organization

    window = Window(END - timedelta(weeks=13), END)
    started = time.monotonic()
    with interruptible(), database(settings) as engine:
        _refuse_filled(engine)
        summary = generate_organization(engine, scale=SAMPLE_SCALE)
        info(
            f"generated the sample organisation {summary.organization}: "
            f"{summary.rows['git_commit']:,} commits, {summary.rows['pull_request']:,} pull "
            f"requests, {summary.rows['deployment']:,} deployments, teams "
            f"{', '.join(summary.teams)} ({time.monotonic() - started:.1f} s)"
        )
        with session_scope(engine) as session:
            report_doc = dora_report(session, Scope(), window, benchmarks=settings.benchmarks)
    typer.echo(render_table(report_doc))
    program = _program()
    info(
        f"data kept in {settings.database_url}; explore it with:\n"
        f"  {program} metrics dora --database {settings.database_url} --team {summary.teams[0]} "
        f"--from {window.start:%Y-%m-%d} --to {window.end:%Y-%m-%d} --bucket week --explain"
        + ("" if serve else f"\nor look at it in the dashboard:\n  {program} demo --sample --serve")
    )
    if serve:
        from diogen.cli.demo_serve import serve_demo

        with database(settings) as engine:
            serve_demo(settings, engine, None, window, host, port)


def _refuse_filled(engine: Engine) -> None:
    with session_scope(engine) as session:
        if session.scalar(select(func.count()).select_from(Organization)):
            raise InputError("--sample needs an empty database: leave out --database")


def _own_checkout() -> Path:
    """The git checkout Diogen runs from, when it runs from one (an editable install)."""
    candidate = Path(diogen.__file__).resolve().parents[2]
    try:
        return open_local(candidate)
    except SourceError:
        raise InputError(
            "no repository to analyse: pass --repo PATH (Diogen is not running from a git checkout)"
        ) from None


def _remove_demo_database() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)


def _whole_history(session: Session, repository_id: str) -> Window:
    """From the first commit's day to the end of today: the demo shows everything there is."""
    first = session.scalar(
        select(func.min(Commit.authored_at)).where(Commit.repository_id == repository_id)
    )
    end = start_of_next_day(None)
    start = first.replace(hour=0, minute=0, second=0, microsecond=0) if first else end
    return Window(min(start, end), end)


def _hints(
    name: str,
    database_url: str,
    report: dict[str, object],
    pattern: str,
    *,
    serve_command: str | None,
) -> None:
    frequency = report["deployment_frequency"]
    assert isinstance(frequency, dict)
    if not frequency.get("deployments"):
        info(
            f"no deployments: no tag of {name} matches the release pattern {pattern!r}; "
            "tag releases like v1.2.3, or pass --release-pattern REGEX"
        )
    program = _program()
    dashboard = f"\nor look at it in the dashboard:\n  {program} {serve_command}"
    info(
        f"data kept in {database_url}; explore it with:\n"
        f"  {program} metrics dora --database {database_url} --repo {name} "
        "--bucket month --explain\n"
        f"  {program} export commits --database {database_url} --format csv"
        + (dashboard if serve_command else "")
    )


def _program() -> str:
    """How to call diogen again: as it was called when that was a path (.venv/bin/diogen)."""
    invoked = sys.argv[0]
    if os.sep in invoked and shutil.which("diogen") != str(Path(invoked).resolve()):
        return invoked
    return "diogen"
