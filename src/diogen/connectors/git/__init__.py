"""Local git: commits with per-file stats, branches and tags, straight from git's plumbing."""

from diogen.connectors.git.connector import GitConfig, GitConnector

__all__ = ["GitConfig", "GitConnector"]
