"""An organisation's teams: each team (nested through `parent`), its members and its
repositories, read with conditional requests so an unchanged organisation costs no quota.

The cursor (under `teams:ORG`) keeps the team list and, per team, the ETags of its member and
repository lists and its permission on each repository (what the owning team is chosen by).
What changed is applied to silver in the checkpoint's finishing step (`team_store`), which
knows the memberships already stored and so can date a member's arrival and departure.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow
from diogen.connectors.github import team_store
from diogen.connectors.github.client import GitHubApi
from diogen.connectors.github.context import RepoContext
from diogen.connectors.http import Clock, HttpError

log = logging.getLogger(__name__)
# GitHub's repository permissions, weakest first: the owning team holds the strongest.
PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")


def cursor_key(org: str) -> str:
    return f"teams:{org.lower()}"


def permission_rank(repo: dict[str, Any]) -> int:
    """1 (pull) … 5 (admin), from `role_name` or else the `permissions` flags."""
    role = repo.get("role_name")
    if role in PERMISSIONS:
        return PERMISSIONS.index(role) + 1
    flags = repo.get("permissions") or {}
    held = [i + 1 for i, name in enumerate(PERMISSIONS) if flags.get(name)]
    return max(held, default=0)


def _team(record: dict[str, Any]) -> dict[str, Any]:
    parent = record.get("parent") or {}
    return {
        "id": record["id"],
        "slug": record["slug"],
        "name": record["name"],
        "url": record.get("html_url"),
        "parent_id": parent.get("id"),
    }


@dataclass
class TeamsFetch:
    api: GitHubApi
    org: str
    cursor: Mapping[str, dict[str, Any]]
    stats: FetchStats
    clock: Clock

    def run(self) -> Iterator[RawItem | Checkpoint]:
        state = self.cursor.get(cursor_key(self.org), {})
        listed = self._list(state)
        if listed is None:
            return  # a user, not an organisation: no teams
        teams, etag, changed = listed
        known = state.get("teams", {})
        members: dict[int, dict[str, str]] = {}
        per_team: dict[str, dict[str, Any]] = {}
        for team in teams:
            self.stats.add("teams")
            before = known.get(str(team["id"]), {})
            after = {**before, "team": team}
            roles = yield from self._members(team, before, after)
            if roles is not None:
                members[team["id"]] = roles
            yield from self._repos(team, before, after)
            per_team[str(team["id"])] = after
        gone = [int(i) for i in known if i not in per_team] if changed else []
        snapshot = team_store.Snapshot(
            self.api.config.source, self.org, teams, members, per_team, gone
        )
        new_state = {cursor_key(self.org): {"etag": etag, "teams": per_team}}
        yield Checkpoint(new_state, finish=partial(team_store.apply, snapshot, self.clock()))

    def _list(self, state: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, bool] | None:
        """(teams, ETag, whether the list was read); None when `org` is a user, or when the
        credentials may not read its teams (403: a token without read:org)."""
        path = f"orgs/{self.org}/teams"
        try:
            pages = list(self.api.pages(path, etag=state.get("etag")))
        except HttpError as exc:
            if exc.status == 404:
                return None
            if exc.status != 403:
                raise
            # The repositories are synced already: say what is missing rather than fail.
            log.warning("GitHub refused the teams of %s: %s", self.org, exc)
            self.stats.add("teams_refused")
            return None
        if pages[0].not_modified:
            return (
                [entry["team"] for entry in state.get("teams", {}).values()],
                pages[0].etag,
                False,
            )
        teams = [_team(record) for page in pages for record in page.data]
        return teams, pages[0].etag if len(pages) == 1 else None, True

    def _members(
        self, team: dict[str, Any], before: dict[str, Any], after: dict[str, Any]
    ) -> Generator[RawItem, None, dict[str, str] | None]:
        """Yield the member lists if either changed, and return each member's role ("member"
        or "maintainer") by login; None when neither changed."""
        path = f"orgs/{self.org}/teams/{team['slug']}/members"
        users = self._list_of(path, before, after, "members")
        maintainers = self._list_of(path, before, after, "maintainers", role="maintainer")
        if users is None and maintainers is None:
            return None
        payload = {"team": team, "members": users or [], "maintainers": maintainers or []}
        yield RawItem("team_members", f"{self.org}#team/{team['id']}/members", payload)
        self.stats.add("team_members", len(after["members"]))
        lead = set(after["maintainers"])
        return {login: "maintainer" if login in lead else "member" for login in after["members"]}

    def _list_of(
        self,
        path: str,
        before: dict[str, Any],
        after: dict[str, Any],
        name: str,
        **params: Any,
    ) -> list[dict[str, Any]] | None:
        """The users of a member list if it changed (else None); their logins go into `after`
        either way."""
        pages = list(self.api.pages(path, etag=before.get(f"{name}_etag"), **params))
        if pages[0].not_modified:
            after[name] = before.get(name, [])
            return None
        users = [user for page in pages for user in page.data]
        after[f"{name}_etag"] = pages[0].etag if len(pages) == 1 else None
        after[name] = [user["login"] for user in users]
        return users

    def _repos(
        self, team: dict[str, Any], before: dict[str, Any], after: dict[str, Any]
    ) -> Iterator[RawItem]:
        path = f"orgs/{self.org}/teams/{team['slug']}/repos"
        pages = list(self.api.pages(path, etag=before.get("repos_etag")))
        if pages[0].not_modified:
            return
        repos = [
            {key: repo.get(key) for key in ("id", "full_name", "permissions", "role_name")}
            for page in pages
            for repo in page.data
        ]
        after["repos_etag"] = pages[0].etag if len(pages) == 1 else None
        after["repos"] = {repo["full_name"]: permission_rank(repo) for repo in repos}
        payload = {"team": team, "repositories": repos}
        yield RawItem("team_repositories", f"{self.org}#team/{team['id']}/repos", payload)


def member_accounts(ctx: RepoContext, payload: dict[str, Any]) -> Iterator[SilverRow]:
    """The person and identity of every member (the memberships are `team_store`'s)."""
    for user in [*payload["members"], *payload.get("maintainers", [])]:
        rows, _ = ctx.account(user)
        yield from rows
