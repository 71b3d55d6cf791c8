"""`diogen serve` (one worker) with its clock moved: time runs from the instant given.

The synthetic organisation of `org_metrics.py` ends on 2025-01-06, so the dashboard's default
view (the last 90 days) of today shows none of it. `dashboard_pages.py` starts the server this
way, with the browser's clock moved to the same instant, to measure what a new user sees on
first opening each page: the default views the report warmer computes ahead. Everything else
is what `diogen serve` does with one worker (settings from the environment, the app created
warm, its start-up heap frozen).

    DIOGEN_DATABASE_URL=... .venv/bin/python bench/serve_at.py PORT 2025-01-05T12:00:00+00:00
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import uvicorn

from diogen.accounts.clock import Clock
from diogen.api.app import create_app, freeze_startup_heap
from diogen.api.logs import configure_json_logging
from diogen.config import load_settings


def moved_clock(start: datetime) -> Clock:
    offset = time.time() - start.timestamp()
    return lambda: datetime.fromtimestamp(time.time() - offset, UTC)


def main() -> None:
    port, instant = int(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
    configure_json_logging("warning")
    api = create_app(load_settings(None), clock=moved_clock(instant), warm=True)
    freeze_startup_heap()
    uvicorn.run(api, host="127.0.0.1", port=port, log_config=None)


if __name__ == "__main__":
    main()
