"""Organisations, teams over time, and people with the identities they use in each tool."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, Origin, id_column, ref


class Organization(Origin, Base):
    __tablename__ = "organization"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Team(Origin, Base):
    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)
    id: Mapped[str] = id_column()
    organization_id: Mapped[str | None] = ref("organization.id")
    parent_id: Mapped[str | None] = ref("team.id", ondelete="SET NULL")
    name: Mapped[str] = mapped_column(String(255))


class Person(Base):
    """A canonical human (or bot): one per real actor, however many accounts they have."""

    __tablename__ = "person"
    id: Mapped[str] = id_column()
    display_name: Mapped[str | None] = mapped_column(String(255))
    primary_email: Mapped[str | None] = mapped_column(String(320), index=True)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)


class Identity(Origin, Base):
    """One account in one provider (a git email, a GitHub login, a Jira account).

    `person_locked` marks a person assignment made by hand, which later syncs never change.
    """

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("provider", "key"),)
    id: Mapped[str] = id_column()
    person_id: Mapped[str | None] = ref("person.id", ondelete="SET NULL")
    provider: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(320))
    login: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    person_locked: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamMembership(Base):
    """A person in a team from `valid_from` until `valid_to` (open-ended when None)."""

    __tablename__ = "team_membership"
    __table_args__ = (UniqueConstraint("team_id", "person_id", "valid_from"),)
    id: Mapped[str] = id_column()
    team_id: Mapped[str] = ref("team.id", nullable=False)
    person_id: Mapped[str] = ref("person.id", nullable=False)
    role: Mapped[str | None] = mapped_column(String(50))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
