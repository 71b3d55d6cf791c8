"""A fake GitHub for tests and benchmarks: REST and GraphQL over real HTTP on 127.0.0.1.

Its records are GitHub's own published examples (github-rest-openapi/examples) with ids,
numbers, dates and shas varied to make as many as a test asks for; its response headers are
those of a recorded GitHub exchange (octokit-fixtures). It pages with Link headers, counts
quota down per token, answers 304 to a matching If-None-Match (free, as GitHub does), and
injects faults: secondary limits, 5xx, slow answers. GraphQL queries are executed by
graphql-core against GitHub's published schema, over the same records.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from graphql import (
    FieldNode,
    GraphQLSchema,
    IntValueNode,
    VariableNode,
    build_schema,
    get_named_type,
    graphql_sync,
    parse,
)

from diogen.connectors.git.commits import log_commits
from diogen.connectors.git.repo import rev_list
from diogen.testing.fake_github_app import FakeApp, installed_app

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HEADER_SCENARIO = (
    "octokit-fixtures/scenarios/api.github.com/paginate-issues/normalized-fixture.json"
)
SCHEMA = "octokit-graphql-schema/schema.graphql"
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
OWN_HEADERS = {"content-length", "date", "link", "etag", "connection"}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


@cache
def github_schema(path: Path) -> GraphQLSchema:
    """GitHub's schema. Its published SDL repeats some fields and deprecates interface fields
    inconsistently; neither matters for validating or executing queries, so graphql-core's
    strict schema checks are skipped."""
    schema = build_schema(path.read_text(), assume_valid_sdl=True)
    schema._validation_errors = []
    return schema


@dataclass
class FakeRepo:
    repo: dict[str, Any]
    pulls: list[dict[str, Any]] = field(default_factory=list)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pr_commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    timeline: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    # The default branch's commits, newest first, and each commit's check runs and statuses.
    branch_commits: list[str] = field(default_factory=list)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    commit_statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Commits as GraphQL's Commit shows them, by oid (`add_history`).
    git_commits: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return str(self.repo["full_name"])


class Examples:
    """GitHub's example payloads, varied into as many records as asked for."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "github-rest-openapi" / "examples"

    def load(self, name: str) -> Any:
        return json.loads((self.dir / f"{name}.200.json").read_text())

    def one(self, name: str, key: str | None = None) -> dict[str, Any]:
        data = self.load(name)
        data = data[key] if key else data
        record: dict[str, Any] = copy.deepcopy(data[0] if isinstance(data, list) else data)
        return record

    def user(self, login: str, number: int, *, bot: bool = False) -> dict[str, Any]:
        user: dict[str, Any] = self.one("pulls__get")["user"]
        user.update(login=login, id=number, type="Bot" if bot else "User")
        user["html_url"] = f"https://github.com/{login}"
        return user

    def repository(
        self,
        full_name: str,
        *,
        clone_url: str | None = None,
        pull_requests: int = 0,
        reviews: int = 2,
        commits: int = 2,
        deployments: int = 0,
        releases: int = 0,
        runs: int = 0,
        shas: list[str] | None = None,
    ) -> FakeRepo:
        """A repository with that many records; shas (oldest first) are the commits that
        pull requests, deployments, releases and runs refer to."""
        repo = self.one("repos__get")
        owner, name = full_name.split("/")
        repo.update(name=name, full_name=full_name, id=int(fake_sha(full_name)[:7], 16))
        repo["owner"]["login"] = owner
        repo["html_url"] = f"https://github.com/{full_name}"
        repo.update(default_branch="main", clone_url=clone_url or repo["clone_url"])
        fake = FakeRepo(repo)
        commit_shas = shas or [fake_sha(full_name, "commit", i) for i in range(1, 11)]
        for number in range(1, pull_requests + 1):
            self.add_pull_request(fake, number, reviews, commits, commit_shas)
        for index in range(deployments):
            self.add_deployment(fake, index, commit_shas[min(index, len(commit_shas) - 1)])
        for index in range(releases):
            self.add_release(fake, index, commit_shas[min(index, len(commit_shas) - 1)])
        for index in range(runs):
            self.add_run(fake, index, commit_shas[min(index, len(commit_shas) - 1)])
        return fake

    def add_pull_request(
        self, fake: FakeRepo, number: int, reviews: int, commits: int, shas: list[str]
    ) -> dict[str, Any]:
        pr = self.one("pulls__get")
        created = T0 + timedelta(hours=6 * number)
        merged = number % 4 in (1, 2)
        draft_at_start = number % 7 == 0
        pr.update(
            number=number,
            id=2_000_000 + number,
            node_id=f"PR_{fake.repo['id']}_{number}",
            title=f"Change {number}",
            html_url=f"{fake.repo['html_url']}/pull/{number}",
            url=f"https://api.github.com/repos/{fake.full_name}/pulls/{number}",
            created_at=iso(created),
            updated_at=iso(created + timedelta(days=2)),
            state="open" if number % 4 == 0 else "closed",
            merged=merged,
            merged_at=iso(created + timedelta(days=1)) if merged else None,
            closed_at=iso(created + timedelta(days=1)) if number % 4 else None,
            merge_commit_sha=shas[number % len(shas)] if merged else None,
            draft=draft_at_start and number % 4 == 0,
            labels=pr["labels"] if number % 2 == 0 else [],
        )
        pr["base"]["ref"] = "main"
        if number % 5 == 0:
            pr["user"] = self.user("dependabot[bot]", 49699333, bot=True)
        fake.pulls.append(pr)
        fake.reviews[number] = [self._review(fake, pr, j, reviews) for j in range(reviews)]
        fake.pr_commits[number] = [self._pr_commit(shas, number, j) for j in range(commits)]
        fake.timeline[number] = self._timeline(pr, draft_at_start)
        if number % 3 == 0 and fake.reviews[number]:
            fake.review_comments.append(self._review_comment(fake, pr, fake.reviews[number][0]))
        return pr

    def _review(self, fake: FakeRepo, pr: dict[str, Any], j: int, count: int) -> dict[str, Any]:
        review = self.one("pulls__list-reviews")
        review_id = 30_000_000 + pr["number"] * 10_000 + j
        submitted = datetime.fromisoformat(pr["created_at"]) + timedelta(hours=j + 1)
        review.update(
            id=review_id,
            user=self.user(f"reviewer{j}", 5000 + j),
            state="APPROVED" if j == count - 1 else "COMMENTED",
            submitted_at=iso(submitted),
            html_url=f"{pr['html_url']}#pullrequestreview-{review_id}",
        )
        return review

    def _pr_commit(self, shas: list[str], number: int, j: int) -> dict[str, Any]:
        commit = self.one("pulls__list-commits")
        commit["sha"] = shas[(number + j) % len(shas)]
        return commit

    def _timeline(self, pr: dict[str, Any], draft_at_start: bool) -> list[dict[str, Any]]:
        created = datetime.fromisoformat(pr["created_at"])
        events: list[dict[str, Any]] = [
            {
                "__typename": "ReviewRequestedEvent",
                "createdAt": iso(created),
                "requestedReviewer": _reviewer("reviewer0", 5000),
            }
        ]
        if pr["number"] % 6 == 0:
            removed = iso(created + timedelta(minutes=30))
            events.append(
                {
                    "__typename": "ReviewRequestRemovedEvent",
                    "createdAt": removed,
                    "requestedReviewer": _reviewer("reviewer0", 5000),
                }
            )
        if draft_at_start and not pr["draft"]:
            ready = iso(created + timedelta(hours=3))
            events.append({"__typename": "ReadyForReviewEvent", "createdAt": ready})
        return events

    def _review_comment(
        self, fake: FakeRepo, pr: dict[str, Any], review: dict[str, Any]
    ) -> dict[str, Any]:
        comment = self.one("pulls__list-review-comments-for-repo")
        comment.update(
            id=40_000_000 + pr["number"],
            pull_request_review_id=review["id"],
            pull_request_url=f"https://api.github.com/repos/{fake.full_name}/pulls/{pr['number']}",
            user=review["user"],
            created_at=review["submitted_at"],
            updated_at=review["submitted_at"],
        )
        return comment

    def add_issue(
        self,
        fake: FakeRepo,
        number: int,
        *,
        labels: list[str],
        created: datetime,
        closed: datetime | None = None,
        body: str = "",
        title: str | None = None,
    ) -> dict[str, Any]:
        """An issue (GitHub's example issue, renumbered); closing or relabelling it later is
        `update_issue`."""
        issue = self.one("issues__list-for-repo")
        issue.pop("pull_request", None)
        label = issue["labels"][0]
        issue.update(
            id=3_000_000 + number,
            number=number,
            title=title or f"Issue {number}",
            body=body,
            labels=[{**label, "name": name} for name in labels],
            html_url=f"{fake.repo['html_url']}/issues/{number}",
            created_at=iso(created),
        )
        fake.issues.append(issue)
        self.update_issue(issue, closed=closed, at=closed or created)
        return issue

    def update_issue(
        self,
        issue: dict[str, Any],
        *,
        at: datetime,
        closed: datetime | None = None,
        labels: list[str] | None = None,
    ) -> None:
        issue.update(
            state="closed" if closed else "open",
            closed_at=iso(closed) if closed else None,
            updated_at=iso(at),
        )
        if labels is not None:
            template = self.one("issues__list-for-repo")["labels"][0]
            issue["labels"] = [{**template, "name": name} for name in labels]

    def add_history(self, fake: FakeRepo, path: Path, branch: str = "main") -> None:
        """The branch of the git repository at `path` as the repository's default branch: its
        commits for GraphQL (with the counts GitHub gives: lines added and deleted, files
        changed) and, newest first, for the REST commit list."""
        order = rev_list(path, [branch], [])
        fake.branch_commits = order
        for payload in log_commits(path, order, 1):
            files = payload["files"]
            fake.git_commits[payload["sha"]] = {
                "__typename": "Commit",
                "oid": payload["sha"],
                "message": payload["message"],
                "messageHeadline": payload["message"].split("\n", 1)[0],
                "additions": sum(f[2] or 0 for f in files),
                "deletions": sum(f[3] or 0 for f in files),
                "changedFilesIfAvailable": len(files),
                "author": _git_actor(payload["author"]),
                "committer": _git_actor(payload["committer"]),
                "authoredDate": _git_date(payload["author"], utc=True),
                "committedDate": _git_date(payload["committer"], utc=True),
                "parents": [{"oid": parent} for parent in payload["parents"]],
            }

    def add_check_run(
        self,
        fake: FakeRepo,
        sha: str,
        name: str,
        *,
        app: str,
        at: datetime,
        conclusion: str | None = "success",
    ) -> dict[str, Any]:
        """A check run by the app `app` (slug) on `sha`; conclusion None: still running."""
        run = self.one("checks__list-for-ref", "check_runs")
        runs = fake.check_runs.setdefault(sha, [])
        run.update(
            id=50_000 + sum(len(r) for r in fake.check_runs.values()) + 1,
            head_sha=sha,
            name=name,
            status="completed" if conclusion else "in_progress",
            conclusion=conclusion,
            started_at=iso(at),
            completed_at=iso(at + timedelta(minutes=4)) if conclusion else None,
        )
        run["app"]["slug"] = app
        runs.append(run)
        return run

    def add_commit_status(
        self, fake: FakeRepo, sha: str, context: str, state: str, at: datetime
    ) -> dict[str, Any]:
        """A status of `sha` for `context` (newest first, as GitHub lists them)."""
        status = self.one("repos__list-commit-statuses-for-ref")
        statuses = fake.commit_statuses.setdefault(sha, [])
        status.update(
            id=60_000 + sum(len(s) for s in fake.commit_statuses.values()) + 1,
            context=context,
            state=state,
            created_at=iso(at),
            updated_at=iso(at),
        )
        statuses.insert(0, status)
        return status

    def add_deployment(self, fake: FakeRepo, index: int, sha: str) -> dict[str, Any]:
        deployment = self.one("repos__list-deployments")
        created = T0 + timedelta(days=10 + index)
        deployment_id = 600_000 + len(fake.deployments) + 1
        deployment.update(
            id=deployment_id,
            sha=sha,
            ref="main",
            environment="production" if index % 2 == 0 else "staging",
            created_at=iso(created),
            updated_at=iso(created),
            url=f"https://api.github.com/repos/{fake.full_name}/deployments/{deployment_id}",
        )
        fake.deployments.insert(0, deployment)  # newest first, as GitHub lists them
        fake.statuses[deployment_id] = []
        self.add_status(fake, deployment_id, "in_progress", created)
        self.add_status(fake, deployment_id, "success", created + timedelta(minutes=10))
        return deployment

    def add_status(self, fake: FakeRepo, deployment_id: int, state: str, when: datetime) -> None:
        status = self.one("repos__list-deployment-statuses")
        statuses = fake.statuses[deployment_id]
        status.update(
            id=deployment_id * 10 + len(statuses),
            state=state,
            created_at=iso(when),
            updated_at=iso(when),
        )
        statuses.insert(0, status)

    def add_release(self, fake: FakeRepo, index: int, sha: str) -> None:
        release = self.one("repos__list-releases")
        tag_name = f"v1.{index}.0"
        published = T0 + timedelta(days=20 + index)
        release.update(
            id=700_000 + index,
            tag_name=tag_name,
            name=tag_name,
            draft=False,
            prerelease=False,
            created_at=iso(published),
            published_at=iso(published),
            html_url=f"{fake.repo['html_url']}/releases/tag/{tag_name}",
        )
        fake.releases.insert(0, release)
        tag = self.one("repos__list-tags")
        tag["name"] = tag_name
        tag["commit"]["sha"] = sha
        fake.tags.insert(0, tag)

    def add_run(self, fake: FakeRepo, index: int, sha: str) -> None:
        run = self.one("actions__list-workflow-runs-for-repo", "workflow_runs")
        created = T0 + timedelta(days=30 + index)
        deploy = index % 2 == 0
        run.update(
            id=800_000 + index,
            name="Deploy" if deploy else "CI",
            path=".github/workflows/deploy.yml" if deploy else ".github/workflows/ci.yml",
            head_branch="main",
            head_sha=sha,
            status="completed",
            conclusion="success" if index % 3 != 2 else "failure",
            created_at=iso(created),
            run_started_at=iso(created),
            updated_at=iso(created + timedelta(minutes=7)),
        )
        fake.runs.insert(0, run)
        jobs = []
        for j, name in enumerate(("build", "deploy" if deploy else "test")):
            job = self.one("actions__list-jobs-for-workflow-run", "jobs")
            job.update(
                id=900_000 + index * 10 + j,
                run_id=run["id"],
                name=name,
                head_sha=sha,
                started_at=iso(created + timedelta(minutes=j)),
                completed_at=iso(created + timedelta(minutes=j + 3)),
            )
            jobs.append(job)
        fake.jobs[run["id"]] = jobs


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str]
    delay: float = 0.0
    message: str | None = None


