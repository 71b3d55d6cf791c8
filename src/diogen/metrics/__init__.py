"""Gold: metrics computed from silver only (DESIGN.md §5; definitions in docs/metrics.md)."""

from diogen.metrics.dora import DEFAULT_PRODUCTION_ENVIRONMENT, build_report, dora_report
from diogen.metrics.flow import flow_report, issue_flow, pr_flow, sprint_report
from diogen.metrics.quality import QUALITY_CHECKS, data_quality
from diogen.metrics.render import render_table
from diogen.metrics.scope import Scope
from diogen.metrics.stats import median, percentile
from diogen.metrics.tiers import BENCHMARK_YEARS, TIERS
from diogen.metrics.window import BUCKETS, Window, default_window, make_window, parse_date

__all__ = [
    "BENCHMARK_YEARS",
    "BUCKETS",
    "DEFAULT_PRODUCTION_ENVIRONMENT",
    "QUALITY_CHECKS",
    "TIERS",
    "Scope",
    "Window",
    "build_report",
    "data_quality",
    "default_window",
    "dora_report",
    "flow_report",
    "issue_flow",
    "make_window",
    "median",
    "parse_date",
    "percentile",
    "pr_flow",
    "render_table",
    "sprint_report",
]
