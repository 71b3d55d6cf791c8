"""Deployments derived from silver: release tags as deployments, and deployed commits by ancestry.

DESIGN.md §5: a commit is deployed by the first deployment (in time) that contains it. Walking
deployments in time order and stopping at commits already claimed gives exactly that, and for
a linear history it equals "reachable from this deployment and not from the previous one".
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from diogen.db import upsert
from diogen.ids import id_maker, stable_id
from diogen.silver.base import table_of
from diogen.silver.code import Commit, GitRef
from diogen.silver.delivery import Deployment, DeploymentCommit
from diogen.silver.history import ancestry, tip_list

TAG_SOURCE = "git-tag"
PRODUCTION = "production"


def sync_release_deployments(session: Session, repository_id: str, pattern: str) -> dict[str, int]:
    """Make the repository's tag deployments match its tags that fit `pattern`.

    A release is deployed at its tag's time: the tagger date of an annotated tag, the
    committer date of the commit for a lightweight one. Several release tags on one commit
    (v2.1 and v2.1.0) are one release, at the earliest of their times. A person's verdict on
    a deployment (marked failed, linked fix) is kept across syncs.
    """
    release = re.compile(pattern)
    rows = session.execute(
        select(GitRef.name, GitRef.commit_sha, GitRef.tagged_at, Commit.committed_at)
        .outerjoin(
            Commit,
            (Commit.repository_id == GitRef.repository_id) & (Commit.sha == GitRef.commit_sha),
        )
        .where(GitRef.repository_id == repository_id, GitRef.kind == "tag")
    ).all()
    releases = [row for row in rows if release.search(row.name)]
    # A lightweight tag on a commit we do not have (beyond a shallow clone) has no time.
    dated = [(row.tagged_at or row.committed_at, row.name, row.commit_sha) for row in releases]
    first_by_sha: dict[str, tuple[datetime, str]] = {}
    for when, name, sha in sorted(d for d in dated if d[0] is not None):
        first_by_sha.setdefault(sha, (when, name))
    wanted = [
        _tag_deployment(repository_id, name, sha, when)
        for sha, (when, name) in first_by_sha.items()
    ]
    _remove_other_tag_deployments(session, repository_id, {row["id"] for row in wanted})
    upsert(session, table_of(Deployment), wanted, update=TAG_DERIVED)
    return {
        "releases": len(wanted),
        "release_tags_on_released_commits": len(dated)
        - len(wanted)
        - sum(d[0] is None for d in dated),
        "release_tags_without_time": sum(d[0] is None for d in dated),
    }


# What a tag decides about its deployment; everything else is a person's or a rule's to set.
TAG_DERIVED = ("sha", "ref_name", "started_at", "finished_at", "environment", "status")


def _remove_other_tag_deployments(session: Session, repository_id: str, keep: set[str]) -> None:
    existing = session.scalars(
        select(Deployment.id).where(
            Deployment.repository_id == repository_id, Deployment.source == TAG_SOURCE
        )
    ).all()
    stale = [dep for dep in existing if dep not in keep]
    if stale:
        session.execute(delete(DeploymentCommit).where(DeploymentCommit.deployment_id.in_(stale)))
        session.execute(delete(Deployment).where(Deployment.id.in_(stale)))


def _tag_deployment(repository_id: str, tag: str, sha: str, when: datetime) -> dict[str, Any]:
    external_id = f"{repository_id}:{sha}"
    return {
        "id": stable_id(TAG_SOURCE, "deployment", external_id),
        "source": TAG_SOURCE,
        "external_id": external_id,
        "url": None,
        "repository_id": repository_id,
        "service_id": None,
        "environment": PRODUCTION,
        "sha": sha,
        "ref_name": tag,
        "status": "success",
        "started_at": when,
        "finished_at": when,
        "is_rollback": False,
        "marked_failed": None,
        "fixes_deployment_id": None,
    }


def link_deployed_commits(session: Session, repository_id: str) -> dict[str, int]:
    """Recompute which deployment first shipped each commit; write only the difference.

    The walks run in the database, into a temporary table of claims, so that no history is
    loaded into memory: each deployment, in time order, claims the commits its sha reaches
    that no earlier deployment to its environment claimed (the walk stops at those: what
    they reach was claimed with them).
    """
    dialect = session.get_bind().dialect.name
    session.execute(text(CLAIMS_TABLE[dialect]))
    walk = ancestry(dialect, tip_list(dialect, "tip"), CLAIMED.format(sha="parent.value"))
    unclaimed = f"NOT {CLAIMED.format(sha='walk.sha')}"
    claim = text(
        f"{walk} INSERT INTO deployment_claim (environment, sha, deployment_id) "
        f"SELECT :environment, sha, :deployment FROM walk WHERE {unclaimed}"
    )
    for environment, deployments in _successful_by_environment(session, repository_id).items():
        for deployment_id, sha in deployments:
            params = {"repo": repository_id, "tip": json.dumps([sha]), "environment": environment}
            session.execute(claim, {**params, "deployment": deployment_id})
    # Walks end at shas not stored (beyond a shallow clone, or never fetched): no commit.
    session.execute(
        text(
            "UPDATE deployment_claim SET commit_id = (SELECT c.id FROM git_commit c WHERE "
            "c.repository_id = :repo AND c.sha = deployment_claim.sha)"
        ),
        {"repo": repository_id},
    )
    session.execute(text("DELETE FROM deployment_claim WHERE commit_id IS NULL"))
    session.execute(text(CLAIMS_INDEX))
    removed = session.execute(
        text(
            "DELETE FROM deployment_commit WHERE deployment_id IN "
            "(SELECT id FROM deployment WHERE repository_id = :repo) AND NOT EXISTS "
            "(SELECT 1 FROM deployment_claim k WHERE k.deployment_id = "
            "deployment_commit.deployment_id AND k.commit_id = deployment_commit.commit_id)"
        ),
        {"repo": repository_id},
    )
    added = _add_claimed_links(session)
    deployed = session.scalar(text("SELECT count(*) FROM deployment_claim"))
    session.execute(text("DROP TABLE deployment_claim"))
    return {
        "deployed_commits": int(deployed or 0),
        "links_added": added,
        "links_removed": int(removed.rowcount or 0),  # type: ignore[attr-defined]
    }


# Per connection and transaction; dropped again before the transaction ends.
CLAIMS_TABLE = {
    dialect: "CREATE TEMPORARY TABLE deployment_claim (environment VARCHAR(255) NOT NULL, "
    "sha VARCHAR(64) NOT NULL, deployment_id VARCHAR(32) NOT NULL, commit_id VARCHAR(32), "
    f"PRIMARY KEY (environment, sha)){suffix}"
    for dialect, suffix in (("sqlite", ""), ("postgresql", " ON COMMIT DROP"))
}
# Made once the claims are complete: comparing them with the stored links needs it.
CLAIMS_INDEX = "CREATE INDEX deployment_claim_link ON deployment_claim (deployment_id, commit_id)"
CLAIMED = (
    "EXISTS (SELECT 1 FROM deployment_claim k WHERE k.environment = :environment AND k.sha = {sha})"
)
LINK_PAGE = 2000
link_id = id_maker("silver", "deployment_commit")


def _add_claimed_links(session: Session) -> int:
    """Store the claims not stored yet, a page at a time (in key order, so that what is
    written does not change what the next page reads); how many."""
    page = text(
        "SELECT deployment_id, commit_id FROM deployment_claim k "
        "WHERE (deployment_id > :d OR (deployment_id = :d AND commit_id > :c)) "
        "AND NOT EXISTS (SELECT 1 FROM deployment_commit dc WHERE "
        "dc.deployment_id = k.deployment_id AND dc.commit_id = k.commit_id) "
        "ORDER BY deployment_id, commit_id LIMIT :limit"
    )
    added, after = 0, ("", "")
    while links := session.execute(page, {"d": after[0], "c": after[1], "limit": LINK_PAGE}).all():
        rows = [{"id": link_id(d, c), "deployment_id": d, "commit_id": c} for d, c in links]
        upsert(session, table_of(DeploymentCommit), rows, update=())
        added += len(rows)
        after = links[-1]
    return added


def _successful_by_environment(
    session: Session, repository_id: str
) -> dict[str, list[tuple[str, str]]]:
    rows = session.execute(
        select(Deployment.environment, Deployment.id, Deployment.sha)
        .where(
            Deployment.repository_id == repository_id,
            Deployment.status == "success",
            Deployment.finished_at.is_not(None),
        )
        .order_by(Deployment.finished_at, Deployment.id)
    )
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for environment, deployment_id, sha in rows:
        grouped[environment].append((deployment_id, sha))
    return grouped
