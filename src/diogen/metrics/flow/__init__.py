"""Flow metrics (DESIGN.md §5 "Flow"; definitions in docs/flow.md)."""

from diogen.metrics.flow.bottleneck import STAGES
from diogen.metrics.flow.pr_report import AGE_BANDS, SIZE_CLASSES
from diogen.metrics.flow.report import (
    flow_report,
    issue_flow,
    pr_flow,
    sprint_report,
    sprint_velocity,
)
from diogen.metrics.flow.review_load import review_load
from diogen.metrics.flow.statuses import CATEGORIES, WAITING_STATUS_PATTERN

__all__ = [
    "AGE_BANDS",
    "CATEGORIES",
    "SIZE_CLASSES",
    "STAGES",
    "WAITING_STATUS_PATTERN",
    "flow_report",
    "issue_flow",
    "pr_flow",
    "review_load",
    "sprint_report",
    "sprint_velocity",
]
