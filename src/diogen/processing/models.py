"""Syncs asked for (from the API or the dashboard) for the worker's scheduler to run.

A request is pending while no run of its source started after it: the run that follows it
answers it, so a request is never run twice and needs no state of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from diogen.silver.base import Base, id_column


class SyncRequest(Base):
    __tablename__ = "sync_request"
    id: Mapped[str] = id_column()
    source: Mapped[str] = mapped_column(String(255), index=True)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str | None] = mapped_column(String(64))
    # The API request that asked (its X-Request-ID), which the sync's logs then carry.
    request_id: Mapped[str | None] = mapped_column(String(128))
