"""Build git repositories with exact dates, authors, merges and tags, for tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path


class GitRepo:
    """A working repository driven through the real `git` binary with controlled dates."""

    def __init__(self, path: Path, *, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.name", "Default Dev")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "commit.gpgsign", "false")
        self.git("config", "tag.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            env=full_env,
            input=input,
            capture_output=True,
            check=True,
        )
        return result.stdout.decode("utf-8", "replace").strip()

    def write(self, name: str, content: str | bytes) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    def commit(
        self,
        message: str,
        when: datetime,
        *,
        files: dict[str, str | bytes] | None = None,
        author: tuple[str, str] = ("Default Dev", "dev@example.com"),
        committed: datetime | None = None,
        committer: tuple[str, str] | None = None,
    ) -> str:
        """Write `files` (or touch a log file), commit with the given dates, return the sha."""
        if files is None:
            self._append("log.txt", f"{message}\n")
        for name, content in (files or {}).items():
            self.write(name, content)
        self.git("add", "-A")
        return self._commit(["-m", message], when, author, committed or when, committer or author)

    def merge(
        self,
        branch: str,
        when: datetime,
        *,
        message: str | None = None,
        author: tuple[str, str] = ("Default Dev", "dev@example.com"),
    ) -> str:
        """A true merge commit (--no-ff) of `branch` into the current branch."""
        env = self._env(when, author, when, author)
        self.git("merge", "--no-ff", "-q", "-m", message or f"Merge {branch}", branch, env=env)
        return self.git("rev-parse", "HEAD")

    def tag(
        self,
        name: str,
        *,
        when: datetime | None = None,
        ref: str = "HEAD",
        message: str | None = None,
    ) -> None:
        """A lightweight tag, or an annotated one dated `when` when a message is given."""
        if message is None:
            self.git("tag", name, ref)
            return
        assert when is not None, "an annotated tag needs a date"
        tagger = ("Release Bot", "release@example.com")
        self.git("tag", "-a", name, "-m", message, ref, env=self._env(when, tagger, when, tagger))

    def checkout(self, branch: str, *, create: bool = False, start: str | None = None) -> None:
        args = ["checkout", "-q"] + (["-b"] if create else []) + [branch]
        self.git(*args, *([start] if start else []))

    def _append(self, name: str, line: str) -> None:
        with (self.path / name).open("a", encoding="utf-8") as handle:
            handle.write(line)

    def _commit(
        self,
        args: list[str],
        when: datetime,
        author: tuple[str, str],
        committed: datetime,
        committer: tuple[str, str],
    ) -> str:
        self.git(
            "commit",
            "-q",
            "--allow-empty",
            *args,
            env=self._env(when, author, committed, committer),
        )
        return self.git("rev-parse", "HEAD")

    @staticmethod
    def _env(
        authored: datetime, author: tuple[str, str], committed: datetime, committer: tuple[str, str]
    ) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_AUTHOR_DATE": authored.isoformat(),
            "GIT_COMMITTER_NAME": committer[0],
            "GIT_COMMITTER_EMAIL": committer[1],
            "GIT_COMMITTER_DATE": committed.isoformat(),
        }
