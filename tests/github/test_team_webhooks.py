"""Team, membership and organization webhooks (the real example deliveries, signed) applied
to teams and memberships over time, into the rows the org-teams sync keeps: a sync takes over
what a delivery wrote and a delivery what a sync wrote. Each test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from github_support import Sleeper
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_webhooks import EXAMPLES, SECRET, signed

from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.ingest.models import QuarantinedRecord
from diogen.ingest.runner import run_sync
from diogen.ingest.webhooks import WebhookPayloadError, receive_github
from diogen.silver import Organization, Repository, Team, TeamMembership
from diogen.testing.fake_github import FakeGitHub

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
T3 = datetime(2024, 3, 3, 9, 0, tzinfo=UTC)
T4 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
ORG, TEAM, MEMBER = "Octocoders", 3253328, "Codertocat"  # as the examples name them
Deliver = Callable[..., dict[str, Any]]


@pytest.fixture
def deliver(engine: Engine, fake: FakeGitHub, shared_data: Path) -> Deliver:
    """deliver(event, example, at, **changes): the example delivery, as the fake's instance
    sends it (its URLs on the fake's host, the rows' source), received at `at`."""
    host = urlsplit(fake.url).netloc

    def run(event: str, name: str, at: datetime, **changes: Any) -> dict[str, Any]:
        text = (shared_data / EXAMPLES / event / f"{name}.payload.json").read_text()
        payload = json.loads(text.replace("https://github.com/", f"http://{host}/"))
        payload.update(changes)
        body = json.dumps(payload).encode()
        headers = signed(body, event, f"{event}/{name}/{at.isoformat()}")
        result = receive_github(engine, headers, body, SECRET, clock=lambda: at)
        assert result.status == "processed"
        return payload

    return run


@pytest.fixture
def sync(engine: Engine, fake: FakeGitHub, tmp_path: Path) -> Callable[[datetime], None]:
    fake.add(fake.examples.repository(f"{ORG}/Hello-World"))

    def run(at: datetime) -> None:
        config = GitHubConfig(
            org=ORG, tokens=["t"], api_url=fake.url, commits="none", cache_dir=tmp_path
        )
        run_sync(engine, GitHubConnector(config, sleep=Sleeper(), clock=at.timestamp))

    return run


def memberships(engine: Engine) -> list[tuple[str, str, datetime, datetime | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(Team.name, Team.external_id, TeamMembership.valid_from, TeamMembership.valid_to)
            .join(Team, Team.id == TeamMembership.team_id)
            .order_by(TeamMembership.valid_from)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_deliveries_then_syncs_agree(
    engine: Engine, fake: FakeGitHub, deliver: Deliver, sync: Callable[[datetime], None]
) -> None:
    deliver("team", "created", T1)
    deliver("membership", "added", T1)
    assert memberships(engine) == [("github", str(TEAM), T1, None)]

    # The sync sees the same team and member: it takes over the team and the open
    # membership (no second row, the start as the delivery dated it).
    team = fake.add_team(ORG, "github", members=[MEMBER], team_id=TEAM)
    sync(T2)
    with Session(engine) as session:
        assert session.query(Team).count() == 1 and session.query(Organization).count() == 1
    assert memberships(engine) == [("github", str(TEAM), T1, None)]

    # Removed by a delivery; a sync that no longer finds the member changes nothing.
    deliver("membership", "removed", T3)
    fake.team_members[team["id"]] = []
    sync(T3)
    assert memberships(engine) == [("github", str(TEAM), T1, T3)]

    # Back again: a new membership, as a sync would open.
    deliver("membership", "added", T4)
    assert memberships(engine) == [("github", str(TEAM), T1, T3), ("github", str(TEAM), T4, None)]


def test_deliveries_change_what_a_sync_wrote(
    engine: Engine, fake: FakeGitHub, deliver: Deliver, sync: Callable[[datetime], None]
) -> None:
    fake.add_team(ORG, "github", members=[MEMBER], team_id=TEAM)
    sync(T1)
    assert memberships(engine) == [("github", str(TEAM), T1, None)]

    # The team given the repository owns it (nothing owned it); removed, it owns it no more.
    deliver("team", "added_to_repository", T2)
    assert _owner(engine) == "github"
    deliver("team", "removed_from_repository", T2)
    assert _owner(engine) is None

    # Renamed (each delivery carries the team as it is then).
    edited = deliver("team", "edited", T2, team={**_team(deliver), "name": "GitHub Team"})
    assert edited["team"]["name"] == "GitHub Team"
    with Session(engine) as session:
        assert session.scalars(select(Team.name)).one() == "GitHub Team"

    deliver("team", "deleted", T3)
    assert memberships(engine) == [("GitHub Team", str(TEAM), T1, T3)]


def test_a_member_removed_from_the_organisation_leaves_its_teams(
    engine: Engine, fake: FakeGitHub, deliver: Deliver, sync: Callable[[datetime], None]
) -> None:
    user = "hacktocat"  # whom the organization examples add
    fake.add_team(ORG, "github", members=[user, MEMBER], team_id=TEAM)
    fake.add_team(ORG, "other", members=[user])
    sync(T1)
    added = deliver("organization", "member_added", T2)
    assert added["membership"]["user"]["login"] == user
    assert len([m for m in memberships(engine) if m[3] is None]) == 3
    # GitHub's member_removed delivery is member_added's with the other action: the user
    # leaves both teams, the other member stays.
    deliver("organization", "member_added", T3, action="member_removed")
    assert sorted((m[0], str(m[3])) for m in memberships(engine)) == [
        ("github", str(T3)),
        ("github", "None"),
        ("other", str(T3)),
    ]

    renamed = deliver("organization", "renamed", T4)
    with Session(engine) as session:
        assert session.scalars(select(Organization.name)).one() == renamed["organization"]["login"]


def test_a_membership_of_a_deleted_team_closes(
    engine: Engine, fake: FakeGitHub, deliver: Deliver, sync: Callable[[datetime], None]
) -> None:
    fake.add_team(ORG, "github", members=[MEMBER], team_id=TEAM)
    sync(T1)
    deliver("membership", "removed.with-deleted-team", T2)
    assert memberships(engine) == [("github", str(TEAM), T1, T2)]


def _team(deliver: Deliver) -> dict[str, Any]:
    return copy.deepcopy(deliver("team", "edited", T1)["team"])


def _owner(engine: Engine) -> str | None:
    with Session(engine) as session:
        repo = session.scalars(
            select(Repository).where(Repository.name == f"{ORG}/Hello-World")
        ).one()
        return None if repo.owning_team_id is None else session.get(Team, repo.owning_team_id).name  # type: ignore[union-attr]


def test_a_membership_delivery_without_its_team_is_quarantined(
    engine: Engine, shared_data: Path
) -> None:
    payload = json.loads((shared_data / EXAMPLES / "membership" / "added.payload.json").read_text())
    del payload["team"]
    body = json.dumps(payload).encode()
    with pytest.raises(WebhookPayloadError, match="cannot read membership event: KeyError"):
        receive_github(engine, signed(body, "membership", "m1"), body, SECRET)
    with Session(engine) as session:
        assert session.query(QuarantinedRecord).count() == 1
        assert session.query(Team).count() == 0 and session.query(TeamMembership).count() == 0
