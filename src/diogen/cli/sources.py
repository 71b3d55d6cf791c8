"""`diogen sources ...`: stored connections the worker syncs, as the API's /connections.

Secrets never come from the command line (it shows in `ps` and shell history): `--secret-env
NAME=VAR` reads one from an environment variable, `--secret NAME` asks for it on a terminal or
reads one line of stdin. Every change is written to the audit log, with no user (the shell is
trusted), as `diogen users` does.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, get_args, get_origin

import typer
from sqlalchemy.orm import Session

from diogen.accounts.audit import Actor, record_write
from diogen.accounts.clock import utc_now
from diogen.cli.app import (
    ConfigOption,
    DatabaseOption,
    OutputFormat,
    app,
    database,
    info,
    settings_for,
)
from diogen.config import Settings
from diogen.db import session_scope
from diogen.errors import InputError, SourceError
from diogen.processing.scheduler import connection_schedule, plan
from diogen.sources import service
from diogen.sources.kinds import KIND_NAMES, Kind, kind_named
from diogen.sources.models import SourceConnection
from diogen.sources.secrets import new_key

sources_app = typer.Typer(
    help="Manage stored source connections (synced by `diogen worker`).", no_args_is_help=True
)
app.add_typer(sources_app, name="sources")
SHELL = Actor(user_id=None)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The connection's name.")]
OptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        metavar="KEY=VALUE",
        help="A connector option (JSON or text; repeat a list option's key for several values), "
        "e.g. --option repos=acme/api --option releases=true.",
        show_default=False,
    ),
]
SecretEnvOption = Annotated[
    list[str] | None,
    typer.Option(
        "--secret-env",
        metavar="NAME=VAR",
        help="Read secret NAME (token, api_key, webhook_secret) from environment variable VAR.",
        show_default=False,
    ),
]
SecretOption = Annotated[
    list[str] | None,
    typer.Option(
        "--secret",
        metavar="NAME",
        help="Ask for secret NAME on the terminal, or read it as one line of stdin.",
        show_default=False,
    ),
]
IntervalOption = Annotated[
    float | None,
    typer.Option(
        "--interval",
        metavar="MINUTES",
        min=0,
        help="Minutes between scheduled syncs (default: the kind's; 0: none).",
        show_default=False,
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def parse_options(kind: Kind, given: list[str] | None) -> dict[str, Any]:
    """KEY=VALUE pairs; a value is JSON when it reads as JSON, else text; a list option
    collects every value given for it."""
    options: dict[str, Any] = {}
    for pair in given or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--option {pair!r} is not KEY=VALUE")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        field = kind.model.model_fields.get(key)
        if field is not None and _wants_text(field.annotation) and not isinstance(value, list):
            value = text  # projects=1201 is the gid "1201", not a number
        if field is not None and _is_list(field.annotation) and not isinstance(value, list):
            options.setdefault(key, []).append(value)
        else:
            options[key] = value
    return options


def _wants_text(annotation: Any) -> bool:
    """str, str | None, list[str]: what reads as JSON (a number, true) is still text."""
    return annotation is str or any(_wants_text(a) for a in get_args(annotation))


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(_is_list(a) for a in get_args(annotation))


def read_secrets(from_env: list[str] | None, asked: list[str] | None) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for pair in from_env or []:
        name, sep, variable = pair.partition("=")
        if not sep or not name or not variable:
            raise InputError(f"--secret-env {pair!r} is not NAME=VARIABLE")
        value = os.environ.get(variable)
        if not value:
            raise InputError(f"environment variable {variable} is not set (for secret {name})")
        secrets[name] = value
    for name in asked or []:
        if sys.stdin.isatty():
            value = str(typer.prompt(f"{name}", hide_input=True))
        else:
            value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InputError(f"no value given for secret {name}")
        secrets[name] = value
    return secrets


def _audit(session: Session, action: str, row: SourceConnection, changes: dict[str, Any]) -> None:
    record_write(session, SHELL, action, "connection", row.id, now=utc_now(), changes=changes)


def as_dict(session: Session, settings: Settings, row: SourceConnection) -> dict[str, Any]:
    tested = None
    if row.tested_at is not None:
        tested = {"at": row.tested_at.isoformat(), "ok": row.test_ok, "detail": row.test_detail}
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "source": row.source,
        "options": row.config,
        "secrets": service.secret_state(row),
        "interval_minutes": row.interval_minutes,
        "enabled": row.enabled,
        "schedule": connection_schedule(plan(session, settings), row),
        "last_test": tested,
    }


def _render(found: dict[str, Any]) -> str:
    secrets = ", ".join(
        f"{name} {'set ' + str(s['updated_at']) if s['set'] else 'not set'}"
        for name, s in found["secrets"].items()
    )
    tested = found["last_test"]
    lines = [
        f"{found['name']} ({found['kind']}) → {found['source'] or 'source not known yet'}",
        f"  options: {json.dumps(found['options'], sort_keys=True)}",
        f"  secrets: {secrets or 'none'}",
        f"  enabled: {'yes' if found['enabled'] else 'no'}; scheduled syncs: "
        f"{found['schedule'] or 'none'}",
        "  last test: "
        + (
            f"{'ok' if tested['ok'] else 'failed'} {tested['at']}: {tested['detail']}"
            if tested
            else "never"
        ),
    ]
    return "\n".join(lines)


@sources_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(metavar="KIND", help=f"One of {', '.join(KIND_NAMES)}.")],
    name: NameArgument,
    option: OptionOption = None,
    secret_env: SecretEnvOption = None,
    secret: SecretOption = None,
    interval: IntervalOption = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Store it, not scheduled.")] = False,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Store a connection; its options are checked as `diogen sync KIND` checks them, its
    secrets encrypted with DIOGEN_SECRET_KEY."""
    settings = settings_for(db, config)
    found = kind_named(kind)
    options, secrets = parse_options(found, option), read_secrets(secret_env, secret)
    with database(settings) as engine, session_scope(engine) as session:
        row = service.create(
            session,
            settings,
            utc_now(),
            kind=kind,
            name=name,
            options=options,
            secrets=secrets,
            interval_minutes=interval,
            enabled=not disabled,
        )
        _audit(session, "connection.create", row, {"kind": kind, "name": name, "options": options})
        info(f"connection {name} stored ({row.source or 'source known after a test'})")


