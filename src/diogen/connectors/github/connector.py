"""The GitHub connector: config, fetch (each repository's streams in turn) and normalize."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, SilverRow, StoredKeys
from diogen.connectors.git import repo as gitrepo
from diogen.connectors.git.normalize import CommitNormalizer, normalize_ref
from diogen.connectors.github import api_commits, delivery, pulls, teams
from diogen.connectors.github.checks import commit_checks
from diogen.connectors.github.client import GitHubApi
from diogen.connectors.github.clone import clone_items
from diogen.connectors.github.config import GitHubConfig
from diogen.connectors.github.context import RepoContext
from diogen.connectors.github.fetch import RepoFetch
from diogen.connectors.github.issues import normalize_issue
from diogen.connectors.http import Clock, HttpError, RetryPolicy, Sleep
from diogen.errors import NotFoundError, SourceError

log = logging.getLogger(__name__)


class GitHubConnector:
    def __init__(
        self,
        config: GitHubConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.source = config.source
        self.stats = FetchStats()
        self.api = GitHubApi(
            config, self.stats, transport=transport, sleep=sleep, clock=clock, retry=retry
        )
        self.clock = clock or time.time
        self._commits: dict[str, CommitNormalizer] = {}

    def context(self, full_name: str) -> RepoContext:
        return RepoContext(
            self.source, full_name, self.config.rules_for(full_name), self.config.bot_pattern
        )

    def repositories(self) -> Iterator[str]:
        """The configured repositories, or every repository of the organisation (or user)."""
        if self.config.repos:
            yield from self.config.repos
            return
        org = self.config.org
        try:
            for repo in self.api.items(f"orgs/{org}/repos", type="all"):
                yield repo["full_name"]
        except HttpError as exc:
            if exc.status != 404:
                raise
            found = False
            for repo in self.api.items(f"users/{org}/repos", type="owner"):
                found = True
                yield repo["full_name"]
            if not found:
                raise NotFoundError(f"no GitHub organisation or user {org!r}", org=org) from exc

    def fetch(
        self, cursors: Mapping[str, dict[str, Any]], stored: StoredKeys
    ) -> Iterator[RawItem | Checkpoint]:
        try:
            for full_name in self.repositories():
                self.stats.add("repositories")
                cursor = dict(cursors.get(full_name) or {})
                repo = RepoFetch(self.api, self.config, full_name, cursor, stored, self.stats)
                yield from repo.run()
                yield from self.commits(full_name, repo.repo, cursor, stored)
            if self.config.org and self.config.teams:
                org_teams = teams.TeamsFetch(
                    self.api, self.config.org, cursors, self.stats, self.clock
                )
                yield from org_teams.run()
        finally:
            self.api.close()

    def commits(
        self, full_name: str, repo: dict[str, Any], cursor: dict[str, Any], stored: StoredKeys
    ) -> Iterator[RawItem | Checkpoint]:
        """From the clone; from the API with `commits = "api"` or when the clone fails."""
        mode, url = self.config.commits, repo.get("clone_url")
        if mode == "clone" and url:
            try:
                path = gitrepo.mirror(url, self.config.cache_dir, self.api.git_authorization(url))
            except SourceError as exc:
                log.warning("cannot clone %s, reading its commits through the API: %s", url, exc)
                self.stats.add("clones_failed")
            else:
                ctx = self.context(full_name)
                yield from clone_items(self.config, ctx, path, cursor, stored, self.stats)
                return
        if mode != "none" and repo.get("default_branch"):
            branch = repo["default_branch"]
            reader = api_commits.ApiCommits(self.api, full_name, branch, cursor, stored, self.stats)
            yield from reader.run()

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        full_name = item.natural_key.split("#", 1)[0]
        ctx = self.context(full_name)
        payload = item.payload
        match item.stream:
            case "pull_requests":
                return pulls.graphql_pull_request(ctx, payload)
            case "review_comments":
                return pulls.rest_review_comment(ctx, payload)
            case "deployments":
                return delivery.deployment(ctx, payload["deployment"], payload["statuses"])
            case "releases":
                return delivery.release(ctx, payload["release"], payload["tag"]["sha"])
            case "tags":
                return delivery.tag(ctx, payload["name"], payload["commit"]["sha"])
            case "workflow_runs":
                return delivery.workflow_run(ctx, payload)
            case "workflow_jobs":
                return delivery.workflow_job(ctx, payload)
            case "repository":
                return delivery.repository(ctx, payload)
            case "refs":
                return normalize_ref(ctx.repository_id, payload)
            case "commit_checks":
                return commit_checks(ctx, payload)
            case "issues":
                return normalize_issue(ctx, self.config.incidents, payload)
            case "team_members":
                return teams.member_accounts(ctx, payload)
            case "team_repositories":
                return ()  # the owning teams are set when the checkpoint is stored
            case "commits":
                return self._commit_rows(ctx)(payload)
            case api_commits.STREAM:
                return api_commits.commit_rows(self._commit_rows(ctx), payload)
        raise ValueError(f"unknown GitHub stream {item.stream!r}")

    def _commit_rows(self, ctx: RepoContext) -> CommitNormalizer:
        rows = self._commits.get(ctx.full_name)
        if rows is None:
            rows = self._commits[ctx.full_name] = CommitNormalizer(ctx.repository_id, ctx.bot)
        return rows
