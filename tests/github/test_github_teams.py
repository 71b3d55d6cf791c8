"""Organisation teams against the fake GitHub: nesting, memberships dated by the syncs that saw
them come and go, each repository's owning team, and what a person set by hand is kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from github_support import Sleeper
from sqlalchemy import Engine, select

from diogen.cli.sync_github import summary as summary_line
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.db import session_scope
from diogen.errors import SourceError
from diogen.ingest.runner import SyncResult, run_sync
from diogen.silver import Organization, Person, Repository, Team, TeamMembership
from diogen.testing.fake_github import FakeGitHub

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
T3 = datetime(2024, 3, 3, 9, 0, tzinfo=UTC)
T4 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
Sync = Callable[[datetime], dict[str, int]]


@pytest.fixture
def org(fake: FakeGitHub) -> dict[str, dict[str, object]]:
    for name in ("octo/app", "octo/api"):
        fake.add(fake.examples.repository(name))
    platform = fake.add_team(
        "octo",
        "Platform",
        members=["alice", "bob"],
        maintainers=["bob"],
        repos={"octo/app": "push", "octo/api": "admin"},
    )
    payments = fake.add_team(
        "octo", "Payments", members=["bob", "carol"], repos={"octo/app": "push"}, parent=platform
    )
    readers = fake.add_team(
        "octo", "Readers", members=["dave"], repos={"octo/app": "pull", "octo/api": "pull"}
    )
    return {"platform": platform, "payments": payments, "readers": readers}


@pytest.fixture
def sync(engine: Engine, fake: FakeGitHub, tmp_path: Path) -> Sync:
    def run(at: datetime) -> dict[str, int]:
        config = GitHubConfig(
            org="octo",
            tokens=["t"],
            api_url=fake.url,
            clone=False,
            cache_dir=tmp_path / "cache",
        )
        connector = GitHubConnector(config, sleep=Sleeper(), clock=at.timestamp)
        return run_sync(engine, connector).summary

    return run


def teams(engine: Engine) -> dict[str, str | None]:
    """Team name → its parent's name."""
    with session_scope(engine) as session:
        rows = session.scalars(select(Team)).all()
        names = {team.id: team.name for team in rows}
        return {team.name: names.get(team.parent_id or "") for team in rows}


def memberships(engine: Engine) -> set[tuple[str, str, datetime, datetime | None]]:
    """(team, login, valid_from, valid_to) of every membership row."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Team.name, TeamMembership.person_id, TeamMembership.valid_from)
            .add_columns(TeamMembership.valid_to)
            .join(Team, Team.id == TeamMembership.team_id)
        ).all()
        logins = dict(session.execute(select(Person.id, Person.display_name)).all())
        return {(team, logins[person], start, end) for team, person, start, end in rows}


def roles(engine: Engine) -> dict[tuple[str, str], str | None]:
    """(team, login) → role of the open memberships."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Team.name, Person.display_name, TeamMembership.role)
            .join(Team, Team.id == TeamMembership.team_id)
            .join(Person, Person.id == TeamMembership.person_id)
            .where(TeamMembership.valid_to.is_(None))
        ).all()
        return {(team, login): role for team, login, role in rows}


def owners(engine: Engine) -> dict[str, str | None]:
    with session_scope(engine) as session:
        names = dict(session.execute(select(Team.id, Team.name)).all())
        return {
            repo.name: names.get(repo.owning_team_id or "")
            for repo in session.scalars(select(Repository))
        }


def test_teams_nest_and_members_are_dated_by_first_sight(
    engine: Engine, fake: FakeGitHub, org: dict[str, dict[str, object]], sync: Sync
) -> None:
    summary = sync(T1)
    assert summary["teams"] == 3 and summary["team_members"] == 5
    assert teams(engine) == {"Platform": None, "Payments": "Platform", "Readers": None}
    assert memberships(engine) == {
        ("Platform", "alice", T1, None),
        ("Platform", "bob", T1, None),
        ("Payments", "bob", T1, None),
        ("Payments", "carol", T1, None),
        ("Readers", "dave", T1, None),
    }
    assert roles(engine)[("Platform", "bob")] == "maintainer"
    assert roles(engine)[("Platform", "alice")] == roles(engine)[("Payments", "bob")] == "member"
    # octo/app: Platform and Payments both push; the nested team is the more specific owner.
    assert owners(engine) == {"octo/app": "Payments", "octo/api": "Platform"}
    with session_scope(engine) as session:
        organisation = session.scalars(select(Organization)).one()
        assert organisation.name == "octo"
        assert {r.organization_id for r in session.scalars(select(Repository))} == {organisation.id}


