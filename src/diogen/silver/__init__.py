"""The platform-independent domain model (DESIGN.md §4)."""

# Gold tables (derived, not silver: not in __all__, not exported) register with the metadata,
# and their change-log triggers with `create_all`.
import diogen.silver.gold_triggers  # noqa: F401
from diogen.silver.base import Base
from diogen.silver.code import (
    Commit,
    CommitFile,
    GitRef,
    PullRequest,
    PullRequestCommit,
    PullRequestEvent,
    PullRequestReviewers,
    Repository,
    Review,
    ReviewComment,
    Service,
    ServiceRepository,
)
from diogen.silver.delivery import Deployment, DeploymentCommit, Incident, PipelineJob, PipelineRun
from diogen.silver.people import Identity, Organization, Person, Team, TeamMembership
from diogen.silver.work import (
    Issue,
    IssueStatusTransition,
    Sprint,
    SprintScopeChange,
    WorkLink,
)

__all__ = [
    "Base",
    "Commit",
    "CommitFile",
    "Deployment",
    "DeploymentCommit",
    "GitRef",
    "Identity",
    "Incident",
    "Issue",
    "IssueStatusTransition",
    "Organization",
    "Person",
    "PipelineJob",
    "PipelineRun",
    "PullRequest",
    "PullRequestCommit",
    "PullRequestEvent",
    "PullRequestReviewers",
    "Repository",
    "Review",
    "ReviewComment",
    "Service",
    "ServiceRepository",
    "Sprint",
    "SprintScopeChange",
    "Team",
    "TeamMembership",
    "WorkLink",
]
