"""Test-connection: one cheap, real call to the provider with the connection's credentials.

GitHub `GET /rate_limit` (free of quota) and the first repository; Jira `GET /myself`; Linear
the `organization` query (which also names the workspace, so the Linear source is known from
then on); Asana `GET /users/me`; git `git ls-remote`. No retries and a short timeout: the
answer is for a person waiting on it. Every failure is an answer (`ok` false, the provider's
own words), never an exception, with the secrets scrubbed from it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from diogen.connectors.asana import AsanaConfig
from diogen.connectors.asana.client import AsanaApi
from diogen.connectors.base import FetchStats
from diogen.connectors.git import GitConfig
from diogen.connectors.git.plumbing import git_env
from diogen.connectors.github import GitHubConfig
from diogen.connectors.github.client import GitHubApi
from diogen.connectors.http import RetryPolicy
from diogen.connectors.jira import JiraConfig
from diogen.connectors.jira.client import JiraApi
from diogen.connectors.linear import LinearConfig
from diogen.connectors.linear import queries as linear_queries
from diogen.connectors.linear.client import LinearApi
from diogen.errors import DiogenError

PROBE_TIMEOUT = 10.0
ONCE = RetryPolicy(attempts=1, limit_waits=0)


@dataclass
class ProbeResult:
    ok: bool
    detail: str
    # What the provider told that the connection keeps (Linear's workspace id).
    learned: dict[str, Any] = field(default_factory=dict)


def probe(config: BaseModel, secrets: Mapping[str, str]) -> ProbeResult:
    """Call the provider once; the outcome in one line with no secret in it."""
    quick = (
        config.model_copy(update={"timeout": PROBE_TIMEOUT})
        if "timeout" in type(config).model_fields
        else config
    )
    try:
        result = PROBES[type(config)](quick)
    except (DiogenError, httpx.HTTPError, OSError, subprocess.SubprocessError) as exc:
        result = ProbeResult(False, str(exc) or exc.__class__.__name__)
    result.detail = scrub(result.detail.splitlines()[0] if result.detail else "", secrets)[:1000]
    return result


def scrub(text: str, secrets: Mapping[str, str]) -> str:
    """`text` with every secret value (and each token of a comma-separated pool) blanked."""
    values = {part.strip() for value in secrets.values() for part in [value, *value.split(",")]}
    for value in sorted((v for v in values if len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text


def _github(config: BaseModel) -> ProbeResult:
    assert isinstance(config, GitHubConfig)
    if not config.tokens:
        return ProbeResult(False, "no token is set: give the connection its `token` secret")
    api = GitHubApi(config, FetchStats(), retry=ONCE)
    try:
        limits = api.http.request("GET", "rate_limit").data or {}
        core = (limits.get("resources") or {}).get("core") or limits.get("rate") or {}
        said = f"authenticated; {core.get('remaining')} of {core.get('limit')} requests left"
        if config.repos:
            repo = api.http.request("GET", f"repos/{config.repos[0]}").data or {}
            said += f"; {repo.get('full_name', config.repos[0])} is readable"
        return ProbeResult(True, said)
    finally:
        api.http.close()


def _jira(config: BaseModel) -> ProbeResult:
    assert isinstance(config, JiraConfig)
    api = JiraApi(config, FetchStats(), retry=ONCE)
    try:
        me = api.get(f"{config.api}/myself") or {}
    finally:
        api.close()
    who = me.get("displayName") or me.get("name") or me.get("accountId") or "an account"
    return ProbeResult(True, f"signed in to {config.host} as {who}")


def _linear(config: BaseModel) -> ProbeResult:
    assert isinstance(config, LinearConfig)
    api = LinearApi(config, FetchStats(), retry=ONCE)
    try:
        found = api.query(linear_queries.ORGANIZATION).get("organization") or {}
    finally:
        api.http.close()
    if not found.get("id"):
        return ProbeResult(False, "Linear did not say which workspace the API key belongs to")
    name = found.get("name") or found.get("urlKey") or found["id"]
    return ProbeResult(True, f"signed in to workspace {name}", {"organization": str(found["id"])})


def _asana(config: BaseModel) -> ProbeResult:
    assert isinstance(config, AsanaConfig)
    api = AsanaApi(config, FetchStats(), retry=ONCE)
    try:
        me = api.get("users/me", opt_fields="name,email") or {}
    finally:
        api.close()
    return ProbeResult(True, f"signed in as {me.get('name') or me.get('gid') or 'a user'}")


def _git(config: BaseModel) -> ProbeResult:
    assert isinstance(config, GitConfig)
    done = subprocess.run(
        ["git", "ls-remote", "--heads", "--tags", "--", config.location],
        capture_output=True,
        timeout=PROBE_TIMEOUT * 3,
        env=git_env(),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.decode("utf-8", "replace").splitlines()]
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))] or lines or ["failed"]
        return ProbeResult(False, "git ls-remote failed: " + fatal[0].removeprefix("fatal: "))
    refs = [line for line in done.stdout.decode("utf-8", "replace").splitlines() if line]
    return ProbeResult(True, f"reachable; {len(refs)} branches and tags")


PROBES: dict[type[BaseModel], Callable[[BaseModel], ProbeResult]] = {
    GitHubConfig: _github,
    JiraConfig: _jira,
    LinearConfig: _linear,
    AsanaConfig: _asana,
    GitConfig: _git,
}
