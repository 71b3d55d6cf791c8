"""Generic events (`diogen.ingest.events`): deployments and incidents pushed by any tool.

Each test runs on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_metrics_support import Silver, engine_for, utc

from diogen.errors import InputError
from diogen.ids import stable_id
from diogen.ingest.event_schema import MAX_EVENTS
from diogen.ingest.events import ingest_events
from diogen.ingest.models import QuarantinedRecord, RawRecord
from diogen.metrics import Scope, Window, dora_report
from diogen.metrics.gold import refresh_gold
from diogen.silver import Deployment, DeploymentCommit, Incident, Service
from diogen.testing.gold_check import gold_agrees_in

NOW = utc("2024-02-01")
JANUARY = Window(utc("2024-01-01"), utc("2024-01-29"))


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = engine_for(database_url)
    with Session(engine) as session:
        silver = Silver(session)
        repo = silver.repo("api")
        silver.commit(repo, "aaaa1111", "2024-01-02T00:00")
        silver.commit(repo, "bbbb2222", "2024-01-05T00:00")
        yield session
    engine.dispose()


def deployment(event_id: str, sha: str, finished: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "deployment",
        "id": event_id,
        "repository": "api",
        "service": "api-svc",
        "sha": sha,
        "finished_at": finished,
        **extra,
    }


EVENTS = [
    deployment("ci-1", "aaaa1111", "2024-01-03T00:00:00Z"),
    deployment("ci-2", "BBBB2222", "2024-01-06T00:00:00+02:00"),
    {
        "type": "incident",
        "id": "pd-1",
        "title": "checkout down",
        "service": "api-svc",
        "started_at": "2024-01-06T01:00:00Z",
        "resolved_at": "2024-01-06T04:00:00Z",
    },
]


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_events_become_deployments_and_incidents(session: Session) -> None:
    result = ingest_events(session, "ci", EVENTS, NOW)
    assert result.to_json() == {"accepted": 3, "rejected": []}

    ci2 = session.get(Deployment, stable_id("ingest:ci", "deployment", "ci-2"))
    assert ci2 is not None and ci2.sha == "bbbb2222" and ci2.source == "ingest:ci"
    assert ci2.finished_at == utc("2024-01-05T22:00")  # +02:00 stored as UTC
    # Deployed commits are linked by ancestry as for any other deployment source.
    assert count(session, DeploymentCommit) == 2
    assert count(session, Service) == 1

    report = dora_report(session, Scope(repo="api"), JANUARY)
    # Lead times 24 h (aaaa1111) and 22 h (bbbb2222); the incident, 3 h after ci-2 of the same
    # service, is attributed to it: 1 of 2 failed; recovered when it was resolved 6 h later.
    assert report["deployment_frequency"]["deployments"] == 2
    assert report["lead_time_for_changes"]["median_hours"] == 23.0
    assert report["change_failure_rate"]["rate"] == 0.5
    assert report["failed_deployment_recovery_time"]["median_hours"] == 6.0


def test_reports_after_events_serve_silvers_numbers(session: Session) -> None:
    """Events write deployments and incidents, which gold does not store: gold refreshed
    before them stays fresh and the reports still equal silver's."""
    refresh_gold(session)
    ingest_events(session, "ci", EVENTS, NOW)
    agrees, known = gold_agrees_in(session)
    assert agrees and known.fresh and not known.stale


def test_sending_the_same_events_twice_changes_nothing(session: Session) -> None:
    ingest_events(session, "ci", EVENTS, NOW)
    before = [count(session, m) for m in (RawRecord, Deployment, Incident, DeploymentCommit)]
    again = ingest_events(session, "ci", EVENTS, utc("2024-02-02"))
    assert again.accepted == 3
    assert [
        count(session, m) for m in (RawRecord, Deployment, Incident, DeploymentCommit)
    ] == before


