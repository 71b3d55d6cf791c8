"""The log parser must not depend on where git's output happens to be cut into chunks."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from diogen.connectors.git.log import LOG_ARGS, offset_minutes, parse_log, parse_numstat
from diogen.testing.gitrepo import GitRepo

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _log_output(path: Path) -> bytes:
    repo = GitRepo(path)
    repo.commit("multi\n\nline body with \x1f-free text", T0, files={"a b/ü.txt": "1\n2\n"})
    repo.git("mv", "a b/ü.txt", "renamed.txt")
    repo.commit("rename", T0 + timedelta(hours=1), files={"bin": bytes(range(256))})
    repo.commit("empty", T0 + timedelta(hours=2), files={})
    return subprocess.run(
        ["git", "-C", str(path), *LOG_ARGS, "--all"], capture_output=True, check=True
    ).stdout


OUTPUT = _log_output(Path(__import__("tempfile").mkdtemp()) / "repo")
WHOLE = list(parse_log([OUTPUT]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(OUTPUT)), max_size=12))
def test_any_chunking_parses_the_same(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [OUTPUT[a:b] for a, b in zip([0, *points], [*points, len(OUTPUT)], strict=True)]
    assert list(parse_log(chunks)) == WHOLE


def test_whole_output_fields() -> None:
    by_subject = {c["message"].split("\n")[0]: c for c in WHOLE}
    assert by_subject["rename"]["files"] == [
        ["bin", None, None, None],
        ["renamed.txt", "a b/ü.txt", 0, 0],
    ]
    assert by_subject["empty"]["files"] == []
    assert by_subject["multi"]["message"].startswith("multi\n\nline body")


def test_offsets_and_numstat_edge_cases() -> None:
    assert offset_minutes("+0130") == 90
    assert offset_minutes("-0800") == -480
    assert offset_minutes("+0000") == 0
    assert parse_numstat("\x00\n") == []
    assert parse_numstat("\n3\t1\tx\x00") == [["x", None, 3, 1]]
