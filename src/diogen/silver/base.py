"""Declarative base and column shorthands shared by every table.

A naming convention keeps constraint names identical on SQLite and PostgreSQL, so migrations
and models compare equal on both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, MetaData, String, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.compiler import DDLCompiler

from diogen.db import UTCDateTime
from diogen.ids import ID_LENGTH

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# None is SQL NULL, not the JSON text "null".
JsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


@compiles(CreateIndex, "sqlite")
def _sqlite_index(create: CreateIndex, compiler: DDLCompiler, **kw: Any) -> str:
    """SQLite refuses NULLS LAST in an index, where it is what DESC means there anyway (NULL
    sorts first ascending): the same index as PostgreSQL's, for the same ORDER BY."""
    created: str = compiler.visit_create_index(create, **kw)  # type: ignore[no-untyped-call]
    return created.replace(" DESC NULLS LAST", " DESC")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JsonDocument,
        list[str]: JsonDocument,
    }


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model (SQLAlchemy types `__table__` as a mere FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def id_column() -> Mapped[str]:
    return mapped_column(String(ID_LENGTH), primary_key=True)


def ref(
    target: str, *, nullable: bool = True, ondelete: str = "CASCADE", index: bool = True
) -> Mapped[Any]:
    """A foreign key to `target` ("table.id"); CASCADE for owned rows, SET NULL for links.

    Indexed unless a composite unique constraint already leads with it (`index=False`): an
    index nobody needs still costs every insert on the big tables.
    """
    return mapped_column(
        String(ID_LENGTH),
        ForeignKey(target, ondelete=ondelete),
        nullable=nullable,
        index=index,
    )


class Origin:
    """Where a row came from: the source that produced it, its id there and a link to it."""

    source: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2000))
