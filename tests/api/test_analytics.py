"""Analytics answer exactly what `diogen.metrics` computes, and the cache follows the data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from api_support import World, seed
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from diogen.api.access import Principal
from diogen.api.middleware import etag_of
from diogen.api.routes.scopes import analytics_scope
from diogen.errors import NotFoundError
from diogen.ids import stable_id
from diogen.metrics import Scope, data_quality, dora_report, make_window
from diogen.silver import Commit, DeploymentCommit, PullRequest

V = "/api/v1"
WINDOW = "from=2024-02-01&to=2024-03-02"


def _report(world: World, repo: str, **options: Any) -> dict[str, Any]:
    """The CLI's report; a member's reports are confined to their organisation."""
    window = make_window("2024-02-01", "2024-03-02")
    with Session(world.engine) as session:
        return dora_report(session, Scope(org="alpha", repo=repo), window, **options)


def _shipped(world: World) -> Any:
    """Rows of alpha whose deployment (2024-02-29 12:00) shipped a commit of 02-27 12:00."""
    with world.session() as session:
        rows = seed(session, world.org_ids["alpha"])
        session.add(
            DeploymentCommit(
                id=stable_id("test", "deployment_commit", rows.deployment),
                deployment_id=rows.deployment,
                commit_id=rows.commit,
            )
        )
    return rows


def test_dora_is_the_metrics_document(world: World) -> None:
    rows = _shipped(world)
    url = f"{V}/analytics/dora?repo={rows.repo_name}&{WINDOW}"

    plain = world.get("alpha:viewer", url)
    detailed = world.get("alpha:viewer", f"{url}&bucket=week&explain=true&benchmarks=2024")

    assert plain.status_code == 200
    assert plain.json() == _report(world, rows.repo_name)
    # Hand-computed: one deployment, one change of 48 hours.
    assert plain.json()["deployment_frequency"]["deployments"] == 1
    assert plain.json()["lead_time_for_changes"]["median_hours"] == 48.0
    assert detailed.json() == _report(
        world, rows.repo_name, bucket="week", explain=True, benchmarks="2024"
    )


def test_parts_of_the_evidence_are_cut_from_the_whole_report(world: World) -> None:
    rows = _shipped(world)
    with world.session() as session:
        # The other commit, shipped too, merges a pull request: changes of both kinds.
        merge = session.scalars(
            select(Commit).where(Commit.repository_id == rows.repo, Commit.id != rows.commit)
        ).one()
        session.add_all(
            [
                DeploymentCommit(
                    id=stable_id("test", "deployment_commit", merge.id),
                    deployment_id=rows.deployment,
                    commit_id=merge.id,
                ),
                PullRequest(
                    id=stable_id("test", "pull_request", merge.id),
                    repository_id=rows.repo,
                    number=7,
                    state="merged",
                    created_at=merge.authored_at - timedelta(hours=5),
                    merged_at=merge.committed_at,
                    merge_commit_sha=merge.sha,
                    source="test",
                    external_id=merge.sha,
                ),
            ]
        )
    url = f"{V}/analytics/dora?repo={rows.repo_name}&{WINDOW}"

    # Parts first: the whole report is computed for them, then answered from the cache.
    pulls = world.get("alpha:viewer", f"{url}&evidence=pull_requests").json()
    parts = world.get("alpha:viewer", f"{url}&evidence=incidents,deployments").json()
    whole = world.get("alpha:viewer", f"{url}&explain=true").json()
    unknown = world.get("alpha:viewer", f"{url}&evidence=commits")

    assert whole == _report(world, rows.repo_name, explain=True)
    evidence = whole["evidence"]
    assert {c["kind"] for c in evidence["changes"]} == {"commit", "pull_request"}
    environments = {"production_environments": evidence["production_environments"]}
    shipped = [c for c in evidence["changes"] if c["kind"] == "pull_request"]
    assert pulls == {**whole, "evidence": {**environments, "changes": shipped}}
    kept = {name: evidence[name] for name in ("deployments", "incidents")}
    assert parts == {**whole, "evidence": {**environments, **kept}}
    assert unknown.status_code == 422


def test_bad_parameters_are_400_or_422(world: World) -> None:
    rows = _shipped(world)
    base = f"{V}/analytics/dora?repo={rows.repo_name}"
    for query, status in [
        ("&from=yesterday", 400),
        ("&from=2024-03-01&to=2024-02-01", 400),
        ("&to=99999-01-01", 400),
        ("&bucket=year", 422),
        ("&benchmarks=1999", 422),
    ]:
        response = world.get("alpha:viewer", base + query)
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_a_write_invalidates_the_cached_report(world: World) -> None:
    rows = _shipped(world)
    url = f"{V}/analytics/dora?repo={rows.repo_name}&{WINDOW}"
    before = world.get("alpha:viewer", url).json()
    cached = world.get("alpha:viewer", url)

    world.client.patch(
        f"{V}/deployments/{rows.deployment}",
        json={"marked_failed": True},
        headers=world.headers("alpha:maintainer"),
    )
    after = world.get("alpha:viewer", url).json()

    assert cached.json() == before
    assert before["change_failure_rate"]["failed"] == 0
    assert after["change_failure_rate"]["failed"] == 1
    assert after == _report(world, rows.repo_name)


def test_a_cached_report_is_sent_as_stored_with_the_etag_of_its_bytes(world: World) -> None:
    rows = _shipped(world)
    url = f"{V}/analytics/dora?repo={rows.repo_name}&{WINDOW}"
    computed = world.get("alpha:viewer", url)
    from_cache = world.get("alpha:viewer", url)
    etag = computed.headers["etag"]
    unchanged = world.get("alpha:viewer", url, headers={"If-None-Match": f'W/"x", {etag}'})
    other = world.get("alpha:viewer", url, headers={"If-None-Match": '"another"'})

    assert from_cache.content == computed.content and from_cache.headers["etag"] == etag
    assert etag == etag_of(computed.content)
    assert computed.headers["content-length"] == str(len(computed.content))
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag and "content-type" not in unchanged.headers
    assert other.status_code == 200 and other.content == computed.content


def test_data_quality_is_the_metrics_document(world: World) -> None:
    rows = _shipped(world)
    response = world.get("alpha:viewer", f"{V}/analytics/data-quality?repo={rows.repo_name}")
    with Session(world.engine) as session:
        expected = data_quality(
            session,
            Scope(org="alpha", repo=rows.repo_name),
            release_pattern=world.state.settings.effective_release_pattern,
        )

    assert response.status_code == 200
    assert response.json() == expected


def test_members_see_only_their_organisation(world: World) -> None:
    mine = _shipped(world)
    with world.session() as session:
        theirs = seed(session, world.org_ids["beta"])

    other = world.get("alpha:viewer", f"{V}/analytics/dora?repo={theirs.repo_name}")
    unknown_org = world.get("alpha:viewer", f"{V}/analytics/dora?org=beta")
    own = world.get("alpha:viewer", f"{V}/analytics/dora?repo={mine.repo_name}")

    assert other.status_code == 404
    assert unknown_org.status_code == 404
    assert own.status_code == 200


def test_a_members_organisation_gone_is_a_404_never_every_organisation(world: World) -> None:
    # The principal was read with a role in an organisation deleted since (a concurrent
    # delete): its reports must not widen to every organisation.
    principal = Principal(user_id="u", email="u@example.com", roles={"gone": "viewer"})
    with world.session() as session, pytest.raises(NotFoundError):
        analytics_scope(session, principal)


def test_a_warm_report_of_ones_organisation_is_two_statements(world: World) -> None:
    """The principal's query names its organisations: a warm report of the member's own
    organisation reads the principal and the data version, nothing else."""
    url = f"{V}/analytics/dora?from=2024-01-01&to=2024-04-01"
    world.get("alpha:viewer", url)  # computed and cached
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(world.state.reader, "before_cursor_execute", seen)
    try:
        warm = world.get("alpha:viewer", url)
        named = world.get("alpha:viewer", f"{url}&org=alpha")
    finally:
        event.remove(world.state.reader, "before_cursor_execute", seen)

    assert warm.status_code == 200 and named.content == warm.content
    assert warm.json()["scope"] == {"org": "alpha"}
    assert len(statements) == 4, statements
    assert all("role_grant" in s and "organization" in s for s in statements[::2])


def test_a_renamed_organisation_is_reported_under_its_new_name_at_once(world: World) -> None:
    url = f"{V}/analytics/dora?from=2024-01-01&to=2024-04-01"
    before = world.get("alpha:viewer", url).json()["scope"]
    renamed = world.client.patch(
        f"{V}/organizations/{world.org_ids['alpha']}",
        json={"name": "alpha-2"},
        headers=world.headers("alpha:admin"),
    )
    after = world.get("alpha:viewer", url).json()["scope"]
    old_name = world.get("alpha:viewer", f"{url}&org=alpha")

    assert renamed.status_code == 200
    assert (before, after) == ({"org": "alpha"}, {"org": "alpha-2"})
    assert old_name.status_code == 404