@dataclass
class Logged:
    method: str
    path: str
    status: int
    token: str | None
    cost: int = 0


class FakeGitHub:
    """The server. Use as a context manager; `url` is its REST root."""

    def __init__(
        self,
        data_dir: Path,
        *,
        tokens: dict[str, int] | None = None,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = data_dir
        self.examples = Examples(data_dir)
        self.repos: dict[str, FakeRepo] = {}
        self.owners: dict[str, list[str]] = {}
        # token → quota per window; None: any token, 5000 each.
        self.limits = tokens
        self.remaining: dict[str, int] = {}
        self.reset_at: dict[str, float] = {}
        self.prefix = prefix
        self.clock = clock
        self.faults: list[Fault] = []
        self.apps: list[FakeApp] = []
        # Organisation → its teams; a team's members (logins) and repositories (→ permission).
        self.teams: dict[str, list[dict[str, Any]]] = {}
        self.team_members: dict[int, list[str]] = {}
        self.team_maintainers: dict[int, list[str]] = {}
        self.team_repos: dict[int, dict[str, str]] = {}
        self.log: list[Logged] = []
        self.lock = threading.Lock()
        scenario = json.loads((data_dir / HEADER_SCENARIO).read_text())
        self.base_headers = {
            k: str(v) for k, v in scenario[0]["headers"].items() if k not in OWN_HEADERS
        }
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.root + self.prefix

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def add(self, repo: FakeRepo) -> FakeRepo:
        self.repos[repo.full_name] = repo
        self.owners.setdefault(repo.full_name.split("/")[0], []).append(repo.full_name)
        return repo

    def add_team(
        self,
        org: str,
        name: str,
        *,
        members: list[str] | None = None,
        maintainers: list[str] | None = None,
        repos: dict[str, str] | None = None,
        parent: dict[str, Any] | None = None,
        team_id: int | None = None,
    ) -> dict[str, Any]:
        """A team of `org` (GitHub's example team renamed), nested under `parent`; `repos` maps
        a repository's full name to the team's permission on it (pull … admin)."""
        team = self.examples.one("teams__list")
        team_id = team_id or 10_000 + sum(len(t) for t in self.teams.values()) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        team.update(id=team_id, name=name, slug=slug, parent=parent)
        team["html_url"] = f"https://github.com/orgs/{org}/teams/{slug}"
        self.teams.setdefault(org, []).append(team)
        self.team_members[team_id] = list(members or [])
        self.team_maintainers[team_id] = list(maintainers or [])
        self.team_repos[team_id] = dict(repos or {})
        return team

    def _team_list(self, org: str, slug: str, kind: str, role: str) -> list[dict[str, Any]]:
        team = next(t for t in self.teams.get(org, []) if t["slug"] == slug)
        if kind == "members":
            logins = self.team_members[team["id"]]
            if role == "maintainer":
                logins = [m for m in logins if m in self.team_maintainers[team["id"]]]
            return [self.examples.user(login, int(fake_sha(login)[:6], 16)) for login in logins]
        repos = []
        for full_name, permission in self.team_repos[team["id"]].items():
            repo = self.examples.one("teams__list-repos-in-org")
            repo.update(full_name=full_name, name=full_name.split("/")[1], role_name=permission)
            rank = ("pull", "triage", "push", "maintain", "admin").index(permission)
            repo["permissions"] = {
                flag: rank >= i
                for i, flag in enumerate(("pull", "triage", "push", "maintain", "admin"))
            }
            repos.append(repo)
        return repos

    def install_app(
        self,
        app_id: str,
        public_key: str,
        installations: dict[str, int],
        *,
        token_lifetime: float = 3600.0,
    ) -> FakeApp:
        """A GitHub App with this public key, installed on these owners (login → id); its
        installation tokens expire `token_lifetime` seconds after issue, on the fake's clock."""
        app = installed_app(self.examples.load, app_id, public_key, installations, token_lifetime)
        self.apps.append(app)
        return app

    def fail(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        message: str | None = None,
    ) -> None:
        """The next `times` requests whose path matches `path` (a regex) fail with `status`
        (0: answer normally, after `delay` seconds); a 403 or 429 says it is a secondary rate
        limit unless `message` says otherwise."""
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self.faults.append(Fault(re.compile(path), status, times, headers, delay, message))

    def requests(self, method: str | None = None) -> list[Logged]:
        return [r for r in self.log if method is None or r.method == method]

    # -- serving ------------------------------------------------------------------------------

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(target).path.removeprefix(self.prefix)
        query = {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
        token = _token(headers.get("authorization"))
        fault = self._fault(path)
        if fault is not None and fault.status:
            self._record(method, path, fault.status, token)
            limited = fault.status in (403, 429)
            message = {"message": fault.message or (SECONDARY if limited else "Server Error")}
            return fault.status, {**self.base_headers, **fault.headers}, _dump(message)
        for app in self.apps:
            answered = app.answer(method, path, token, self.clock())
            if answered is not None:
                self._record(method, path, answered[0], token)
                return answered[0], dict(self.base_headers), _dump(answered[1])
        if not self._authorised(token):
            self._record(method, path, 401, token)
            return 401, dict(self.base_headers), _dump({"message": "Bad credentials"})
        remaining, reset = self._quota(token)
        if remaining <= 0:
            self._record(method, path, 403, token)
            limit_headers = self._limit_headers(token, 0, reset)
            message = {"message": "API rate limit exceeded for user."}
            return 403, {**self.base_headers, **limit_headers}, _dump(message)
        try:
            if method == "POST" and path in ("/graphql", "/api/graphql"):
                status, data, cost = 200, *self._graphql(json.loads(body or b"{}"))
                links: dict[str, str] = {}
            else:
                status, data, links = self._rest(path, query)
                cost = 1
        except KeyError:
            status, data, links, cost = 404, {"message": "Not Found"}, {}, 1
        text = _dump(data)
        etag = '"' + hashlib.md5(text).hexdigest() + '"'
        if status == 200 and headers.get("if-none-match") == etag:
            self._record(method, path, 304, token)
            return 304, {**self.base_headers, "etag": etag}, b""
        with self.lock:
            self.remaining[token or ""] = remaining - cost
        self._record(method, path, status, token, cost)
        out = {**self.base_headers, **self._limit_headers(token, remaining - cost, reset)}
        out["etag"] = etag
        if links:
            out["link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        return status, out, text

    def _authorised(self, token: str | None) -> bool:
        if self.apps and token is not None and token.startswith("ghs_"):
            return any(app.valid(token, self.clock()) for app in self.apps)
        return self.limits is None or token in self.limits

    def _fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.pattern.search(path):
                    fault.times -= 1
                    break
            else:
                return None
        if fault.delay:
            time.sleep(fault.delay)
        return fault

    def _quota(self, token: str | None) -> tuple[int, float]:
        key = token or ""
        limit = (self.limits or {}).get(key, 5000)
        with self.lock:
            now = self.clock()
            if self.reset_at.get(key, 0.0) <= now:
                self.reset_at[key] = float(int(now) + 3600)
                self.remaining[key] = limit
            return self.remaining[key], self.reset_at[key]

    def _limit_headers(self, token: str | None, remaining: int, reset: float) -> dict[str, str]:
        limit = (self.limits or {}).get(token or "", 5000)
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, remaining)),
            "x-ratelimit-used": str(limit - max(0, remaining)),
            "x-ratelimit-reset": str(int(reset)),
        }

    def _record(
        self, method: str, path: str, status: int, token: str | None, cost: int = 0
    ) -> None:
        with self.lock:
            self.log.append(Logged(method, path, status, token, cost))

    def _rest(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        parts = path.strip("/").split("/")
        if parts == ["rate_limit"]:
            return 200, self._rate_limit(), {}
        if parts[0] == "orgs" and len(parts) >= 3 and parts[2] == "teams":
            if len(parts) == 3:
                if parts[1] not in self.teams:
                    raise KeyError(parts[1])
                return self._page(path, query, self.teams[parts[1]])
            if len(parts) == 5 and parts[4] in ("members", "repos"):
                try:
                    role = query.get("role", "all")
                    listed = self._team_list(parts[1], parts[3], parts[4], role)
                    return self._page(path, query, listed)
                except StopIteration:
                    raise KeyError(parts[3]) from None
            raise KeyError(path)
        if parts[0] in ("orgs", "users") and len(parts) == 3 and parts[2] == "repos":
            if parts[1] not in self.owners:
                raise KeyError(parts[1])
            repos = [self.repos[name].repo for name in self.owners[parts[1]]]
            return self._page(path, query, repos)
        if parts[0] != "repos" or len(parts) < 3:
            raise KeyError(path)
        repo = self.repos[f"{parts[1]}/{parts[2]}"]
        rest = "/".join(parts[3:])
        if not rest:
            return 200, repo.repo, {}
        return self._page(path, query, *self._list(repo, rest, query))

    def _rate_limit(self) -> dict[str, Any]:
        """GitHub's example answer; the figures are the fake's (the call itself is free)."""
        limits: dict[str, Any] = self.examples.load("rate-limit__get")
        core = {"limit": 5000, "remaining": 5000, "used": 0}
        limits["resources"]["core"].update(core)
        limits["rate"].update(core)
        return limits

    def _list(
        self, repo: FakeRepo, rest: str, query: dict[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The records of a list endpoint, in GitHub's order, and their wrapping key."""
        if rest == "pulls":
            pulls = sorted(repo.pulls, key=lambda p: p[query.get("sort", "created") + "_at"])
            return (pulls[::-1] if query.get("direction", "desc") == "desc" else pulls), None
        if rest == "issues":
            # Pull requests are issues too in this list, as GitHub lists them.
            as_issues = [
                {**pr, "pull_request": {"url": pr["url"]}, "labels": pr["labels"]}
                for pr in repo.pulls
            ]
            since = query.get("since", "")
            listed = [i for i in repo.issues + as_issues if i["updated_at"] >= since]
            return sorted(listed, key=lambda i: (i["updated_at"], i["number"])), None
        if rest == "commits":
            commit = self.examples.one("repos__list-commits")
            return [{**commit, "sha": sha} for sha in repo.branch_commits], None
        if match := re.fullmatch(r"commits/(\w+)/(check-runs|statuses)", rest):
            if match[2] == "check-runs":
                return repo.check_runs.get(match[1], []), "check_runs"
            return repo.commit_statuses.get(match[1], []), None
        if rest == "pulls/comments":
            since = query.get("since", "")
            comments = [c for c in repo.review_comments if c["updated_at"] >= since]
            return sorted(comments, key=lambda c: (c["updated_at"], c["id"])), None
        if match := re.fullmatch(r"pulls/(\d+)/(reviews|commits)", rest):
            per_pr = repo.reviews if match[2] == "reviews" else repo.pr_commits
            return per_pr[int(match[1])], None
        if match := re.fullmatch(r"deployments/(\d+)/statuses", rest):
            return repo.statuses[int(match[1])], None
        if match := re.fullmatch(r"actions/runs/(\d+)/jobs", rest):
            return repo.jobs[int(match[1])], "jobs"
        if rest == "actions/runs":
            since = query.get("created", ">=").removeprefix(">=")
            return [r for r in repo.runs if r["created_at"] >= since], "workflow_runs"
        lists = {"deployments": repo.deployments, "releases": repo.releases, "tags": repo.tags}
        return lists[rest], None

    def _page(
        self,
        path: str,
        query: dict[str, str],
        items: list[dict[str, Any]],
        key: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        size = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // size))
        links = {}
        for rel, number in (("next", page + 1), ("last", last), ("prev", page - 1), ("first", 1)):
            if 1 <= number <= last and number != page:
                links[rel] = f"{self.url}{path}?{urlencode({**query, 'page': number})}"
        chunk = items[(page - 1) * size : page * size]
        return 200, ({"total_count": len(items), key: chunk} if key else chunk), links

    def _graphql(self, request: dict[str, Any]) -> tuple[Any, int]:
        schema = github_schema(self.data_dir / SCHEMA)
        document = parse(request["query"])
        variables = request.get("variables") or {}
        cost = query_cost(document, variables)
        root = {
            "repository": lambda info, owner, name, **_: _graphql_repo(
                self.repos[f"{owner}/{name}"]
            ),
            "node": lambda info, id: self._node(id),
            "rateLimit": lambda info, **_: {
                "cost": cost,
                "remaining": 5000 - cost,
                "limit": 5000,
                "resetAt": iso(datetime.now(UTC) + timedelta(hours=1)),
            },
        }
        result = graphql_sync(
            schema, request["query"], root, variable_values=variables, field_resolver=_resolve
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [{"message": error.message} for error in result.errors]
        return body, cost

    def _node(self, node_id: str) -> dict[str, Any] | None:
        for repo in self.repos.values():
            for pr in _graphql_repo(repo)["pullRequests"]:
                if pr["id"] == node_id:
                    return dict(pr)
        return None


def query_cost(document: Any, variables: dict[str, Any]) -> int:
    """GitHub's rate-limit cost of a query: every connection is one request per parent node,
    assuming each is filled to its `first`/`last`; the sum over 100, at least 1."""
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}

    def walk(node: Any, parents: int) -> int:
        total = 0
        for selection in node.selection_set.selections if node.selection_set else ():
            if selection.kind == "fragment_spread":
                total += walk(fragments[selection.name.value], parents)
                continue
            size = _page_size(selection, variables) if isinstance(selection, FieldNode) else None
            if size is None:
                total += walk(selection, parents)
            else:
                total += parents + walk(selection, parents * size)
        return total

    operations = [d for d in document.definitions if d.kind == "operation_definition"]
    return max(1, round(sum(walk(op, 1) for op in operations) / 100))


def _page_size(field_node: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in field_node.arguments or ():
        if argument.name.value in ("first", "last"):
            value = argument.value
            if isinstance(value, VariableNode):
                return int(variables[value.name.value])
            if isinstance(value, IntValueNode):
                return int(value.value)
    return None


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    """Fields are dict keys; callables are called; lists under a *Connection type are paged."""
    value = source.get(info.field_name) if isinstance(source, dict) else None
    if callable(value):
        value = value(info, **args)
    if isinstance(value, list) and get_named_type(info.return_type).name.endswith("Connection"):
        return _connection(value, args)
    return value


def _connection(items: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    if "itemTypes" in args:
        wanted = {"".join(w.title() for w in t.split("_")) for t in args["itemTypes"]}
        items = [i for i in items if i["__typename"] in wanted]
    order = args.get("orderBy")
    key = re.sub(r"_(\w)", lambda m: m[1].upper(), order["field"].lower()) if order else ""
    if order and all(key in item for item in items):  # defaults may order by what we lack
        items = sorted(items, key=lambda i: i[key], reverse=order["direction"] == "DESC")
    start = int(base64.b64decode(args["after"]).decode().split(":")[1]) if args.get("after") else 0
    size = args.get("first") or 100
    chunk = items[start : start + size]
    cursors = [
        base64.b64encode(f"cursor:{start + i + 1}".encode()).decode() for i in range(len(chunk))
    ]
    return {
        "totalCount": len(items),
        "nodes": chunk,
        "edges": [{"node": n, "cursor": c} for n, c in zip(chunk, cursors, strict=True)],
        "pageInfo": {
            "hasNextPage": start + size < len(items),
            "hasPreviousPage": start > 0,
            "endCursor": cursors[-1] if cursors else None,
            "startCursor": cursors[0] if cursors else None,
        },
    }


def _graphql_repo(repo: FakeRepo) -> dict[str, Any]:
    """The repository as GraphQL sees it, built from the same REST records."""
    return {
        "pullRequests": [_graphql_pull(repo, pr) for pr in repo.pulls],
        "object": lambda info, oid=None, **_: _commit_object(repo, oid),
    }


def _commit_object(repo: FakeRepo, oid: str | None) -> dict[str, Any] | None:
    """A commit with its `history`: what it reaches, in the branch's (git log's) order."""
    if oid not in repo.git_commits:
        return None
    order = {sha: i for i, sha in enumerate(repo.branch_commits)}
    reached, todo = set(), [oid]
    while todo:
        sha = todo.pop()
        if sha not in reached:
            reached.add(sha)
            todo.extend(p["oid"] for p in repo.git_commits[sha]["parents"])
    history = [repo.git_commits[sha] for sha in sorted(reached, key=order.__getitem__)]
    return {**repo.git_commits[oid], "history": history}


def _git_actor(person: dict[str, Any]) -> dict[str, Any]:
    return {"name": person["name"], "email": person["email"], "date": _git_date(person)}


def _git_date(person: dict[str, Any], *, utc: bool = False) -> str:
    """A GitTimestamp keeps the commit's offset; a DateTime is in UTC."""
    offset = timedelta(minutes=0 if utc else person["offset"])
    when = datetime.fromtimestamp(person["time"], timezone(offset))
    return when.isoformat().replace("+00:00", "Z")


def _actor(user: dict[str, Any] | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "__typename": "Bot" if user.get("type") == "Bot" else "User",
        "login": user["login"],
        "url": user["html_url"],
        "databaseId": user["id"],
    }


def _graphql_pull(repo: FakeRepo, pr: dict[str, Any]) -> dict[str, Any]:
    number = pr["number"]
    state = "MERGED" if pr.get("merged_at") else pr["state"].upper()
    return {
        "__typename": "PullRequest",
        "id": pr["node_id"],
        "fullDatabaseId": str(pr["id"]),
        "number": number,
        "title": pr["title"],
        "body": pr.get("body") or "",  # GraphQL's body is never null; REST's may be
        "url": pr["html_url"],
        "state": state,
        "isDraft": pr["draft"],
        "createdAt": pr["created_at"],
        "updatedAt": pr["updated_at"],
        "mergedAt": pr["merged_at"],
        "closedAt": pr["closed_at"],
        "baseRefName": pr["base"]["ref"],
        "headRefName": pr["head"]["ref"],
        "additions": pr["additions"],
        "deletions": pr["deletions"],
        "author": _actor(pr["user"]),
        "mergeCommit": {"oid": pr["merge_commit_sha"]} if pr.get("merged_at") else None,
        "labels": [{"name": label["name"]} for label in pr["labels"]],
        "reviews": [
            {
                "fullDatabaseId": str(r["id"]),
                "state": r["state"],
                "submittedAt": r["submitted_at"],
                "url": r["html_url"],
                "author": _actor(r["user"]),
            }
            for r in repo.reviews.get(number, [])
        ],
        "commits": [
            {
                "commit": {
                    "oid": c["sha"],
                    "authoredDate": c["commit"]["author"]["date"],
                    "committedDate": c["commit"]["committer"]["date"],
                }
            }
            for c in repo.pr_commits.get(number, [])
        ],
        "timelineItems": repo.timeline.get(number, []),
        "reviewRequests": [
            {"asCodeOwner": False, "requestedReviewer": _reviewer(u["login"], u["id"])}
            for u in pr.get("requested_reviewers") or []
        ]
        + [
            {"asCodeOwner": True, "requestedReviewer": {"__typename": "Team", "slug": t["slug"]}}
            for t in pr.get("requested_teams") or []
        ],
    }


def _reviewer(login: str, database_id: int) -> dict[str, Any]:
    url = f"https://github.com/{login}"
    return {"__typename": "User", "login": login, "url": url, "databaseId": database_id}


def _token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    return authorization.split(" ", 1)[-1]


def _dump(data: Any) -> bytes:
    return json.dumps(data).encode()


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out, text = fake.answer(method, self.path, headers, body)
            self.send_response(status)
            for name, value in out.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `fake.log` instead."""

    return Handler
