"""Linear (GraphQL): teams, workflow states, cycles as sprints, projects, issues with history."""

from diogen.connectors.linear.config import LinearConfig
from diogen.connectors.linear.connector import LinearConnector

__all__ = ["LinearConfig", "LinearConnector"]
