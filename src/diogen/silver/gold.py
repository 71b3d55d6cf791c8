"""Gold tables derived from silver per repository, and the change log that says what is stale.

- `gold_pull_request_commit`: the commit ↔ pull request matching of each repository (the rows
  `metrics.matching.pull_request_commits` computes from silver).
- `gold_change`: every change (a pull request, or a commit no pull request claims) with each
  successful deployment that shipped it, and the facts lead time needs. A report reads the
  changes of its deployments here by index instead of matching and aggregating silver.
- `gold_deployment_author`: per deployment and author, when the commits it shipped were
  written: a team scope's deployments, found from its members.

Every write of a silver row these read appends the written key to `gold_change_log`, through
database triggers (`silver.gold_triggers`). A repository with log rows is stale: reports
compute its part from silver until `metrics.gold.refresh_gold` has recomputed the logged keys
and deleted their rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    column,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from diogen.ids import ID_LENGTH
from diogen.silver.base import Base, ref

COMMIT = "commit"
PULL_REQUEST = "pull_request"
DEPLOYMENT = "deployment"
# Logged by hand (`metrics.gold.mark_stale`, `log_new_whole`), never by a trigger: rebuild the
# whole repository.
REPOSITORY = "repository"
WHOLE_CONDITION = f"kind = '{REPOSITORY}'"


class GoldPullRequestCommit(Base):
    """A commit of a pull request: listed, its merge (or squash) commit, or a rebased copy."""

    __tablename__ = "gold_pull_request_commit"
    __table_args__ = (Index("ix_gold_pull_request_commit_commit_id", "commit_id"),)
    pull_request_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("pull_request.id", ondelete="CASCADE"), primary_key=True
    )
    commit_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("git_commit.id", ondelete="CASCADE"), primary_key=True
    )
    repository_id: Mapped[str] = ref("repository.id", nullable=False)


# The conditions of the partial indexes, written as the report's queries write them: SQLite
# uses a partial index only for a query that repeats its condition's terms.
_FIRST_PRODUCTION = column("production_first") == true()
_SHIPPED_AGAIN = column("production_first") == false()
_NO_MERGE = column("is_merge").is_(False)
_HOTFIX = column("hotfix") == true()


SHIPPED_AGAIN_INDEX = "ix_gold_change_shipped_again"


def _partial(*conditions: ColumnElement[bool]) -> dict[str, Any]:
    where = and_(*conditions)
    return {"sqlite_where": where, "postgresql_where": where}


class GoldChange(Base):
    """A change and a successful deployment that shipped it (for a pull request: shipped one of
    its commits), with what lead time needs of both.

    `change_id` is a pull request id or a commit id (`kind`); commits that belong to a pull
    request have no rows of their own. `author_at` is when membership is judged in a team
    scope: a commit's authored time, a pull request's creation. On SQLite the table is
    clustered by deployment, so a report reads each deployment's changes in one range.
    """

    __tablename__ = "gold_change"
    __table_args__ = (
        Index("ix_gold_change_change_id", "change_id"),
        Index("ix_gold_change_repository_id", "repository_id"),
        # What a report reads of its deployments' changes (`gold_lead_times`), in the index
        # alone: the changes first shipped there, and the few shipped there again.
        Index(
            "ix_gold_change_first_production",
            *("deployment_id", "author_identity_id", "author_at", "kind"),
            *("lead_time_us", "coding_us", "pickup_us", "review_us", "deploy_us"),
            # SQLite reads a partial index alone only if it holds its conditions' columns.
            *("production_first", "is_merge"),
            **_partial(_FIRST_PRODUCTION, _NO_MERGE),
        ),
        Index(
            SHIPPED_AGAIN_INDEX,
            *("deployment_id", "author_identity_id", "author_at", "change_id"),
            **_partial(_SHIPPED_AGAIN, _NO_MERGE),
        ),
        Index("ix_gold_change_hotfix", "deployment_id", **_partial(_HOTFIX)),
        {"sqlite_with_rowid": False},
    )
    deployment_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("deployment.id", ondelete="CASCADE"), primary_key=True
    )
    change_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    repository_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("repository.id", ondelete="CASCADE")
    )
    environment: Mapped[str] = mapped_column(String(255))
    deployed_at: Mapped[datetime]
    sha: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[int | None] = mapped_column(Integer)
    author_identity_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    author_at: Mapped[datetime]
    # A pull request with no known commit but merges has none.
    first_commit_at: Mapped[datetime | None]
    is_merge: Mapped[bool] = mapped_column(Boolean)
    ready_for_review_at: Mapped[datetime | None]
    first_review_at: Mapped[datetime | None]
    merged_at: Mapped[datetime | None]
    # What the hotfix rule reads of a pull request.
    head_ref: Mapped[str | None] = mapped_column(String(1000))
    labels: Mapped[list[str] | None]
    # The environments in which the change shipped before this deployment finished (none:
    # NULL). A report looks for an earlier production deployment only where one can be.
    earlier_environments: Mapped[list[str] | None]
    # Precomputed for the default rules (production environment and hotfix patterns), by
    # `metrics.gold_shipments`: whether this is the change's first successful production
    # deployment (ties: the smaller deployment id), and on that row only its lead time and,
    # for a pull request, its stages, in microseconds (exact, as Python's timedeltas give
    # them); whether a pull request is marked as a hotfix. A report with the default rules
    # then reads one narrow row per change instead of judging every row in Python.
    production_first: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lead_time_us: Mapped[int | None] = mapped_column(BigInteger)
    coding_us: Mapped[int | None] = mapped_column(BigInteger)
    pickup_us: Mapped[int | None] = mapped_column(BigInteger)
    review_us: Mapped[int | None] = mapped_column(BigInteger)
    deploy_us: Mapped[int | None] = mapped_column(BigInteger)
    hotfix: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class GoldDeploymentAuthor(Base):
    """Who wrote what a successful deployment shipped: per author identity, the first and last
    authored times among its deployed commits. A team scope finds the deployments that
    shipped a member's change from its members' rows here (`metrics.team_gold`)."""

    __tablename__ = "gold_deployment_author"
    __table_args__ = (
        # Covering: a team's rows over its whole history, read from the index alone.
        Index(
            "ix_gold_deployment_author_author_identity_id",
            *("author_identity_id", "deployment_id", "first_at", "last_at"),
        ),
        Index("ix_gold_deployment_author_repository_id", "repository_id"),
        {"sqlite_with_rowid": False},
    )
    deployment_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("deployment.id", ondelete="CASCADE"), primary_key=True
    )
    author_identity_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    repository_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("repository.id", ondelete="CASCADE")
    )
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class GoldChangeLog(Base):
    """A key written since gold was last refreshed: (repository, kind, id of the row)."""

    __tablename__ = "gold_change_log"
    __table_args__ = (
        Index("ix_gold_change_log_repository_id", "repository_id"),
        # What SQLite's triggers look up before logging a key: is its repository logged
        # whole? An index of the whole log would have them walk every key of a bulk write.
        Index(
            "ix_gold_change_log_whole",
            "repository_id",
            sqlite_where=text(WHOLE_CONDITION),
            postgresql_where=text(WHOLE_CONDITION),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repository_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(ID_LENGTH))
