"""Export any silver entity as flat rows a person can read: names instead of internal ids.

One mechanism serves every entity. Each table's own columns are exported in table order; each
foreign key is replaced by the natural columns of the row it points at (`repository_id` becomes
`repository`, `author_identity_id` becomes `author_name`, `author_email`, `author_login`), taken
from `NATURAL_KEYS`. Entities that belong to a repository only through a parent (a commit file
through its commit) get a `repository` column too, and can be filtered by it.

Rows are streamed (`yield_per`, a server-side cursor on PostgreSQL), so an export of millions of
rows never holds them all in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import JSON, Column, ColumnElement, FromClause, Select, Table, exists, select
from sqlalchemy.orm import Session

from diogen.errors import InputError, NotFoundError
from diogen.silver.base import Base
from diogen.silver.code import (
    Commit,
    CommitFile,
    GitRef,
    PullRequest,
    PullRequestCommit,
    PullRequestEvent,
    PullRequestReviewers,
    Repository,
    Review,
    ReviewComment,
    Service,
    ServiceRepository,
)
from diogen.silver.delivery import Deployment, DeploymentCommit, Incident, PipelineJob, PipelineRun
from diogen.silver.people import Identity, Organization, Person, Team, TeamMembership
from diogen.silver.work import (
    Issue,
    IssueStatusTransition,
    Sprint,
    SprintScopeChange,
    WorkLink,
)

# Rows fetched per round trip: large enough to amortise it, small enough to stay a few MB.
YIELD_PER = 1000


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)  # every silver model maps one plain table
    return table


@dataclass(frozen=True)
class _Entity:
    model: type[Base]
    # The foreign key whose row carries `repository_id`, for entities that belong to a
    # repository only through that parent.
    repository_via: str | None = None

    @property
    def table(self) -> Table:
        return _table(self.model)


ENTITIES: dict[str, _Entity] = {
    "organizations": _Entity(Organization),
    "teams": _Entity(Team),
    "team_memberships": _Entity(TeamMembership),
    "persons": _Entity(Person),
    "identities": _Entity(Identity),
    "repositories": _Entity(Repository),
    "services": _Entity(Service),
    "service_repositories": _Entity(ServiceRepository),
    "refs": _Entity(GitRef),
    "commits": _Entity(Commit),
    "commit_files": _Entity(CommitFile, repository_via="commit_id"),
    "pull_requests": _Entity(PullRequest),
    "pull_request_commits": _Entity(PullRequestCommit, repository_via="pull_request_id"),
    "pull_request_events": _Entity(PullRequestEvent, repository_via="pull_request_id"),
    "pull_request_reviewers": _Entity(PullRequestReviewers, repository_via="pull_request_id"),
    "reviews": _Entity(Review, repository_via="pull_request_id"),
    "review_comments": _Entity(ReviewComment, repository_via="pull_request_id"),
    "pipeline_runs": _Entity(PipelineRun),
    "pipeline_jobs": _Entity(PipelineJob, repository_via="pipeline_run_id"),
    "deployments": _Entity(Deployment),
    # Through the commit, not the deployment: a commit always has a repository.
    "deployment_commits": _Entity(DeploymentCommit, repository_via="commit_id"),
    "incidents": _Entity(Incident),
    "issues": _Entity(Issue),
    "issue_status_transitions": _Entity(IssueStatusTransition),
    "sprints": _Entity(Sprint),
    "sprint_scope_changes": _Entity(SprintScopeChange),
    "work_links": _Entity(WorkLink),
}

ENTITY_NAMES: tuple[str, ...] = tuple(ENTITIES)


# How a referenced row is named for a person: (label suffix, column of the referenced model).
# The label is "<reference>_<suffix>", or just "<reference>" for an empty suffix; the reference
# is the foreign-key column without "_id"/"_identity_id" ("author_identity_id" -> "author").
# Where no natural column identifies the row, its id is kept so exports can still be joined.
NATURAL_KEYS: dict[type[Base], tuple[tuple[str, str], ...]] = {
    Organization: (("", "name"),),
    Team: (("", "name"),),
    Person: (("id", "id"), ("name", "display_name"), ("email", "primary_email")),
    Identity: (("name", "name"), ("email", "email"), ("login", "login")),
    Repository: (("", "name"),),
    Service: (("", "name"),),
    Commit: (("sha", "sha"),),
    PullRequest: (("number", "number"),),
    Review: (("id", "id"), ("external_id", "external_id")),
    PipelineRun: (("id", "id"), ("external_id", "external_id"), ("name", "name")),
    Deployment: (
        ("id", "id"),
        ("environment", "environment"),
        ("ref_name", "ref_name"),
        ("external_id", "external_id"),
    ),
    Issue: (("key", "key"),),
    Sprint: (("id", "id"), ("", "name")),
}
# The same by table, which is what a foreign key knows.
_NATURAL_KEYS_BY_TABLE = {_table(model): keys for model, keys in NATURAL_KEYS.items()}


@dataclass(frozen=True)
class EntityExport:
    """One entity's rows, ready to stream; `columns` names the values of every row, in order."""

    entity: str
    columns: tuple[str, ...]
    json_columns: frozenset[str]
    _session: Session
    _statement: Select[Any]

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The rows, fetched `YIELD_PER` at a time, ordered by id so every export is repeatable."""
        result = self._session.execute(self._statement, execution_options={"yield_per": YIELD_PER})
        try:
            for row in result:
                yield tuple(row)
        finally:
            result.close()


def open_export(session: Session, entity: str, *, repo: str | None = None) -> EntityExport:
    """Prepare the export of `entity` (one of `ENTITY_NAMES`), limited to repository `repo`.

    Checks everything before any row is read, so a caller can fail before writing anything:
    an unknown entity, or `repo` for an entity unrelated to repositories, is an `InputError`;
    an unknown repository a `NotFoundError`.
    """
    definition = _entity(entity)
    statement, parents = _select(definition)
    if repo is not None:
        repository_ids = select(Repository.id).where(Repository.name == repo)
        condition = _repository_condition(definition, parents, repository_ids)
        if condition is None:
            raise InputError(
                f"{entity} do not belong to a repository: --repo cannot filter them",
                entity=entity,
                repo=repo,
            )
        if session.execute(repository_ids.limit(1)).first() is None:
            raise NotFoundError(f"no repository named {repo!r}", repo=repo)
        statement = statement.where(condition)
    return EntityExport(
        entity=entity,
        columns=tuple(statement.selected_columns.keys()),
        json_columns=frozenset(
            key for key, column in statement.selected_columns.items() if _is_json(column)
        ),
        _session=session,
        _statement=statement,
    )


def _entity(name: str) -> _Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise InputError(
            f"unknown entity {name!r}; choose one of: {', '.join(ENTITY_NAMES)}", entity=name
        ) from None


def _select(entity: _Entity) -> tuple[Select[Any], dict[str, FromClause]]:
    """The entity's query, and the joined parent row of each foreign key by column name."""
    table = entity.table
    source: FromClause = table
    columns: list[ColumnElement[Any]] = []
    parents: dict[str, FromClause] = {}
    own = {column.name for column in table.columns if _referenced_table(column) is None}
    for column in table.columns:
        target = _referenced_table(column)
        if target is None:
            columns.append(column)
            continue
        reference = _reference_name(column.name)
        parent = target.alias(f"ref_{reference}")
        # Outer joins: a dangling or absent reference must not drop the row.
        source = source.outerjoin(parent, parent.c.id == column)
        parents[column.name] = parent
        # A row's own column wins over one derived from its reference: a commit's author_name
        # is the name written in that commit, the identity's is only the one it kept.
        columns.extend(
            parent.c[name].label(_label(reference, suffix))
            for suffix, name in _NATURAL_KEYS_BY_TABLE[target]
            if _label(reference, suffix) not in own
        )
    if entity.repository_via is not None:
        repository = _table(Repository).alias("ref_repository")
        source = source.outerjoin(
            repository, repository.c.id == parents[entity.repository_via].c.repository_id
        )
        # Right after `id`, where entities with their own repository_id have it too.
        columns.insert(1, repository.c.name.label("repository"))
    return select(*columns).select_from(source).order_by(table.c.id), parents


