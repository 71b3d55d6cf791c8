"""Gold's precomputed lead times (`metrics.gold_lead_times`): with the default rules and gold
fresh, a report counts each change from its first production row; the figures equal the
general way's (which the evidence takes) and hand-computed values, including the cases only
the general way can decide. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from test_metrics_support import Silver, utc

from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.gold import freshness, refresh_gold
from diogen.metrics.gold_shipments import MICROSECOND
from diogen.metrics.lead_times import hours
from diogen.metrics.sql_hints import IndexedBy
from diogen.silver.gold import GoldChange

JANUARY = Window(utc("2024-01-01"), utc("2024-02-01"))


def without_evidence(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "evidence"}


def both_ways(session: Session, scope: Scope, **options: Any) -> dict[str, Any]:
    """The report read from gold's lead times, checked against the general way's."""
    refresh_gold(session)
    assert not freshness(session).stale
    fast = dora_report(session, scope, JANUARY, **options)
    general = dora_report(session, scope, JANUARY, explain=True, **options)
    assert fast == without_evidence(general)
    return fast


def test_a_pull_request_shipped_first_by_other_peoples_commits(session: Session) -> None:
    """The team's first deployment of alice's pull request is the second one: the first
    shipped only carol's commit of it, so it is not the team's."""
    silver = Silver(session)
    payments = silver.team("payments")
    alice, carol = silver.person("alice"), silver.person("carol")
    silver.member(payments, "alice", "2023-01-01")
    repo = silver.repo("mono")
    c1 = silver.commit(repo, "c1", "2024-01-03T00:00", author=carol)
    c2 = silver.commit(repo, "c2", "2024-01-04T00:00", author=alice)
    silver.pull_request(
        repo, 1, created="2024-01-02", merged="2024-01-04T12:00", shas=["c1", "c2"], author=alice
    )
    silver.deploy(repo, "D1", "2024-01-05T00:00", commits=[c1])
    silver.deploy(repo, "D2", "2024-01-10T00:00", commits=[c2])

    team = both_ways(session, Scope(team="payments"))["lead_time_for_changes"]
    assert (team["changes"], team["pull_requests"], team["median_hours"]) == (1, 1, 168.0)
    org = both_ways(session, Scope())["lead_time_for_changes"]
    assert (org["changes"], org["pull_requests"], org["median_hours"]) == (1, 1, 48.0)


def test_a_commit_shipped_twice_at_one_instant_counts_once(session: Session) -> None:
    silver = Silver(session)
    repo = silver.repo("api")
    c1 = silver.commit(repo, "c1", "2024-01-09T00:00")
    c2 = silver.commit(repo, "c2", "2024-01-10T00:00")
    silver.deploy(repo, "D1", "2024-01-10T06:00", commits=[c1, c2])
    silver.deploy(repo, "D2", "2024-01-10T06:00", commits=[c2], environment="prod")
    report = both_ways(session, Scope(repo="api"))
    assert report["deployment_frequency"]["deployments"] == 2
    lead = report["lead_time_for_changes"]
    # c1: 30 h, c2: 6 h, once.
    assert (lead["changes"], lead["commits"], lead["median_hours"]) == (2, 2, 18.0)
    firsts = session.scalars(select(GoldChange.deployment_id).where(GoldChange.production_first))
    assert len(list(firsts)) == 2


def test_stages_and_exclusions_from_gold(session: Session) -> None:
    """A pull request's stages, a merge commit, and a commit dated after its deployment."""
    silver = Silver(session)
    alice, bob = silver.person("alice"), silver.person("bob")
    repo = silver.repo("web")
    c1 = silver.commit(repo, "c1", "2024-01-02T00:00", author=alice)
    merge = silver.commit(repo, "m1", "2024-01-04T00:00", merge=True)
    late = silver.commit(repo, "c9", "2024-01-06T00:00")
    pr = silver.pull_request(
        repo,
        7,
        created="2024-01-02T06:00",
        ready="2024-01-02T12:00",
        merged="2024-01-04T00:00",
        shas=["c1"],
        merge_sha="m1",
        author=alice,
    )
    silver.review(pr, bob, "2024-01-03T00:00")
    silver.deploy(repo, "D1", "2024-01-05T00:00", commits=[c1, merge, late])
    lead = both_ways(session, Scope())["lead_time_for_changes"]
    assert (lead["changes"], lead["pull_requests"], lead["median_hours"]) == (1, 1, 72.0)
    stages = {name: lead["stages"][name]["median_hours"] for name in ("coding", "pickup")}
    assert stages == {"coding": 12.0, "pickup": 12.0}
    assert lead["stages"]["review"]["median_hours"] == 24.0
    assert lead["stages"]["deploy"]["median_hours"] == 24.0


def test_other_rules_take_the_general_way(session: Session) -> None:
    """Gold precomputes for the default production pattern: another one must not read it."""
    silver = Silver(session)
    repo = silver.repo("api")
    c1 = silver.commit(repo, "c1", "2024-01-09T00:00")
    silver.deploy(repo, "L1", "2024-01-10T00:00", commits=[c1], environment="live")
    refresh_gold(session)
    report = dora_report(session, Scope(), JANUARY, production_environment="^live$")
    assert report["lead_time_for_changes"]["changes"] == 1
    assert report["lead_time_for_changes"]["median_hours"] == 24.0
    assert dora_report(session, Scope(), JANUARY)["lead_time_for_changes"]["changes"] == 0


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
def test_hours_from_microseconds_are_timedeltas_hours(delta: timedelta) -> None:
    assert hours(delta // MICROSECOND) == delta.total_seconds() / 3600


def test_sqlite_reads_the_changes_shipped_again_from_their_partial_index(session: Session) -> None:
    """SQLite, planning without statistics, took the primary key and read every change of a
    team's deployments to find the few shipped again (55 ms for a team's year, 4 by index)."""
    silver = Silver(session)
    payments = silver.team("payments")
    alice = silver.person("alice")
    silver.member(payments, "alice", "2023-01-01")
    repo = silver.repo("mono")
    c1 = silver.commit(repo, "c1", "2024-01-03T00:00", author=alice)
    silver.deploy(repo, "D1", "2024-01-05T00:00", commits=[c1])
    refresh_gold(session)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "production_first = 0" in statement or "production_first = false" in statement:
            captured.append((statement, parameters))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", capture)
    try:
        dora_report(session, Scope(team="payments"), JANUARY)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    [(statement, parameters)] = captured
    if session.get_bind().dialect.name != "sqlite":
        assert "INDEXED BY" not in statement
        return
    plan = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    assert "USING INDEX ix_gold_change_shipped_again" in " ".join(row[-1] for row in plan)


def test_indexed_by_is_said_to_sqlite_alone() -> None:
    alias = aliased(GoldChange, IndexedBy.of(GoldChange.__table__, "ix_gold_change_hotfix"))
    query = select(alias.change_id).where(alias.deployment_id == "d")
    assert "AS gold_change_1 INDEXED BY ix_gold_change_hotfix" in str(
        query.compile(dialect=sqlite.dialect())
    )
    assert "INDEXED BY" not in str(query.compile(dialect=postgresql.dialect()))
