"""Teams of a GitHub organisation into silver: the organisation, its teams (parents first),
memberships dated by when a sync first and last saw them, and each repository's owning team.

A member a sync no longer finds in a team keeps the membership row, closed at that sync's
time; one who comes back gets a new row. An organisation or team of the same name made by
hand (through the API) is taken over rather than duplicated, and an owning team set by hand is
never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from diogen.db import upsert
from diogen.ids import stable_id
from diogen.silver import Identity, Organization, Repository, Team, TeamMembership
from diogen.silver.base import table_of
from diogen.silver.keys import identity_id

TEAM_UPDATE = ("organization_id", "parent_id", "name", "url", "external_id")


@dataclass(frozen=True)
class Snapshot:
    """What one sync saw of an organisation's teams."""

    source: str
    org: str
    # Every team now: {id, slug, name, url, parent_id} with GitHub's ids.
    teams: list[dict[str, Any]]
    # Members (login → role) of the teams whose member lists changed this time.
    members: dict[int, dict[str, str]]
    # Per team (GitHub id as text) its cursor state; "repos": {full_name: permission rank}.
    state: dict[str, dict[str, Any]]
    # Teams listed last time and gone now.
    gone: list[int]


def apply(snapshot: Snapshot, seen_at: float, session: Session) -> dict[str, Any]:
    now = datetime.fromtimestamp(seen_at, UTC)
    org_id = _organization(session, snapshot)
    ids = _team_ids(session, snapshot, org_id)
    _write_teams(session, snapshot, org_id, ids)
    joined = left = 0
    for github_id, roles in snapshot.members.items():
        people = _people(session, snapshot.source, roles)
        added, closed = _memberships(session, snapshot.source, ids[github_id], people, now)
        joined, left = joined + added, left + closed
    for team_id in _stored_ids(session, snapshot.source, snapshot.gone):
        left += _memberships(session, snapshot.source, team_id, {}, now)[1]
    owned = _owning_teams(session, snapshot, org_id, ids)
    return {"team_members_joined": joined, "team_members_left": left, "owned_repositories": owned}


def _organization(session: Session, snapshot: Snapshot) -> str:
    found = session.scalar(select(Organization.id).where(Organization.name == snapshot.org))
    if found is not None:
        return found
    org_id = stable_id(snapshot.source, "organization", snapshot.org.lower())
    row = {
        "id": org_id,
        "name": snapshot.org,
        "source": snapshot.source,
        "external_id": None,
        "url": f"https://{_host(snapshot.source)}/{snapshot.org}",
    }
    upsert(session, table_of(Organization), [row], update=())
    return org_id


def _host(source: str) -> str:
    return source.partition("@")[2] or "github.com"


def _team_ids(session: Session, snapshot: Snapshot, org_id: str) -> dict[int, str]:
    """GitHub team id → silver team id: the team synced before, or one of that name in the
    organisation, or a new id."""
    by_external = dict(
        session.execute(
            select(Team.external_id, Team.id).where(
                Team.source == snapshot.source, Team.organization_id == org_id
            )
        ).all()
    )
    by_name = dict(
        session.execute(select(Team.name, Team.id).where(Team.organization_id == org_id)).all()
    )
    return {
        team["id"]: by_external.get(str(team["id"]))
        or by_name.get(team["name"])
        or stable_id(snapshot.source, "team", team["id"])
        for team in snapshot.teams
    }


def _write_teams(session: Session, snapshot: Snapshot, org_id: str, ids: dict[int, str]) -> None:
    parents = {team["id"]: team["parent_id"] for team in snapshot.teams}
    rows = [
        {
            "id": ids[team["id"]],
            "organization_id": org_id,
            "parent_id": ids.get(team["parent_id"]) if team["parent_id"] else None,
            "name": team["name"],
            "source": snapshot.source,
            "external_id": str(team["id"]),
            "url": team["url"],
        }
        for team in sorted(snapshot.teams, key=lambda t: _depth(t["id"], parents))
    ]
    for row in rows:  # one at a time: a child's parent must be stored first
        upsert(session, table_of(Team), [row], update=TEAM_UPDATE)


def _depth(team: int, parents: dict[int, int | None]) -> int:
    depth, seen, current = 0, set(), parents.get(team)
    while current is not None and current not in seen:
        seen.add(current)
        depth, current = depth + 1, parents.get(current)
    return depth


def _people(session: Session, source: str, roles: dict[str, str]) -> dict[str, str]:
    """The persons behind these GitHub logins (as identity resolution has them now), with the
    login's role in the team."""
    by_identity = {identity_id(source, login.lower()): role for login, role in roles.items()}
    found = session.execute(
        select(Identity.id, Identity.person_id).where(
            Identity.id.in_(list(by_identity)), Identity.person_id.is_not(None)
        )
    )
    return {person: by_identity[identity] for identity, person in found if person is not None}


def _memberships(
    session: Session, source: str, team_id: str, people: dict[str, str], now: datetime
) -> tuple[int, int]:
    """Open a membership for each new member, close the open ones of those gone; a member
    whose role changed keeps the membership, with the new role."""
    open_rows = {
        person: (row, role)
        for person, row, role in session.execute(
            select(TeamMembership.person_id, TeamMembership.id, TeamMembership.role).where(
                TeamMembership.team_id == team_id, TeamMembership.valid_to.is_(None)
            )
        )
    }
    gone = [row for person, (row, _) in open_rows.items() if person not in people]
    if gone:
        session.execute(
            update(TeamMembership).where(TeamMembership.id.in_(gone)).values(valid_to=now)
        )
    for person, (row, role) in open_rows.items():
        if person in people and people[person] != role:
            session.execute(
                update(TeamMembership).where(TeamMembership.id == row).values(role=people[person])
            )
    new = sorted(set(people) - set(open_rows))
    rows = [
        {
            "id": stable_id(source, "team_membership", team_id, person, now.isoformat()),
            "team_id": team_id,
            "person_id": person,
            "role": people[person],
            "valid_from": now,
            "valid_to": None,
        }
        for person in new
    ]
    upsert(session, table_of(TeamMembership), rows, update=())
    return len(new), len(gone)


