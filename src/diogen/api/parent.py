"""Ending a process when the one that started it is gone.

A parent killed with SIGKILL (by an operator, the OOM killer, a supervisor of its own) cannot
stop its children: they stay, serving a port or waiting for work that never comes. A child
started by Diogen therefore watches its parent and ends itself once it has a new one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

CHECK_SECONDS = 1.0


def follow(parent: int, then: Callable[[], None]) -> None:
    """Calls `then` (in a daemon thread) once `parent` is no longer this process's parent.

    `parent` is the pid the parent gave: one read here with `os.getppid()` would already be
    the new parent's if the parent died while this process started."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(CHECK_SECONDS)
        then()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
