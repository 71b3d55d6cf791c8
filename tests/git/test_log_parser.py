"""The log parser: independent of chunking, and unconfused by control characters in git data."""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diogen.connectors.git.log import LOG_ARGS, offset_minutes, parse_log
from diogen.errors import SourceError
from diogen.testing.gitrepo import GitRepo

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ODD = "odd\x1e\x1f\x1c\u2028\x85\tname"  # separators other parsers might trip over


def _log_output(path: Path) -> bytes:
    repo = GitRepo(path)
    repo.commit("multi\n\nline body\x1e\x1f", T0, files={"a b/ü.txt": "1\n2\n"})
    repo.git("mv", "a b/ü.txt", "renamed.txt")
    repo.commit("rename", T0 + timedelta(hours=1), files={"bin": bytes(range(256))})
    repo.commit("empty", T0 + timedelta(hours=2), files={})
    repo.commit(
        "odd",
        T0 + timedelta(hours=3),
        files={f"{ODD}.txt": "x\n", "1\t2\t3": "y\n"},
        author=(ODD, "odd@example.com"),
    )
    return subprocess.run(
        ["git", "-C", str(path), *LOG_ARGS, "--all"], capture_output=True, check=True
    ).stdout


OUTPUT = _log_output(Path(tempfile.mkdtemp()) / "repo")
WHOLE = list(parse_log([OUTPUT]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(OUTPUT)), max_size=12))
def test_any_chunking_parses_the_same(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [OUTPUT[a:b] for a, b in zip([0, *points], [*points, len(OUTPUT)], strict=True)]
    assert list(parse_log(chunks)) == WHOLE


def test_whole_output_fields() -> None:
    by_subject = {c["message"].split("\n")[0]: c for c in WHOLE}
    assert len(WHOLE) == 4
    assert by_subject["rename"]["files"] == [
        ["bin", None, None, None],
        ["renamed.txt", "a b/ü.txt", 0, 0],
    ]
    assert by_subject["empty"]["files"] == []
    assert by_subject["multi"]["message"] == "multi\n\nline body\x1e\x1f\n"


def test_control_characters_in_names_messages_and_paths() -> None:
    odd = next(c for c in WHOLE if c["message"].startswith("odd"))
    assert odd["author"]["name"] == ODD
    assert sorted(f[0] for f in odd["files"]) == ["1\t2\t3", f"{ODD}.txt"]


def test_out_of_step_output_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="unexpected git log output"):
        list(parse_log([b"not a sha\x00"]))


def test_offsets() -> None:
    assert offset_minutes("+0130") == 90
    assert offset_minutes("-0800") == -480
    assert offset_minutes("+0000") == 0
