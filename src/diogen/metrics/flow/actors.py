"""Who did something: identities with their person, and the rule that says an actor is a bot.

An identity is a bot when its provider or a person said so (`identity.is_bot`,
`person.is_bot`) or when its login, name or email matches the bot pattern (the `bot_pattern`
setting, searched case-insensitively). The pattern runs in Python, once per identity, so it
means the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from diogen.config import BOT_PATTERN
from diogen.errors import InputError
from diogen.silver import Identity, Person


@dataclass(frozen=True)
class Actor:
    """An identity as the metrics see it; `id` None is an unknown (deleted) account."""

    id: str | None
    person_id: str | None
    shown: str | None
    bot: str | None  # why the actor is a bot, or None

    def same_person(self, other: Actor) -> bool:
        """Same identity or same person; an unknown account is nobody in particular."""
        if self.id is None or other.id is None:
            return False
        return self.id == other.id or (
            self.person_id is not None and self.person_id == other.person_id
        )


UNKNOWN = Actor(None, None, None, None)


def bot_rule(pattern: str = BOT_PATTERN) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(
            f"bot pattern {pattern!r} is not a valid regular expression: {exc}", pattern=pattern
        ) from exc


def _bot_reason(
    rule: re.Pattern[str], texts: Iterable[str | None], identity_bot: bool, person_bot: bool
) -> str | None:
    if identity_bot:
        return "the identity is marked as a bot"
    if person_bot:
        return "the person is marked as a bot"
    for text in texts:
        if text and rule.search(text):
            return f"{text!r} matches the bot pattern"
    return None


def load_actors(
    session: Session, rule: re.Pattern[str], *id_queries: Select[str | None]
) -> dict[str, Actor]:
    """The identities whose ids any of `id_queries` selects, in one query."""
    query = (
        select(
            Identity.id,
            Identity.person_id,
            Identity.login,
            Identity.name,
            Identity.email,
            Identity.is_bot,
            Person.is_bot,
        )
        .outerjoin(Person, Person.id == Identity.person_id)
        .where(Identity.id.in_(union(*id_queries)))
    )
    actors = {}
    for id_, person_id, login, name, email, identity_bot, person_bot in session.execute(query):
        why = _bot_reason(rule, (login, name, email), identity_bot, bool(person_bot))
        actors[id_] = Actor(id_, person_id, login or name or email or id_, why)
    return actors


def actor(actors: dict[str, Actor], identity_id: str | None) -> Actor:
    if identity_id is None:
        return UNKNOWN
    return actors.get(identity_id, Actor(identity_id, None, identity_id, None))