def _repository_condition(
    entity: _Entity, parents: dict[str, FromClause], repository_ids: Select[Any]
) -> ColumnElement[bool] | None:
    """Rows of `entity` in one of `repository_ids`; None when it has no repository relation."""
    table = entity.table
    if entity.model is Repository:
        return table.c.id.in_(repository_ids)
    if entity.model is Service:
        # A service is made of repositories (or paths in them): keep those built from this one.
        link = _table(ServiceRepository)
        return exists().where(
            link.c.service_id == table.c.id, link.c.repository_id.in_(repository_ids)
        )
    if "repository_id" in table.c:
        return table.c.repository_id.in_(repository_ids)
    if entity.repository_via is not None:
        return parents[entity.repository_via].c.repository_id.in_(repository_ids)
    return None


def _referenced_table(column: Column[Any]) -> Table | None:
    for foreign_key in column.foreign_keys:
        return foreign_key.column.table
    return None


def _reference_name(column_name: str) -> str:
    return column_name.removesuffix("_id").removesuffix("_identity")


def _label(reference: str, suffix: str) -> str:
    return f"{reference}_{suffix}" if suffix else reference


def _is_json(column: ColumnElement[Any]) -> bool:
    return isinstance(column.type, JSON)


# --- writers -------------------------------------------------------------------------------


def write_csv(export: EntityExport, stream: TextIO) -> int:
    """Write `export` as CSV with a header row; return the number of rows written.

    Open files with `newline=""`: the csv module quotes embedded newlines itself.
    """
    # "\n" rather than the csv module's "\r\n": friendlier to line-based shell tools, and
    # every CSV reader accepts it.
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(export.columns)
    is_json = [column in export.json_columns for column in export.columns]
    count = 0
    for row in export.rows():
        writer.writerow([_csv_cell(value, j) for value, j in zip(row, is_json, strict=True)])
        count += 1
    return count


def write_jsonl(export: EntityExport, stream: TextIO) -> int:
    """Write `export` as JSON Lines, one object per row; return the number of rows written."""
    count = 0
    for row in export.rows():
        record = dict(zip(export.columns, row, strict=True))
        stream.write(json.dumps(record, ensure_ascii=False, default=_json_default))
        stream.write("\n")
        count += 1
    return count


WRITERS: dict[str, Callable[[EntityExport, TextIO], int]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}


def iso_utc(value: datetime) -> str:
    """`value` as ISO-8601 in UTC with a `Z`, e.g. 2024-01-02T03:04:05Z."""
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def _csv_cell(value: Any, is_json: bool) -> Any:
    if value is None:
        return ""
    if is_json:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return iso_utc(value)
    raise TypeError(f"cannot export {type(value).__name__} value {value!r}")
