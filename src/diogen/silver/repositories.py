"""Repositories by name: one name, one repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.errors import InputError
from diogen.silver.code import Repository


def check_location(session: Session, provider: str, name: str, location: str) -> None:
    """Refuse to sync `location` as `name` when that name belongs to another location (its
    data would be overwritten), or when `location` is already kept under another name (every
    organisation-wide figure would count it twice)."""
    known = session.scalar(
        select(Repository.location).where(Repository.provider == provider, Repository.name == name)
    )
    if known is not None and known != location:
        raise InputError(
            f"repository {name!r} is already synced from {known}; "
            f"pass --name to keep {location} under another name",
            name=name,
            location=location,
        )
    other = session.scalar(
        select(Repository.name).where(
            Repository.provider == provider,
            Repository.location == location,
            Repository.name != name,
        )
    )
    if other is not None:
        raise InputError(
            f"{location} is already synced as {other!r}; use --name {other}",
            name=name,
            location=location,
        )