@sources_app.command("update")
def update(
    name: NameArgument,
    option: OptionOption = None,
    secret_env: SecretEnvOption = None,
    secret: SecretOption = None,
    clear_secret: Annotated[
        list[str] | None,
        typer.Option(
            "--clear-secret", metavar="NAME", help="Forget secret NAME.", show_default=False
        ),
    ] = None,
    interval: IntervalOption = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", show_default=False, help="Schedule it or not."),
    ] = None,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Change a connection: options given replace them all; secrets given replace theirs."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        row = service.find(session, name)
        changes: dict[str, Any] = {"enabled": enabled}
        if option:
            changes["options"] = parse_options(kind_named(row.kind), option)
        secrets: dict[str, str | None] = {**read_secrets(secret_env, secret)}
        secrets.update({key: None for key in clear_secret or []})
        changes["secrets"] = secrets
        if interval is not None:
            changes["interval_minutes"] = interval
        service.update(session, settings, row, utc_now(), changes)
        _audit(session, "connection.update", row, {"changed_credentials": sorted(secrets)})
        info(f"connection {row.name} updated")


@sources_app.command("list")
def list_(
    output: FormatOption = OutputFormat.table,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Every stored connection, with its schedule (or why it cannot be scheduled)."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        found = [as_dict(session, settings, row) for row in service.all_connections(session)]
    if output is OutputFormat.json:
        typer.echo(json.dumps(found, indent=2))
    elif not found:
        info("no connections: add one with `diogen sources add KIND NAME ...`")
    else:
        typer.echo("\n".join(_render(item) for item in found))


@sources_app.command("show")
def show(
    name: NameArgument,
    output: FormatOption = OutputFormat.table,
    db: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """One connection; its secrets only as set or not."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        found = as_dict(session, settings, service.find(session, name))
    typer.echo(json.dumps(found, indent=2) if output is OutputFormat.json else _render(found))


@sources_app.command("test")
def test(name: NameArgument, db: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Call the provider once with the connection's credentials; exit 1 when it refuses."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        row = service.find(session, name)
        result = service.test(session, settings, row, utc_now())
        _audit(session, "connection.test", row, {"ok": result.ok})
    if not result.ok:
        raise SourceError(f"{name}: {result.detail}")  # exit 1: a failure, not bad usage
    typer.echo(f"{name}: ok: {result.detail}")


@sources_app.command("remove")
def remove(name: NameArgument, db: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Forget a connection and its secrets; what it synced stays."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        row = service.find(session, name)
        _audit(session, "connection.delete", row, {"name": row.name})
        session.delete(row)
    info(f"connection {name} removed")


@sources_app.command("new-key")
def new_key_command() -> None:
    """Print a new key for DIOGEN_SECRET_KEY."""
    typer.echo(new_key())


@sources_app.command("rotate-key")
def rotate_key(db: DatabaseOption = None, config: ConfigOption = None) -> None:
    """Encrypt every stored secret again with the first key of DIOGEN_SECRET_KEY (give the new
    key first and the old after it; drop the old one afterwards)."""
    settings = settings_for(db, config)
    with database(settings) as engine, session_scope(engine) as session:
        count = service.rotate_key(session, settings)
    info(f"{count} connection(s) encrypted with the first key")