def test_bad_events_are_quarantined_and_the_rest_go_in(session: Session) -> None:
    events = [
        deployment("ok", "aaaa1111", "2024-01-03T00:00:00Z"),
        deployment("naive", "aaaa1111", "2024-01-03T00:00:00"),  # no time zone
        deployment("nowhere", "aaaa1111", "2024-01-03T00:00:00Z", repository="nope"),
        deployment("fix", "bbbb2222", "2024-01-04T00:00:00Z", fixes="never-sent"),
        {"type": "incident", "id": "i", "started_at": "2024-01-05T00:00:00Z", "deployment": "x"},
        {"type": "release", "id": "r"},
        ["not", "an", "object"],
    ]
    result = ingest_events(session, "ci", events, NOW)

    assert result.accepted == 1
    errors = {row["id"]: row["error"] for row in result.rejected}
    assert errors["naive"].startswith("invalid event: deployment.finished_at: Input should")
    assert errors["nowhere"] == "unknown repository 'nope': sync it before sending its events"
    assert errors["fix"] == "unknown fixed deployment 'never-sent' from this source"
    assert errors["i"] == "unknown linked deployment 'x' from this source"
    assert "does not match any of the expected tags" in errors["r"]
    assert errors["#6"].startswith("invalid event")
    # Everything is in bronze as received; the rejects are in quarantine with their reason.
    assert count(session, RawRecord) == 7
    assert count(session, QuarantinedRecord) == 6
    assert count(session, Deployment) == 1 and count(session, Incident) == 0
    # The rejected deployment named a service too; nothing of it was written.
    assert count(session, Service) == 1


def test_a_verdict_given_since_is_kept(session: Session) -> None:
    ingest_events(session, "ci", EVENTS[:1], NOW)
    stored = session.get(Deployment, stable_id("ingest:ci", "deployment", "ci-1"))
    assert stored is not None
    stored.marked_failed = True  # a person, through the API
    session.flush()
    ingest_events(session, "ci", EVENTS[:1], NOW)
    session.refresh(stored)
    assert stored.marked_failed is True
    ingest_events(session, "ci", [{**EVENTS[0], "failed": False}], NOW)
    session.refresh(stored)
    assert stored.marked_failed is False


def test_requests_that_cannot_be_taken(session: Session) -> None:
    with pytest.raises(InputError, match="between 1 and 1000 events"):
        ingest_events(session, "ci", [], NOW)
    with pytest.raises(InputError, match="between 1 and 1000 events"):
        ingest_events(session, "ci", [EVENTS[0]] * (MAX_EVENTS + 1), NOW)
    with pytest.raises(InputError, match="source name"):
        ingest_events(session, "../etc", EVENTS, NOW)


def test_command_line(database_url: str, tmp_path: Any) -> None:
    import json

    from typer.testing import CliRunner

    import diogen.cli.ingest  # noqa: F401 - registers `ingest`
    from diogen.cli.app import app
    from diogen.db import make_engine
    from diogen.migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        Silver(session).repo("api")
        session.commit()
    engine.dispose()
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join(json.dumps(e) for e in [*EVENTS[:1], {"type": "x"}]) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "ci", str(lines), "--database", database_url])
    # One stored, one rejected: exit 1, and each rejection on its own line.
    assert result.exit_code == 1
    assert "rejected event 1 (#1): invalid event" in result.stderr
    assert "1 events stored, 1 rejected (kept in quarantine)" in result.stderr
    array = tmp_path / "events.json"
    array.write_text(json.dumps({"events": EVENTS[:1]}))
    ok = runner.invoke(app, ["ingest", "ci", str(array), "--database", database_url])
    assert ok.exit_code == 0, ok.output
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    bad = runner.invoke(app, ["ingest", "ci", str(broken), "--database", database_url])
    assert isinstance(bad.exception, InputError) and "is not JSON" in str(bad.exception)


def test_command_line_bumps_the_data_version(database_url: str, tmp_path: Any) -> None:
    """The API's cached reports are keyed by the data version: `diogen ingest` changes it in
    the transaction that stores the events, so no report stays stale."""
    import json

    from typer.testing import CliRunner

    import diogen.cli.ingest  # noqa: F401 - registers `ingest`
    from diogen.accounts.audit import DATA_VERSION
    from diogen.accounts.models import AppState
    from diogen.cli.app import app
    from diogen.db import make_engine
    from diogen.migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)

    def version() -> int | None:
        with Session(engine) as session:
            return session.scalar(select(AppState.int_value).where(AppState.name == DATA_VERSION))

    try:
        with Session(engine) as session:
            Silver(session).repo("api")
            session.commit()
        before = version()
        events = tmp_path / "events.json"
        events.write_text(json.dumps({"events": EVENTS[:1]}))
        result = CliRunner().invoke(app, ["ingest", "ci", str(events), "--database", database_url])
        assert result.exit_code == 0, result.output
        after = version()
        assert after is not None and after != before
    finally:
        engine.dispose()
