"""Creating, changing, testing and removing stored connections; shared by the API and the CLI.

Every function flushes and leaves the commit to its caller. Secrets go in as plain values and
come out only as `secret_state` (which are set, and when): nothing here returns, logs or puts
in an error message a secret's value.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.accounts.errors import ConflictError
from diogen.config import Settings
from diogen.errors import ConfigError, InputError, NotFoundError
from diogen.sources.kinds import Build, Kind, check_options, check_secrets, kind_named
from diogen.sources.models import SourceConnection
from diogen.sources.probe import ProbeResult, probe
from diogen.sources.secrets import SecretBox, SecretKeyError

# What the API's paths can address: no slash, no leading blank.
NAME = re.compile(r"^[^\s/][^/]{0,254}$")

log = logging.getLogger("diogen.sources")


class CannotBuild(InputError):
    """Why a connection cannot be synced as it stands (no secret, no workspace yet)."""


def connection_id() -> str:
    """A connection may be renamed, so its name cannot be its key (as rows made by the API)."""
    return uuid.uuid4().hex


def find(session: Session, key: str) -> SourceConnection:
    """A connection by id or by name."""
    found = session.get(SourceConnection, key) or session.scalar(
        select(SourceConnection).where(SourceConnection.name == key)
    )
    if found is None:
        raise NotFoundError(f"unknown connection {key!r}", kind="connection", key=key)
    return found


def all_connections(session: Session) -> list[SourceConnection]:
    return list(session.scalars(select(SourceConnection).order_by(SourceConnection.name)))


def create(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    kind: str,
    name: str,
    options: Mapping[str, Any],
    secrets: Mapping[str, str],
    interval_minutes: float | None = None,
    enabled: bool = True,
) -> SourceConnection:
    found = kind_named(kind)
    _check_name(name)
    config = check_options(found, options, settings)
    check_secrets(found, secrets)
    if session.scalar(select(SourceConnection.id).where(SourceConnection.name == name)):
        raise ConflictError(f"a connection named {name!r} exists", name=name)
    row = SourceConnection(
        id=connection_id(),
        kind=kind,
        name=name,
        config=config,
        secret_box=None,
        secret_meta={},
        interval_minutes=interval_minutes,
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    _set_source(session, found, row, settings)
    _write_secrets(row, dict(secrets), SecretBox(settings.secret_key), now)
    session.add(row)
    session.flush()
    return row


def update(
    session: Session,
    settings: Settings,
    row: SourceConnection,
    now: datetime,
    changes: Mapping[str, Any],
) -> SourceConnection:
    """`changes`: name, options (replaced whole), secrets (name → value, or None to clear),
    interval_minutes, enabled; only those given change."""
    kind = kind_named(row.kind)
    if changes.get("name") is not None and changes["name"] != row.name:
        _check_name(changes["name"])
        if session.scalar(
            select(SourceConnection.id).where(SourceConnection.name == changes["name"])
        ):
            raise ConflictError(
                f"a connection named {changes['name']!r} exists", name=changes["name"]
            )
        row.name = changes["name"]
    if changes.get("options") is not None:
        row.config = check_options(kind, _keep_learned(row, changes["options"]), settings)
        _set_source(session, kind, row, settings)
    if changes.get("secrets"):
        check_secrets(kind, changes["secrets"])
        box = SecretBox(settings.secret_key)
        held = box.open(row.secret_box) if row.secret_box else {}
        for key, value in changes["secrets"].items():
            if value is None:
                held.pop(key, None)
                row.secret_meta = {k: v for k, v in row.secret_meta.items() if k != key}
            else:
                held[key] = value
        _write_secrets(row, held, box, now, changed=set(changes["secrets"]))
    if "interval_minutes" in changes:
        row.interval_minutes = changes["interval_minutes"]
    if changes.get("enabled") is not None:
        row.enabled = changes["enabled"]
    row.updated_at = now
    session.flush()
    return row


def _keep_learned(row: SourceConnection, options: Mapping[str, Any]) -> Mapping[str, Any]:
    """New options keep the Linear workspace a test learned while they name the same API:
    forgetting it would leave the source unnamed until the next test."""
    learned = row.config.get("organization")
    same_api = options.get("api_url") == row.config.get("api_url")
    if row.kind == "linear" and learned and "organization" not in options and same_api:
        return {**options, "organization": learned}
    return options


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise InputError(
            f"{name!r} cannot name a connection: 1-255 characters, no '/', not starting blank",
            name=name,
        )


def _write_secrets(
    row: SourceConnection,
    held: dict[str, str],
    box: SecretBox,
    now: datetime,
    changed: set[str] | None = None,
) -> None:
    kept = {key: value for key, value in held.items() if value}
    row.secret_box = box.seal(kept)
    stamp = now.isoformat()
    meta = {key: value for key, value in row.secret_meta.items() if key in kept}
    for key in kept:
        if changed is None or key in changed or key not in meta:
            meta[key] = {"updated_at": stamp}
    row.secret_meta = meta


def _set_source(session: Session, kind: Kind, row: SourceConnection, settings: Settings) -> None:
    config = kind.full_config(row.config, {name: "stand-in" for name in kind.secrets}, settings)
    source = kind.source(config)
    other = session.scalar(
        select(SourceConnection.name).where(
            SourceConnection.source == source, SourceConnection.id != row.id
        )
    )
    if source is not None and other is not None:
        raise ConflictError(
            f"connection {other!r} already syncs {source}: change that one instead",
            source=source,
        )
    row.source = source


def secret_state(row: SourceConnection) -> dict[str, dict[str, Any]]:
    """What may be shown of the secrets: per name, whether it is set and when it was written."""
    kind = kind_named(row.kind)
    return {
        name: {
            "set": name in row.secret_meta,
            "updated_at": row.secret_meta.get(name, {}).get("updated_at"),
        }
        for name in kind.secrets
    }


def full_config(row: SourceConnection, settings: Settings) -> tuple[BaseModel, dict[str, str]]:
    """The connector config with the real secrets, and those secrets (to scrub messages)."""
    kind = kind_named(row.kind)
    secrets = SecretBox(settings.secret_key).open(row.secret_box)
    missing = [name for name in kind.secrets[:1] if name not in secrets]
    if missing:
        raise CannotBuild(
            f"no {missing[0]} is set for connection {row.name!r}: set its `{missing[0]}` secret",
            connection=row.name,
        )
    filled = {name: secrets.get(name, "") for name in kind.secrets}
    return kind.full_config(row.config, filled, settings), secrets


def connector_for(row: SourceConnection, settings: Settings) -> Build:
    """What builds the connection's connector; CannotBuild (or a key error) says why not."""
    if row.source is None:
        raise CannotBuild(
            f"the Linear workspace of connection {row.name!r} is not known yet: test the "
            "connection once (or give the `organization` option)",
            connection=row.name,
        )
    config, _secrets = full_config(row, settings)
    return kind_named(row.kind).build(config)


