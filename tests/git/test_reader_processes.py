"""Reader processes: what they hand the sync is what normalising each commit one by one makes,
and a failure inside one is one line."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from diogen.config import BOT_PATTERN
from diogen.connectors.base import RawItem
from diogen.connectors.git import commits, prepare
from diogen.connectors.git.log import LOG_ARGS, parse_log
from diogen.connectors.git.normalize import CommitNormalizer
from diogen.connectors.git.plumbing import stream_git
from diogen.connectors.git.rows import ACCOUNT_SLOTS, COMMIT_COLUMNS, FILE_COLUMNS
from diogen.errors import SourceError
from diogen.ingest.bronze import raw_row
from diogen.silver.keys import COMMIT_FILE_KEY, COMMIT_KEY
from diogen.testing.fastimport import FastCommit, fast_import


def history(path: Path) -> list[str]:
    fast_import(
        path,
        [
            FastCommit(f"c{i}", 1_700_000_000 + i * 60, {f"f{i % 3}": f"{i}\n".encode()})
            for i in range(6)
        ],
    )
    result = subprocess.run(["git", "-C", str(path), "rev-list", "--all"], capture_output=True)
    return result.stdout.decode().split()


def spec(path: Path) -> prepare.ReaderSpec:
    return prepare.ReaderSpec(str(path), "r" * 32, COMMIT_KEY, COMMIT_FILE_KEY, ())


def test_prepared_commits_equal_normalising_each_payload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shas = history(tmp_path / "r")
    monkeypatch.setattr(commits, "PARALLEL_THRESHOLD", 1)  # two reader processes
    chunks = list(commits.prepared_commits(spec(tmp_path / "r"), shas, jobs=2))
    records = [record for chunk in chunks for record in chunk.records]
    values = {row[0]: row for chunk in chunks for row in chunk.commits}
    files = {row[0]: row for chunk in chunks for row in chunk.files}
    payloads = parse_log(
        stream_git(tmp_path / "r", [*LOG_ARGS, "--no-walk=unsorted", "--stdin"], shas)
    )
    normalizer = CommitNormalizer("r" * 32, re.compile(BOT_PATTERN, re.I))
    now = datetime.now(UTC)
    expected_records = []
    for payload in payloads:
        bronze = raw_row("git:r", RawItem("commits", payload["sha"], payload), now)
        expected_records.append((payload["sha"], bronze["payload_hash"], bronze["payload"].text))
        for row in normalizer(payload):
            if row.table.name == "git_commit":
                got = dict(zip(COMMIT_COLUMNS, values[row.values["id"]], strict=True))
                for slot in ACCOUNT_SLOTS:  # accounts, until the sync puts identity ids in
                    got[COMMIT_COLUMNS[slot]] = normalizer.identity(got[COMMIT_COLUMNS[slot]])[
                        1
                    ].values["id"]
                assert got == row.values
            elif row.table.name == "commit_file":
                assert dict(zip(FILE_COLUMNS, files[row.values["id"]], strict=True)) == row.values
    assert sorted(records) == sorted(expected_records)


def test_a_failing_reader_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history(tmp_path / "r")
    monkeypatch.setattr(commits, "PARALLEL_THRESHOLD", 1)
    with pytest.raises(SourceError) as raised:
        list(commits.prepared_commits(spec(tmp_path / "r"), ["0" * 40, "1" * 40], jobs=2))
    message = str(raised.value)
    assert message.startswith("git log failed:") and "\n" not in message
