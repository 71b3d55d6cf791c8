"""Index hints for SQLite, which plans without statistics; other databases get plain SQL.

PostgreSQL, with statistics, plans the reports' joins well and is left alone: hiding a column
from it spoils its estimates (hash joins over every commit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import FromClause, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.visitors import InternalTraversal


class not_an_index(FunctionElement[str]):
    """`column` as a value no index can serve: `+column` on SQLite, `column` elsewhere.

    SQLite drives a join from whichever condition an index can serve; some of those walk a
    whole history (an IN list of recent deployments tried against every deployed commit,
    every pull request of a repository for each commit). The unary `+` is SQLite's documented
    way to take a term away from the index choice.
    """

    name = "not_an_index"
    inherit_cache = True
    type = String()


@compiles(not_an_index)
def _plain(element: not_an_index, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(column, **kw)


@compiles(not_an_index, "sqlite")
def _unindexed(element: not_an_index, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"+{compiler.process(column, **kw)}"


class IndexedBy(Alias):
    """An alias of a table that SQLite reads through one named index (`INDEXED BY`).

    For a small partial index whose leading column is also the primary key's: SQLite, seeing
    the same equality on both, takes the primary key and reads every row of the table for
    those keys, where the partial index holds only the few rows asked for.
    """

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (declared as a list by SQLAlchemy)
        *Alias._traverse_internals,
        ("index", InternalTraversal.dp_string),
    ]
    index: str

    @classmethod
    def of(cls, table: FromClause, index: str) -> IndexedBy:
        alias = cls._construct(table)
        alias.index = index
        return alias


@compiles(IndexedBy, "sqlite")
def _indexed_by(element: IndexedBy, compiler: SQLCompiler, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)  # type: ignore[no-untyped-call]
    return f"{text} INDEXED BY {element.index}" if kw.get("asfrom") else text