def test(session: Session, settings: Settings, row: SourceConnection, now: datetime) -> ProbeResult:
    """Call the provider once with the connection's credentials; the outcome is kept on it."""
    try:
        config, secrets = full_config(row, settings)
    except (InputError, ConfigError) as exc:  # no secret, a key that cannot open them
        result = ProbeResult(False, str(exc))
    else:
        result = probe(config, secrets)
    if result.ok and result.learned:
        row.config = {**row.config, **result.learned}
        _set_source(session, kind_named(row.kind), row, settings)
    row.tested_at, row.test_ok, row.test_detail = now, result.ok, result.detail
    session.flush()
    return result


def rotate_key(session: Session, settings: Settings) -> int:
    """Encrypt every connection's secrets again with the first key of DIOGEN_SECRET_KEY."""
    box = SecretBox(settings.secret_key)
    count = 0
    for row in all_connections(session):
        if row.secret_box:
            row.secret_box = box.rotate(row.secret_box)
            count += 1
    session.flush()
    return count


def webhook_secrets(session: Session, settings: Settings, kind: str) -> list[str]:
    """The `webhook_secret` of every enabled connection of `kind`: a delivery signed with any
    of them is one of theirs. A connection whose secrets the key cannot open is skipped."""
    box, found = SecretBox(settings.secret_key), []
    for row in all_connections(session):
        if row.kind != kind or not row.enabled or "webhook_secret" not in row.secret_meta:
            continue
        try:
            secret = box.open(row.secret_box).get("webhook_secret")
        except SecretKeyError as exc:
            log.warning("webhook secret of connection %s skipped: %s", row.name, exc)
            continue
        if secret:
            found.append(secret)
    return found
