"""The stored source connection.

Its options are plain JSON (no secret among them: the kinds refuse one there); its secrets are
one Fernet token of a JSON object (`secret_box`), with beside it only which secrets are set and
when each was last written (`secret_meta`), which is all the API ever shows of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, id_column


class SourceConnection(Base):
    __tablename__ = "source_connection"
    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    # The sync source it feeds (git:NAME, github, jira@HOST, …); a Linear workspace is only
    # known once the API said which one the key belongs to (test-connection).
    source: Mapped[str | None] = mapped_column(String(255), unique=True)
    config: Mapped[dict[str, Any]]
    secret_box: Mapped[str | None] = mapped_column(Text)
    secret_meta: Mapped[dict[str, Any]]
    # None: the kind's interval from the settings; 0: no scheduled syncs.
    interval_minutes: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    tested_at: Mapped[datetime | None]
    test_ok: Mapped[bool | None] = mapped_column(Boolean)
    test_detail: Mapped[str | None] = mapped_column(String(1000))