def _stored_ids(session: Session, source: str, github_ids: list[int]) -> list[str]:
    if not github_ids:
        return []
    wanted = [str(i) for i in github_ids]
    query = select(Team.id).where(Team.source == source, Team.external_id.in_(wanted))
    return list(session.scalars(query))


def _owning_teams(session: Session, snapshot: Snapshot, org_id: str, ids: dict[int, str]) -> int:
    """Each repository's owner: the team with the strongest permission on it; on a tie the
    most nested team (the most specific), then the first by name. A repository no synced team
    holds any more loses the owner a sync gave it."""
    parents = {team["id"]: team["parent_id"] for team in snapshot.teams}
    claims: dict[str, list[tuple[int, int, str, int]]] = {}
    for team in snapshot.teams:
        repos = snapshot.state.get(str(team["id"]), {}).get("repos", {})
        depth = _depth(team["id"], parents)
        for full_name, rank in repos.items():
            if rank > 0:
                claims.setdefault(full_name, []).append(
                    (-rank, -depth, team["name"].lower(), team["id"])
                )
    synced = set(ids.values())
    owned = 0
    query = select(Repository).where(Repository.provider == snapshot.source)
    for repo in session.scalars(query):
        if repo.name.split("/")[0].lower() != snapshot.org.lower():
            continue
        if repo.organization_id is None:
            repo.organization_id = org_id
        if repo.owning_team_id is not None and repo.owning_team_id not in synced:
            continue  # set by hand
        repo.owning_team_id = ids[min(claims[repo.name])[3]] if repo.name in claims else None
        owned += repo.owning_team_id is not None
    return owned


# -- one change at a time, as team, membership and organization webhooks deliver them ---------


def organization_id(session: Session, source: str, org: str) -> str:
    """The organisation of that name, taken over or made as a sync does."""
    return _organization(session, Snapshot(source, org, [], {}, {}, []))


def write_team(
    session: Session, source: str, org_id: str, team: dict[str, Any], *, full: bool = True
) -> str:
    """Store one team (a webhook's record, nested through `parent`) and return its id: the
    team a sync or webhook stored before, or one of its name in the organisation. A team
    named only as a parent (`full=False`) keeps what is stored of it."""
    parent = team.get("parent")
    parent_id = write_team(session, source, org_id, parent, full=False) if parent else None
    record = _team(team)
    team_id = _stored_team(session, source, org_id, record)
    row = {
        "id": team_id,
        "organization_id": org_id,
        "parent_id": parent_id,
        "name": record["name"],
        "source": source,
        "external_id": str(record["id"]),
        "url": record["url"],
    }
    upsert(session, table_of(Team), [row], update=TEAM_UPDATE if full else ())
    return team_id


def _team(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "name": record["name"], "url": record.get("html_url")}


def _stored_team(session: Session, source: str, org_id: str, team: dict[str, Any]) -> str:
    found = session.scalar(
        select(Team.id).where(Team.source == source, Team.external_id == str(team["id"]))
    )
    found = found or session.scalar(
        select(Team.id).where(Team.organization_id == org_id, Team.name == team["name"])
    )
    return found or stable_id(source, "team", team["id"])


def stored_team(session: Session, source: str, github_id: int) -> str | None:
    query = select(Team.id).where(Team.source == source, Team.external_id == str(github_id))
    return session.scalar(query)


def join(session: Session, source: str, team_id: str, login: str, now: datetime) -> int:
    """Open a membership of the login's person, unless one is open (its role kept)."""
    people = _people(session, source, {login: "member"})
    open_ = _open(session, [team_id], list(people))
    rows = [
        {
            "id": stable_id(source, "team_membership", team_id, person, now.isoformat()),
            "team_id": team_id,
            "person_id": person,
            "role": role,
            "valid_from": now,
            "valid_to": None,
        }
        for person, role in people.items()
        if person not in open_
    ]
    upsert(session, table_of(TeamMembership), rows, update=())
    return len(rows)


def leave(
    session: Session, source: str, team_ids: list[str], login: str | None, now: datetime
) -> int:
    """Close the open memberships of these teams: the login's person's, or everyone's."""
    query = update(TeamMembership).where(
        TeamMembership.team_id.in_(team_ids), TeamMembership.valid_to.is_(None)
    )
    if login is not None:
        people = list(_people(session, source, {login: "member"}))
        query = query.where(TeamMembership.person_id.in_(people))
    result = session.execute(query.values(valid_to=now))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _open(session: Session, team_ids: list[str], people: list[str]) -> set[str]:
    query = select(TeamMembership.person_id).where(
        TeamMembership.team_id.in_(team_ids),
        TeamMembership.person_id.in_(people),
        TeamMembership.valid_to.is_(None),
    )
    return set(session.scalars(query))


def organization_teams(session: Session, org_id: str) -> list[str]:
    return list(session.scalars(select(Team.id).where(Team.organization_id == org_id)))
