"""Local git: commits with per-file stats, branches and tags, straight from git's plumbing.

The connector is imported on first use: reader processes start from modules of this package
(`prepare`) and must not pay for SQLAlchemy and pydantic, which the connector needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diogen.connectors.git.connector import GitConfig, GitConnector

__all__ = ["GitConfig", "GitConnector"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from diogen.connectors.git import connector

        return getattr(connector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
