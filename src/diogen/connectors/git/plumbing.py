"""Running git and reading its output as a stream, with failures turned into SourceError."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from diogen.errors import SourceError

READ_SIZE = 1 << 20
# Deterministic output whatever the user's configuration says.
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
GIT_OPTIONS = ("-c", "core.quotePath=false", "-c", "log.showSignature=false")


def git_env(config: Mapping[str, str] | None = None) -> dict[str, str]:
    """git's environment; `config` adds settings through GIT_CONFIG_* variables, which reach
    git without showing in its arguments (`ps`) or being written to any config file."""
    env = {**os.environ, **GIT_ENV}
    for index, (key, value) in enumerate((config or {}).items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if config:
        env["GIT_CONFIG_COUNT"] = str(len(config))
    return env


def run_git(
    repo: Path,
    *args: str,
    input: str | None = None,
    check: bool = True,
    config: Mapping[str, str] | None = None,
) -> str:
    """Run `git args` in `repo` and return its stdout as text."""
    try:
        result = subprocess.run(
            ["git", *GIT_OPTIONS, "-C", str(repo), *args],
            input=input.encode() if input is not None else None,
            capture_output=True,
            env=git_env(config),
        )
    except FileNotFoundError as exc:
        raise SourceError("git is not installed or not on PATH") from exc
    if check and result.returncode != 0:
        raise SourceError(_failure(args, result.stderr), repo=str(repo), args=args)
    return result.stdout.decode("utf-8", "replace")


def stream_git(repo: Path, args: Sequence[str], stdin_lines: Sequence[str] = ()) -> Iterator[bytes]:
    """Yield git's stdout in chunks as it is produced; raise SourceError if git fails."""
    process = subprocess.Popen(
        ["git", *GIT_OPTIONS, "-C", str(repo), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_env(),
    )
    assert process.stdin and process.stdout and process.stderr
    try:
        process.stdin.write("".join(f"{line}\n" for line in stdin_lines).encode())
        process.stdin.close()
        # read1 returns what is there rather than waiting for a full buffer.
        stdout = process.stdout
        assert isinstance(stdout, io.BufferedReader)
        while chunk := stdout.read1(READ_SIZE):
            yield chunk
        stderr = process.stderr.read()
        if process.wait() != 0:
            raise SourceError(_failure(args, stderr), repo=str(repo), args=tuple(args))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def _failure(args: Sequence[str], stderr: bytes) -> str:
    """One line: git's fatal error if it gave one, else its last words."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    detail = (fatal or lines or ["failed"])[0]
    detail = detail.removeprefix("fatal: ").removeprefix("error: ")
    return f"git {args[0]} failed: {detail}"
