"""Jira Cloud and Jira Server/Data Center: projects, boards, sprints, issues and their history."""

from diogen.connectors.jira.config import IncidentRules, JiraConfig
from diogen.connectors.jira.connector import JiraConnector

__all__ = ["IncidentRules", "JiraConfig", "JiraConnector"]
