"""Rules over a pull request's own facts, shared by reports and by gold (which precomputes
them for the default rules): where its stages are cut, and whether it is a hotfix.

Imports nothing of the metrics package, so gold's refresh can use them without cycles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime


def stage_cuts(
    first_commit: datetime,
    ready: datetime,
    first_review: datetime | None,
    merged: datetime | None,
    deployed: datetime,
) -> tuple[datetime, datetime, datetime, datetime, datetime]:
    """The five moments the four stages run between (first commit, ready, first review,
    merge, deployment), each clamped between the one before it and the deployment."""
    cuts = [first_commit]
    for moment in (ready, first_review, merged):
        previous = cuts[-1]
        cuts.append(previous if moment is None else min(max(moment, previous), deployed))
    return cuts[0], cuts[1], cuts[2], cuts[3], max(deployed, cuts[3])


def marked_hotfix(
    pattern: re.Pattern[str], head_ref: str | None, labels: Iterable[object] | None
) -> bool:
    """Whether a pull request's head branch or one of its labels matches the hotfix rule."""
    if pattern.search(head_ref or ""):
        return True
    return any(pattern.search(str(label)) for label in labels or ())
