"""Persons that no identity claims any more, dropped after a write that made them again.

A person exists through its identities: syncs write a person row (insert if absent) with each
identity. Merging developers moves identities to the person a human chose, locks them against
later syncs, and deletes the persons merged away; the next sync that meets one of those
identities writes its default person row again, while the identity stays where the merge put
it. Without this, every merged-away developer came back as an empty one.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, delete, exists
from sqlalchemy.orm import Session

from diogen.db import among
from diogen.silver.base import table_of
from diogen.silver.people import Identity, Person, TeamMembership

_PERSON, _IDENTITY, _MEMBERSHIP = table_of(Person), table_of(Identity), table_of(TeamMembership)
_UNCLAIMED = and_(
    ~exists().where(_IDENTITY.c.person_id == _PERSON.c.id),
    ~exists().where(_MEMBERSHIP.c.person_id == _PERSON.c.id),
)


def drop_unclaimed_persons(session: Session, person_ids: Collection[str]) -> None:
    """Delete those of `person_ids` that no identity and no team membership refer to."""
    if not person_ids:
        return
    ids = sorted(person_ids)  # a batch's persons: a few hundred at most
    session.execute(delete(_PERSON).where(among(session, _PERSON.c.id, ids), _UNCLAIMED))


PERSON_TABLE = _PERSON.name
