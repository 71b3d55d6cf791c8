"""Normalisers of GitHub and Jira sources, rebuilt from the configuration their last sync kept.

Their rows depend on the source's configuration (GitHub: the deployment rules of each
repository and the bot pattern; Jira: the incident rules and the bot pattern), which the
sync runner stores beside the cursors (`CONFIG_CURSOR`, secrets masked). Their checkpoint
steps are rebuilt from bronze and the cursors: a GitHub clone's refs as last seen (the newest
version of each ref whose commit is one of the tips the last clone saw) and the deployed
commits of each repository; Jira's parent links, each issue pointing at the last parent its
records named (syncs set parent links and never clear them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from diogen.connectors.base import RawItem, SilverRow
from diogen.connectors.github import GitHubConfig, GitHubConnector
from diogen.connectors.jira.config import JiraConfig
from diogen.connectors.jira.connector import link_parents, normalize
from diogen.connectors.jira.issues import JiraContext
from diogen.errors import NotFoundError
from diogen.ingest.bronze import load_cursors
from diogen.ingest.models import RawRecord
from diogen.ingest.runner import CONFIG_CURSOR
from diogen.silver import Deployment, Repository
from diogen.silver.deployments import link_deployed_commits
from diogen.silver.history import remove_stale_refs
from diogen.silver.keys import ref_id, repository_id


def stored_config(session: Session, source: str) -> dict[str, Any]:
    saved = load_cursors(session, source).get(CONFIG_CURSOR)
    if saved is None:
        raise NotFoundError(
            f"no configuration of {source} stored: sync it once with this version", source=source
        )
    return saved


def _offline(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("a replay never touches the network", request=request)


def github_normaliser(session: Session, source: str, _settings: Any) -> GitHubConnector:
    config = GitHubConfig.model_validate({**stored_config(session, source), "tokens": []})
    connector = GitHubConnector(config, transport=httpx.MockTransport(_offline))
    connector.api.close()  # only its normaliser is used
    return connector


def github_finish(session: Session, source: str) -> dict[str, Any]:
    summary = {"refs_removed": 0}
    for full_name, cursor in sorted(load_cursors(session, source).items()):
        if full_name == CONFIG_CURSOR:
            continue  # the configuration (its "commits" says where commits come from)
        tips = (cursor.get("commits") or {}).get("tips")
        if tips is None:
            continue
        repo = repository_id(source, full_name.lower())
        current = _current_refs(session, source, full_name, repo, set(tips))
        summary["refs_removed"] += remove_stale_refs(session, repo, current)
    repositories = session.scalars(
        select(Repository.id)
        .where(Repository.source == source)
        .where(Repository.id.in_(select(Deployment.repository_id)))
        .order_by(Repository.id)
    )
    for repo in list(repositories):
        summary.update(link_deployed_commits(session, repo))
    return summary


def _current_refs(
    session: Session, source: str, full_name: str, repo: str, tips: set[str]
) -> set[str]:
    newest: dict[str, dict[str, Any]] = {}
    for key, payload in session.execute(
        select(RawRecord.natural_key, RawRecord.payload)
        .where(RawRecord.source == source, RawRecord.stream == "refs")
        .where(RawRecord.natural_key.startswith(f"{full_name}#ref/", autoescape=True))
        .order_by(RawRecord.fetched_at, RawRecord.id)
    ):
        newest[key] = payload
    return {
        ref_id(repo, ref["kind"], ref["name"])
        for ref in newest.values()
        if ref["commit_sha"] in tips
    }


class JiraNormaliser:
    def __init__(self, context: JiraContext) -> None:
        self.context = context

    def normalize(self, item: RawItem) -> Iterable[SilverRow]:
        return normalize(self.context, item)


def jira_context(session: Session, source: str) -> JiraContext:
    config = JiraConfig.model_validate(stored_config(session, source))
    return JiraContext(config.source, config.incidents, config.bot_pattern)


def jira_normaliser(session: Session, source: str, _settings: Any) -> JiraNormaliser:
    return JiraNormaliser(jira_context(session, source))


def jira_finish(session: Session, source: str) -> dict[str, Any]:
    context = jira_context(session, source)
    pairs: dict[str, str] = {}
    for (payload,) in session.execute(
        select(RawRecord.payload)
        .where(RawRecord.source == source, RawRecord.stream == "issues")
        .order_by(RawRecord.fetched_at, RawRecord.id)
    ):
        issue = payload.get("issue") or {}
        parent = (issue.get("fields") or {}).get("parent") or {}
        if parent.get("id") and issue.get("id"):
            pairs[context.issue_id(issue["id"])] = context.issue_id(parent["id"])
    return link_parents(session, pairs) if pairs else {}
