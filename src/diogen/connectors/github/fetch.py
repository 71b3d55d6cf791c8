"""Reading one repository: each stream in turn, with checkpoints after each page of work.

The repository's cursor (one JSON document) holds each stream's state: ETags for conditional
requests, the `updated_at`/`created_at` high-water marks, and what was still open. A stream's
mark moves only when its pass is complete, so a run killed mid-way reads that stream again
from the last mark: the records it re-reads upsert to the same rows.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import chain
from typing import Any

from diogen.connectors.base import Checkpoint, FetchStats, RawItem, StoredKeys
from diogen.connectors.github.checks import CommitChecks
from diogen.connectors.github.client import GitHubApi
from diogen.connectors.github.config import GitHubConfig
from diogen.connectors.github.context import parse_time
from diogen.connectors.github.issues import remove_incidents
from diogen.connectors.github.queries import NESTED_FIRST, PULL_REQUESTS, nested_page_query
from diogen.connectors.http import HttpError
from diogen.errors import NotFoundError

FINAL_DEPLOYMENT_STATES = {"success", "failure", "error", "inactive"}


@dataclass
class RepoFetch:
    api: GitHubApi
    config: GitHubConfig
    full_name: str
    cursor: dict[str, Any]
    stored: StoredKeys
    stats: FetchStats
    repo: dict[str, Any] = field(default_factory=dict)
    # Pull requests read by this run: the writer may not have stored them yet.
    pull_requests_read: set[str] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"repos/{self.full_name}"

    def key(self, suffix: object) -> str:
        return f"{self.full_name}#{suffix}"

    def checkpoint(self, stream: str, state: dict[str, Any] | None = None) -> Checkpoint:
        if state is not None:
            self.cursor[stream] = state
        return Checkpoint({self.full_name: dict(self.cursor)})

    def run(self) -> Iterator[RawItem | Checkpoint]:
        yield from self.repository()
        yield from self.pull_requests()
        yield from self.review_comments()
        yield from self.deployments()
        if self.config.rules_for(self.full_name).releases:
            yield from self.releases()
        yield from self.workflow_runs()
        if self.config.incidents.active:
            yield from self.issues()
        if self.config.checks and self.repo.get("default_branch"):
            yield from CommitChecks(
                self.api,
                self.full_name,
                self.repo["default_branch"],
                self.cursor,
                self.stats,
                self.config.checks_commits,
            ).run()

    def repository(self) -> Iterator[RawItem | Checkpoint]:
        state = self.cursor.get("repository", {})
        try:
            response = self.api.get(self.base, etag=state.get("etag"))
        except HttpError as exc:
            if exc.status != 404:
                raise
            raise NotFoundError(
                f"GitHub repository {self.full_name} not found (or the token cannot see it)",
                repo=self.full_name,
            ) from exc
        if response.not_modified:
            self.repo = state["repo"]
            return
        data = response.data
        self.repo = {k: data[k] for k in ("id", "full_name", "clone_url", "default_branch")}
        yield RawItem("repository", self.key("repository"), data, _request(response.url))
        yield self.checkpoint("repository", {"etag": response.etag, "repo": self.repo})

    def pull_requests(self) -> Iterator[RawItem | Checkpoint]:
        """Newest-updated first, down to the last pass's mark. A cheap conditional REST probe
        (a 304 costs no quota) tells whether anything changed at all."""
        state = self.cursor.get("pull_requests", {})
        probe = self.api.get(
            f"{self.base}/pulls",
            etag=state.get("etag"),
            state="all",
            sort="updated",
            direction="desc",
            per_page=1,
        )
        if probe.not_modified:
            return
        since, newest = state.get("since"), None
        owner, name = self.full_name.split("/")
        after = None
        while True:
            variables = {
                "owner": owner,
                "name": name,
                "first": self.config.pull_request_page_size,
                "after": after,
            }
            data = self.api.graphql(PULL_REQUESTS, variables)
            connection = data["repository"]["pullRequests"]
            for node in connection["nodes"]:
                if since and node["updatedAt"] < since:
                    done = {"etag": probe.etag, "since": newest or since}
                    yield self.checkpoint("pull_requests", done)
                    return
                newest = newest or node["updatedAt"]
                self._complete(node)
                self.stats.add("pull_requests")
                self.pull_requests_read.add(self.key(node["number"]))
                yield RawItem("pull_requests", self.key(node["number"]), node)
            yield self.checkpoint("pull_requests", state)
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        yield self.checkpoint("pull_requests", {"etag": probe.etag, "since": newest or since})

    def _complete(self, node: dict[str, Any]) -> None:
        """Read the rest of any nested list that did not fit the page, into the node."""
        for name in NESTED_FIRST:
            connection = node[name]
            while connection["pageInfo"]["hasNextPage"]:
                self.stats.add("pull_request_overflow_pages")
                data = self.api.graphql(
                    nested_page_query(name),
                    {"id": node["id"], "first": 100, "after": connection["pageInfo"]["endCursor"]},
                )
                page = data["node"][name]
                connection["nodes"].extend(page["nodes"])
                connection["pageInfo"] = page["pageInfo"]

    def review_comments(self) -> Iterator[RawItem | Checkpoint]:
        """Repository-wide, oldest-updated first: each page moves the mark."""
        state = self.cursor.get("review_comments", {})
        since = state.get("since")
        params: dict[str, Any] = {"sort": "updated", "direction": "asc"}
        if since:
            params["since"] = since
        path = f"{self.base}/pulls/comments"
        first = None
        for page in self.api.pages(path, etag=_etag_for(state, since), **params):
            if page.not_modified:
                return
            first = first or page.etag
            comments = page.data
            numbers = {self.key(c["pull_request_url"].rsplit("/", 1)[1]) for c in comments}
            unread = numbers - self.pull_requests_read
            known = self.pull_requests_read | self.stored("pull_requests", unread)
            for comment in comments:
                if self.key(comment["pull_request_url"].rsplit("/", 1)[1]) not in known:
                    self.stats.add("review_comments_without_pull_request")
                    continue
                self.stats.add("review_comments")
                yield RawItem("review_comments", self.key(f"comment/{comment['id']}"), comment)
            if comments:
                state = {"since": max(c["updated_at"] for c in comments)}
            yield self.checkpoint("review_comments", state)
        yield self.checkpoint("review_comments", {**state, "etag": first, "etag_since": since})

    def deployments(self) -> Iterator[RawItem | Checkpoint]:
        """Newest first, down to the oldest deployment still open at the last pass (within
        the lookback) or else the newest one it saw; each with all its statuses."""
        state = self.cursor.get("deployments", {})
        since = state.get("since")
        etag = None if state.get("open") else state.get("etag")
        first_etag, newest, open_times = None, None, []
        for page in self.api.pages(f"{self.base}/deployments", etag=etag):
            if page.not_modified:
                return
            first_etag = first_etag or page.etag
            recent = [d for d in page.data if not since or d["created_at"] >= since]
            for deployment in recent:
                newest = newest or deployment["created_at"]
                opened = yield from self._deployment(deployment)
                if opened:
                    open_times.append(opened)
            if len(recent) < len(page.data):
                break
            yield self.checkpoint("deployments", state)
        mark = self._next_mark(since, newest, open_times)
        yield self.checkpoint("deployments", {"etag": first_etag, **mark})

    def _deployment(self, deployment: dict[str, Any]) -> Generator[RawItem, None, str | None]:
        """Yield the deployment with its statuses; return its creation time if still open."""
        path = f"{self.base}/deployments/{deployment['id']}/statuses"
        statuses = list(self.api.items(path))
        latest = max(statuses, key=lambda s: (s["created_at"], s["id"]), default=None)
        self.stats.add("deployments")
        payload = {"deployment": deployment, "statuses": statuses}
        yield RawItem("deployments", self.key(f"deployment/{deployment['id']}"), payload)
        if latest is None or latest["state"] not in FINAL_DEPLOYMENT_STATES:
            return str(deployment["created_at"])
        return None

    def _next_mark(
        self, since: str | None, newest: str | None, open_times: list[str]
    ) -> dict[str, Any]:
        """From where the next pass reads: the oldest record still open (unless older than
        the lookback before the newest), else the newest record seen."""
        if newest is None:
            return {"since": since, "open": False}
        lookback = timedelta(days=self.config.deployment_lookback_days)
        floor = _time(newest) - lookback
        still_open = [t for t in open_times if _time(t) >= floor]
        return {"since": min(still_open, default=newest), "open": bool(still_open)}

    def releases(self) -> Iterator[RawItem | Checkpoint]:
        """Releases with the commit of their tag (from the tag list) when the list changed."""
        state = self.cursor.get("releases", {})
        pages = self.api.pages(f"{self.base}/releases", etag=state.get("etag"))
        first = next(pages)
        if first.not_modified:
            return
        tags = {}
        for tag in self.api.items(f"{self.base}/tags"):
            tags[tag["name"]] = tag["commit"]["sha"]
            yield RawItem("tags", self.key(f"tag/{tag['name']}"), tag)
        for page in chain([first], pages):
            for release in page.data:
                sha = tags.get(release["tag_name"])
                payload = {"release": release, "tag": {"name": release["tag_name"], "sha": sha}}
                self.stats.add("releases")
                yield RawItem("releases", self.key(f"release/{release['id']}"), payload)
        yield self.checkpoint("releases", {"etag": first.etag})

    def workflow_runs(self) -> Iterator[RawItem | Checkpoint]:
        """Runs created since the oldest run still going at the last pass (or the newest run);
        the jobs of a run are read once, when it has completed."""
        state = self.cursor.get("workflow_runs", {})
        params: dict[str, Any] = {}
        if state.get("since"):
            params["created"] = f">={state['since']}"
        since = state.get("since")
        newest, open_runs, first = since, {}, None
        path = f"{self.base}/actions/runs"
        for page in self.api.pages(path, etag=_etag_for(state, since), **params):
            if page.not_modified:
                return
            first = first or page.etag
            runs = page.data["workflow_runs"]
            keys = [self.key(f"run/{run['id']}") for run in runs]
            done = self.stored("workflow_runs", keys) - set(state.get("open", {}))
            for run, key in zip(runs, keys, strict=True):
                newest = max(newest or run["created_at"], run["created_at"])
                if run["status"] != "completed":
                    open_runs[key] = run["created_at"]
                elif key not in done and self.config.workflow_jobs:
                    # Jobs first: a stored run then always has its jobs stored too.
                    yield from self._jobs(run)
                self.stats.add("workflow_runs")
                yield RawItem("workflow_runs", key, run)
            yield self.checkpoint("workflow_runs", state)
        mark = self._next_mark(since, newest, list(open_runs.values()))
        still_open = {k: t for k, t in open_runs.items() if t >= mark["since"]}
        final = {"since": mark["since"], "open": still_open, "etag": first, "etag_since": since}
        yield self.checkpoint("workflow_runs", final)

    def issues(self) -> Iterator[RawItem | Checkpoint]:
        """Issues (not pull requests) updated since the last pass, oldest first: each page
        moves the mark, and drops the incidents of issues that no rule names any more."""
        state = self.cursor.get("issues", {})
        since = state.get("since")
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc"}
        if since:
            params["since"] = since
        first = None
        for page in self.api.pages(f"{self.base}/issues", etag=_etag_for(state, since), **params):
            if page.not_modified:
                return
            first = first or page.etag
            unnamed = []
            for issue in page.data:
                if issue.get("pull_request"):
                    continue
                self.stats.add("issues")
                if self.config.incidents.match(issue) is None:
                    unnamed.append(str(issue["id"]))
                else:
                    self.stats.add("incidents")
                yield RawItem("issues", self.key(f"issue/{issue['number']}"), issue)
            if page.data:
                state = {"since": max(issue["updated_at"] for issue in page.data)}
            finish = partial(remove_incidents, self.config.source, unnamed)
            yield Checkpoint({self.full_name: {**self.cursor, "issues": state}}, finish=finish)
            self.cursor["issues"] = state
        yield self.checkpoint("issues", {**state, "etag": first, "etag_since": since})

    def _jobs(self, run: dict[str, Any]) -> Iterator[RawItem]:
        for job in self.api.items(f"{self.base}/actions/runs/{run['id']}/jobs", "jobs"):
            self.stats.add("workflow_jobs")
            yield RawItem("workflow_jobs", self.key(f"job/{job['id']}"), job)


def _etag_for(state: dict[str, Any], since: str | None) -> str | None:
    """The ETag of the last pass, if it asked for the very same list (from the same mark)."""
    return state.get("etag") if state.get("etag_since") == since else None


def _time(value: str) -> datetime:
    parsed = parse_time(value)
    assert parsed is not None
    return parsed


def _request(url: str) -> dict[str, Any]:
    """The bronze envelope's request: where the record came from (no credentials)."""
    return {"method": "GET", "url": url}
