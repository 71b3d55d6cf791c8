"""Keyset (cursor) pagination with sorting on a documented set of fields.

A page is ordered by (sort field, id) — nulls after values, whatever the direction — and the
cursor is the position of its last row, so pages stay consistent while rows are added.
The cursor is opaque to clients: base64url of JSON; a tampered one is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from diogen.errors import InputError

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
T = TypeVar("T")
Column = InstrumentedAttribute[Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _encode(sort: str, value: Any, row_id: str) -> str:
    position = {"s": sort, "v": value, "i": row_id}
    if isinstance(value, datetime):
        position.update(v=value.isoformat(), t="datetime")
    raw = json.dumps(position, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("s") != sort or not isinstance(data["i"], str):
            raise ValueError("cursor of another listing")
        value = data["v"]
        if data.get("t") == "datetime":
            value = datetime.fromisoformat(value)
        return value, data["i"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InputError(
            "invalid cursor: pass next_cursor of the previous page unchanged, with the same sort",
            cursor=cursor,
        ) from None


def _after(column: Column, id_column: Column, value: Any, row_id: str, desc: bool) -> Any:
    """Rows after (value, row_id) in the order `column` (nulls last), then id."""
    if value is None:
        return and_(column.is_(None), id_column < row_id if desc else id_column > row_id)
    beyond: ColumnElement[bool] = column < value if desc else column > value
    tie = id_column < row_id if desc else id_column > row_id
    return or_(column.is_(None), beyond, and_(column == value, tie))


def paginate(
    session: Session,
    stmt: Select[Any],
    *,
    sort: str,
    fields: Mapping[str, Column],
    id_column: Column,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Any], str | None]:
    """One page of `stmt`'s entities and the cursor of the next page (None on the last)."""
    name = sort.removeprefix("-")
    if name not in fields:
        raise InputError(f"cannot sort by {name!r}; use one of {', '.join(fields)}", sort=sort)
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be 1 to {MAX_LIMIT}", limit=limit)
    desc = sort.startswith("-")
    column = fields[name]
    if cursor:
        value, row_id = _decode(cursor, sort)
        stmt = stmt.where(_after(column, id_column, value, row_id, desc))
    # NULLS LAST rather than a leading `column IS NULL`: an index in this order (e.g.
    # ix_deployment_newest) then serves the page without sorting the whole listing.
    first = column.desc() if desc else column.asc()
    tie = id_column.desc() if desc else id_column.asc()
    rows = session.scalars(stmt.order_by(first.nulls_last(), tie).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], _encode(sort, getattr(last, column.key), getattr(last, id_column.key))


def sort_choices(fields: Sequence[str]) -> str:
    """The `pattern` of a sort parameter: a field, optionally prefixed by '-' for descending."""
    return "^-?(" + "|".join(fields) + ")$"
