"""Asana (REST): projects, sections as statuses, tasks with their stories."""

from diogen.connectors.asana.config import AsanaConfig
from diogen.connectors.asana.connector import AsanaConnector

__all__ = ["AsanaConfig", "AsanaConnector"]
