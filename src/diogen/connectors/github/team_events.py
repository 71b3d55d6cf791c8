"""Team, membership and organization webhooks applied to teams and memberships as they
happen, into the rows the org-teams sync keeps (`team_store`), so each takes over what the
other wrote: a membership opens when GitHub says the member was added (the delivery's time)
and closes when they were removed; a team deleted closes its memberships; a team given a
repository owns it if nothing owns it yet.

What a webhook cannot know, the next sync settles: the strongest of several teams on a
repository (GitHub sends one team's change), and a member's maintainer role.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from diogen.connectors.base import SilverRow
from diogen.connectors.github import delivery, team_store
from diogen.connectors.github.context import RepoContext, source_of
from diogen.connectors.github.teams import permission_rank
from diogen.silver import Organization, Repository

EVENTS = frozenset({"team", "membership", "organization"})


def source(payload: dict[str, Any]) -> str:
    """The instance: these events name no repository, but always who sent them."""
    return source_of(payload["sender"]["html_url"])


def rows(
    payload: dict[str, Any], repo: RepoContext | None, bot_pattern: str
) -> Iterator[SilverRow]:
    """The people the event names (whose memberships it changes), and its repository."""
    _check(payload)
    ctx = RepoContext(source(payload), "", bot_pattern=bot_pattern)
    member = payload.get("member") or (payload.get("membership") or {}).get("user")
    people, _ = ctx.account(member)
    yield from people
    if repo is not None and payload.get("repository"):
        yield from delivery.repository(repo, payload["repository"])


def _check(payload: dict[str, Any]) -> None:
    """What `apply` reads, read first: a delivery without it is rejected (kept in quarantine)
    before anything is written."""
    named = [payload["organization"]["login"]]
    if "team" in payload or "member" in payload:
        named += [payload["team"]["id"], payload["team"]["name"]]
    if "member" in payload:
        named.append(payload["member"]["login"])
    if any(value is None for value in named):
        raise ValueError("the delivery names no organisation, team or member")


def apply(session: Session, name: str, payload: dict[str, Any], now: datetime) -> dict[str, int]:
    src, action = source(payload), payload.get("action")
    org = payload["organization"]["login"]
    if name == "organization" and action == "renamed":
        old = payload["changes"]["login"]["from"]
        renamed = session.execute(
            update(Organization).where(Organization.name == old).values(name=org)
        )
        return {"organizations_renamed": int(renamed.rowcount)}  # type: ignore[attr-defined]
    if name == "organization" and action != "member_removed":
        return {}  # member_added: its person and identity are the rows; invitations: nothing
    org_id = team_store.organization_id(session, src, org)
    if name == "organization":
        login = payload["membership"]["user"]["login"]
        teams = team_store.organization_teams(session, org_id)
        return {"team_members_left": team_store.leave(session, src, teams, login, now)}
    team = payload["team"]
    if team.get("deleted") or (name == "team" and action == "deleted"):
        team_id = team_store.stored_team(session, src, team["id"])
        return _deleted(session, src, team_id, payload, now) if team_id else {}
    team_id = team_store.write_team(session, src, org_id, team)
    if name == "membership":
        login = payload["member"]["login"]
        if action == "added":
            return {"team_members_joined": team_store.join(session, src, team_id, login, now)}
        return {"team_members_left": team_store.leave(session, src, [team_id], login, now)}
    if action in ("added_to_repository", "removed_from_repository"):
        return _repository(session, src, org_id, team_id, payload)
    return {}


def _deleted(
    session: Session, src: str, team_id: str, payload: dict[str, Any], now: datetime
) -> dict[str, int]:
    """A team gone: its memberships end (a membership event with a deleted team: only the
    member's), and repositories it owned are owned by none until the next sync."""
    login = payload["member"]["login"] if payload.get("member") else None
    left = team_store.leave(session, src, [team_id], login, now)
    if login is not None:
        return {"team_members_left": left}
    session.execute(
        update(Repository).where(Repository.owning_team_id == team_id).values(owning_team_id=None)
    )
    return {"team_members_left": left}


def _repository(
    session: Session, src: str, org_id: str, team_id: str, payload: dict[str, Any]
) -> dict[str, int]:
    """A team given a repository owns it when nothing does; a team that loses it (or keeps
    no permission on it) stops owning it."""
    ctx = RepoContext(src, payload["repository"]["full_name"])
    repo = session.get(Repository, ctx.repository_id)
    if repo is None:
        return {}
    if repo.organization_id is None:
        repo.organization_id = org_id
    holds = permission_rank(payload["repository"]) > 0
    added = payload["action"] == "added_to_repository" and holds
    if added and repo.owning_team_id is None:
        repo.owning_team_id = team_id
    elif not added and repo.owning_team_id == team_id:
        repo.owning_team_id = None
    return {"owned_repositories": int(repo.owning_team_id == team_id)}
