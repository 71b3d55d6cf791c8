"""GitHub request economy: what `diogen sync github` spends for a repository of N pull requests,
against the REST-only way of reading the same pull requests with their reviews and commits.

    .venv/bin/python bench/github_requests.py [--pull-requests 100 500] [--reviews 2]

Runs against the fake GitHub (diogen.testing.fake_github) on 127.0.0.1, which needs the shared
payloads (../shared/data, or DIOGEN_SHARED_DATA). For each N it reports:

  * the sync's GraphQL requests and points for the pull requests (target: at most one request
    per 25 pull requests whose nested lists fit one page; a point per request),
  * the REST-only reference measured on the same server: the pull request list (100 a page)
    plus, for every pull request, its reviews and its commits (GitHub's REST has no nested
    reads), i.e. N/100 + 2N requests,
  * a re-sync with nothing new: how many requests, and that every one was a free 304.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.http import HttpClient
from diogen.db import make_engine
from diogen.ingest.runner import run_sync
from diogen.migrations import upgrade
from diogen.testing.fake_github import FakeGitHub

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("DIOGEN_SHARED_DATA", HERE.parents[1] / "shared" / "data"))


def rest_only(fake: FakeGitHub, full_name: str) -> int:
    """Requests to read every pull request with its reviews and commits over REST alone."""
    http = HttpClient(fake.url + "/", tokens=["bench"])
    numbers = [
        pr["number"]
        for page in http.pages(f"repos/{full_name}/pulls", {"state": "all", "per_page": 100})
        for pr in page.data
    ]
    for number in numbers:
        for nested in ("reviews", "commits"):
            list(http.pages(f"repos/{full_name}/pulls/{number}/{nested}", {"per_page": 100}))
    http.close()
    return http.stats.counters["requests"]


def measure(count: int, reviews: int, workdir: Path) -> dict[str, int]:
    with FakeGitHub(SHARED) as fake:
        full_name = "bench/app"
        fake.add(fake.examples.repository(full_name, pull_requests=count, reviews=reviews))
        engine = make_engine(f"sqlite:///{workdir / f'bench-{count}.db'}")
        upgrade(engine)
        config = GitHubConfig(
            repos=[full_name], api_url=fake.url, tokens=["bench"], clone=False, cache_dir=workdir
        )
        first = run_sync(engine, GitHubConnector(config)).summary
        graphql = fake.requests("POST")
        run_sync(engine, GitHubConnector(config))  # settles the marks the first pass moved
        mark = len(fake.log)
        again = run_sync(engine, GitHubConnector(config)).summary
        resync = fake.log[mark:]
        engine.dispose()
        return {
            "pull_requests": count,
            "sync_requests": first["requests"],
            "graphql_requests": len(graphql),
            "graphql_points": sum(r.cost for r in graphql),
            "rest_only_requests": rest_only(fake, full_name),
            "resync_requests": again["requests"],
            "resync_not_modified": sum(r.status == 304 for r in resync),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pull-requests", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--reviews", type=int, default=2)
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"shared payloads not found at {SHARED}")
    header = (
        f"{'PRs':>6} {'sync req':>9} {'GraphQL req':>12} {'points':>7} {'REST-only req':>14}"
        f" {'PRs/GraphQL req':>16} {'re-sync req':>12} {'of them 304':>12}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.pull_requests:
            m = measure(count, args.reviews, Path(tmp))
            print(
                f"{m['pull_requests']:>6} {m['sync_requests']:>9} {m['graphql_requests']:>12}"
                f" {m['graphql_points']:>7} {m['rest_only_requests']:>14}"
                f" {m['pull_requests'] / m['graphql_requests']:>16.1f}"
                f" {m['resync_requests']:>12} {m['resync_not_modified']:>12}"
            )


if __name__ == "__main__":
    main()
