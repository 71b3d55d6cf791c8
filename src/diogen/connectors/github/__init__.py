"""GitHub: repositories, pull requests with reviews, deployments, releases, Actions runs, and
commits from a clone; over REST and GraphQL, with webhooks normalised the same way."""

from diogen.connectors.github.config import DeploymentRules, GitHubConfig
from diogen.connectors.github.connector import GitHubConnector

__all__ = ["DeploymentRules", "GitHubConfig", "GitHubConnector"]
