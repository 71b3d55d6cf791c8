"""The JSON log setup shared by `diogen serve` and `diogen worker`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from diogen.errors import InputError
from diogen.logs import configure_json_logging


def test_an_unknown_level_is_refused_before_anything_changes() -> None:
    with pytest.raises(InputError, match="unknown log level 'loud'"):
        configure_json_logging("loud")


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_the_commands_refuse_an_unknown_level_in_one_line(command: str, tmp_path: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from diogen.cli import main; main()",
            command,
            "--log-level",
            "loud",
            "--database",
            f"sqlite:///{tmp_path}/d.db",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown log level 'loud': use one of debug, info, warning, error"
    ]