def test_an_unchanged_organisation_costs_only_304s(
    engine: Engine, fake: FakeGitHub, org: dict[str, dict[str, object]], sync: Sync
) -> None:
    sync(T1)
    fake.log.clear()
    sync(T2)
    team_requests = [r for r in fake.log if "/teams" in r.path]
    assert len(team_requests) == 1 + 3 * 3  # the list; per team members, maintainers, repos
    assert {r.status for r in team_requests} == {304}
    assert all(end is None and start == T1 for *_, start, end in memberships(engine))


def test_leavers_are_closed_at_the_sync_time_not_deleted(
    engine: Engine, fake: FakeGitHub, org: dict[str, dict[str, object]], sync: Sync
) -> None:
    sync(T1)
    platform, payments, readers = org["platform"], org["payments"], org["readers"]
    fake.team_members[int(str(platform["id"]))] = ["bob", "erin"]
    fake.team_repos[int(str(payments["id"]))] = {}
    fake.teams["octo"].remove(readers)
    summary = sync(T3)
    assert summary["team_members_joined"] == 1 and summary["team_members_left"] == 2
    assert memberships(engine) == {
        ("Platform", "alice", T1, T3),
        ("Platform", "bob", T1, None),
        ("Platform", "erin", T3, None),
        ("Payments", "bob", T1, None),
        ("Payments", "carol", T1, None),
        ("Readers", "dave", T1, T3),
    }
    assert owners(engine) == {"octo/app": "Platform", "octo/api": "Platform"}
    fake.team_members[int(str(platform["id"]))] = ["alice", "bob", "erin"]
    fake.team_maintainers[int(str(platform["id"]))] = ["erin"]
    sync(T4)
    # A role changes in place: bob stays a member since T1, erin leads now.
    assert roles(engine)[("Platform", "bob")] == "member"
    assert roles(engine)[("Platform", "erin")] == "maintainer"
    assert ("Platform", "bob", T1, None) in memberships(engine)
    alice = sorted(m for m in memberships(engine) if m[1] == "alice")
    assert alice == [("Platform", "alice", T1, T3), ("Platform", "alice", T4, None)]


def test_what_was_made_by_hand_is_kept(
    engine: Engine, fake: FakeGitHub, org: dict[str, dict[str, object]], sync: Sync
) -> None:
    with session_scope(engine) as session:
        session.add(Organization(id="org-by-hand", name="octo", source="api"))
        session.add(
            Team(id="team-by-hand", organization_id="org-by-hand", name="Readers", source="api")
        )
        session.add(Team(id="sre", organization_id="org-by-hand", name="SRE", source="api"))
    sync(T1)
    with session_scope(engine) as session:
        assert session.scalars(select(Organization.id)).all() == ["org-by-hand"]
        readers = session.scalars(select(Team).where(Team.name == "Readers")).one()
        assert readers.id == "team-by-hand" and readers.external_id == str(org["readers"]["id"])
        api = session.scalars(select(Repository).where(Repository.name == "octo/api")).one()
        api.owning_team_id = "sre"
    fake.team_repos[int(str(org["platform"]["id"]))] = {"octo/app": "admin"}
    sync(T2)
    assert owners(engine) == {"octo/app": "Platform", "octo/api": "SRE"}
    assert ("Readers", "dave", T1, None) in memberships(engine)


def test_a_user_account_has_no_teams(engine: Engine, fake: FakeGitHub, sync: Sync) -> None:
    fake.add(fake.examples.repository("octo/app"))
    summary = sync(T1)
    assert summary["repositories"] == 1 and "teams" not in summary
    assert teams(engine) == {}


def test_a_token_without_read_org_syncs_the_repositories_and_says_so(
    engine: Engine, fake: FakeGitHub, org: dict[str, dict[str, object]], sync: Sync
) -> None:
    fake.fail(r"^/orgs/octo/teams$", 403, message="Resource not accessible by integration")
    summary = sync(T1)
    assert summary["repositories"] == 2 and summary["teams_refused"] == 1
    assert teams(engine) == {}
    line = summary_line(SyncResult("github", "run", summary=summary), 1.0)
    assert "teams not read (GitHub refused them: a token needs read:org; or --no-teams)" in line


def test_other_team_errors_fail_the_run(
    engine: Engine, fake: FakeGitHub, org: dict[str, dict[str, object]], sync: Sync
) -> None:
    fake.fail(r"^/orgs/octo/teams/platform/members$", 500, times=10)
    with pytest.raises(SourceError, match=r"members failed after \d+ attempts: HTTP 500"):
        sync(T1)
