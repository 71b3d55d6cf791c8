"""The DORA queries reshaped to grow with the window rather than the history answer as their
whole-history forms did, over a generated organisation, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from diogen.db import make_engine
from diogen.ids import stable_id
from diogen.metrics import Scope, Window, pull_queries, queries
from diogen.metrics.scope import (
    ResolvedScope,
    environment_pattern,
    production_environments,
    resolve_scope,
)
from diogen.silver import Deployment, DeploymentCommit
from diogen.testing.synthetic_org import END, generate_organization

SCALE = 0.002
WINDOW = Window(END - timedelta(days=180), END + timedelta(days=1))


def _first_deploy_over_history(
    session: Session, resolved: ResolvedScope, environments: tuple[str, ...], before: datetime
) -> dict[str, datetime]:
    """The former query: every commit of the history shipped more than once, the earliest."""
    query = (
        select(DeploymentCommit.commit_id, func.min(Deployment.finished_at))
        .join(Deployment, Deployment.id == DeploymentCommit.deployment_id)
        .where(
            resolved.deployment_filter(),
            Deployment.status == queries.SUCCESS,
            Deployment.environment.in_(environments),
            Deployment.finished_at < before,
        )
        .group_by(DeploymentCommit.commit_id)
        .having(func.count() > 1)
    )
    return {commit: first for commit, first in session.execute(query)}


def _second_environment(session: Session, hours: float) -> None:
    """Ship what a few production deployments shipped again in `production-eu`, `hours` later
    (earlier when negative): commits then have several production deployments."""
    table = Deployment.__table__
    shipped = session.execute(
        select(table)
        .where(table.c.environment == "production", table.c.finished_at >= WINDOW.start)
        .order_by(table.c.id)
        .limit(40)
    ).mappings()
    for row in list(shipped)[::4]:
        copy = dict(row)
        copy["id"] = stable_id("test", "deployment", row["id"], str(hours))
        copy["external_id"] = f"{row['external_id']}-eu{hours}"
        copy["environment"] = "production-eu"
        for column in ("started_at", "finished_at"):
            copy[column] = row[column] + timedelta(hours=hours)
        session.execute(table.insert().values(copy))
        links = session.scalars(
            select(DeploymentCommit.commit_id).where(DeploymentCommit.deployment_id == row["id"])
        )
        for commit in list(links):
            session.add(
                DeploymentCommit(
                    id=stable_id("test", "deployment_commit", copy["id"], commit),
                    deployment_id=copy["id"],
                    commit_id=commit,
                )
            )
    session.flush()


def _check_scope(session: Session, scope: Scope) -> None:
    resolved = resolve_scope(session, scope)
    environments = production_environments(session, resolved, environment_pattern("prod"))
    counted = queries.counted_ids(resolved, environments, WINDOW)
    deployed = {change.commit_id for change in queries.deployed_changes(session, resolved, counted)}
    assert deployed, "the window ships commits"
    history = _first_deploy_over_history(session, resolved, environments, WINDOW.end)
    window = queries.first_production_deploy(session, resolved, environments, WINDOW.end, counted)
    # The report looks up the changes of the scope among the deployed commits, nothing else.
    asked = {commit: window[commit] for commit in deployed if commit in window}
    assert asked == {commit: at for commit, at in history.items() if commit in deployed}
    assert asked, "some commits shipped twice (several production environments)"

    links = pull_queries.links(session, resolved, counted)
    ids = {link.pull_request_id for link in links}
    assert len(ids) > 3
    # The report resolves the counted deployments once as ids and matches commits once.
    resolved_ids = set(session.scalars(counted))
    assert set(session.scalars(queries.id_list(session, resolved_ids))) == resolved_ids
    shipped = pull_queries.shipped(session, resolved, queries.id_list(session, resolved_ids))
    assert set(pull_queries.links_of(shipped, resolved_ids)) == set(links)
    assert pull_queries.links_of(shipped, set()) == []
    whole = pull_queries.facts(session, resolved, ids, environments, WINDOW.end)
    chunked = pull_queries.facts(session, resolved, ids, environments, WINDOW.end, chunk=3)
    assert chunked == whole
    assert set(whole) == ids
    assert any(pr.first_review_at for pr in whole.values())
    assert all(pr.deployment_id for pr in whole.values())


def test_window_queries_match_the_history_forms(database_url: str) -> None:
    engine = make_engine(database_url)
    generate_organization(engine, SCALE, seed=0)
    with Session(engine) as session:
        _second_environment(session, 1.5)
        _second_environment(session, -30 * 24)
        for scope in (Scope(), Scope(team="payments")):
            _check_scope(session, scope)
    engine.dispose()


def test_an_id_list_binds_more_ids_than_sqlite_has_parameters(database_url: str) -> None:
    """One bound parameter whatever the count: a year of an organisation's deployments can
    pass SQLite's 32,766 bound parameters, which an expanded IN list would hit."""
    engine = make_engine(database_url)
    generate_organization(engine, SCALE, seed=0)
    with Session(engine) as session:
        known = set(session.scalars(select(Deployment.id)))
        unknown = {f"missing-{n}" for n in range(40_000)}
        wanted = queries.id_list(session, known | unknown)
        found = set(session.scalars(select(Deployment.id).where(Deployment.id.in_(wanted))))
        assert found == known
        assert set(session.scalars(queries.id_list(session, []))) == set()
    engine.dispose()
