"""`diogen doctor` and `data_quality`: exact counts on a real synced repository, both engines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from diogen.cli.app import app
from diogen.connectors.git import GitConfig, GitConnector
from diogen.db import session_scope
from diogen.errors import NotFoundError
from diogen.ingest.runner import run_sync
from diogen.metrics import QUALITY_CHECKS, Scope, data_quality
from diogen.silver import Commit, DeploymentCommit, PullRequest, PullRequestCommit
from diogen.testing.gitrepo import GitRepo
from diogen.testing.synthetic_org import generate_organization

DIOGEN = str(Path(sys.executable).parent / "diogen")
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
ANN_WORK = ("Ann Lee", "ann@work.example")
ANN_HOME = ("ann lee", "ann@home.example")


def sync(engine: Engine, path: Path, name: str, tmp_path: Path) -> None:
    config = GitConfig(location=str(path), name=name, cache_dir=tmp_path / "cache")
    result = run_sync(engine, GitConnector(config))
    assert result.rejected == 0


def build_shop(tmp_path: Path, engine: Engine) -> dict[str, str]:
    """c1 (Ann, work) → c2 (ann, home) tagged v1.0 (lightweight) and v1.0.0 (annotated, later);
    v1.0.1 re-tags c1 later (a redeploy); a commit force-pushed away; then c3 and a merged
    feature branch (f1) after the last tag: undeployed."""
    repo = GitRepo(tmp_path / "shop")
    shas = {"c1": repo.commit("c1", T0, author=ANN_WORK)}
    shas["c2"] = repo.commit("c2", T0 + timedelta(hours=1), author=ANN_HOME)
    repo.tag("v1.0")
    repo.tag("v1.0.0", when=T0 + timedelta(days=1), message="release")
    repo.tag("v1.0.1", when=T0 + timedelta(days=1, hours=1), message="redeploy", ref=shas["c1"])
    shas["doomed"] = repo.commit("doomed", T0 + timedelta(days=2))
    sync(engine, repo.path, "shop", tmp_path)
    repo.git("reset", "-q", "--hard", shas["c2"])
    shas["c3"] = repo.commit("c3", T0 + timedelta(days=3))
    repo.checkout("feature", create=True)
    shas["f1"] = repo.commit("f1", T0 + timedelta(days=3, hours=1))
    repo.checkout("main")
    shas["merge"] = repo.merge("feature", T0 + timedelta(days=4))
    sync(engine, repo.path, "shop", tmp_path)
    return shas


def build_other(tmp_path: Path, engine: Engine) -> str:
    repo = GitRepo(tmp_path / "other")
    sha = repo.commit("lonely", T0 + timedelta(days=5))
    sync(engine, repo.path, "other", tmp_path)
    return sha


def findings(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["check"]: finding for finding in report["findings"]}


def counts(report: dict[str, Any]) -> dict[str, int]:
    return {check: finding["count"] for check, finding in findings(report).items()}


def test_repository_report_has_exact_counts(tmp_path: Path, engine: Engine) -> None:
    shas = build_shop(tmp_path, engine)
    build_other(tmp_path, engine)
    with session_scope(engine) as session:
        report = data_quality(session, Scope(repo="shop"))
    assert report["scope"] == {"repo": "shop"}
    assert list(findings(report)) == list(QUALITY_CHECKS)
    assert counts(report) == {
        "undeployed_changes": 2,
        "unreachable_commits": 1,
        "undeployed_pull_requests": 0,
        "deployments_without_commits": 1,
        "deployments_with_unknown_sha": 0,
        "unattributed_incidents": 0,
        "history_incomplete": 0,
        "identities_not_merged": 1,
        "release_tags_without_deployment": 1,
    }
    assert report["problems"] == 6
    found = findings(report)
    undeployed = found["undeployed_changes"]
    assert [e["sha"] for e in undeployed["examples"]] == [shas["c3"], shas["f1"]]
    assert undeployed["examples"][0]["date"] == "2024-03-07T09:00:00Z"
    assert undeployed["newest"] == "2024-03-07T10:00:00Z"
    assert [e["sha"] for e in found["unreachable_commits"]["examples"]] == [shas["doomed"]]
    redeploy = found["deployments_without_commits"]
    assert redeploy["by_reason"] == {"redeploy": 1, "commit_unknown": 0}
    assert [(e["ref"], e["sha"]) for e in redeploy["examples"]] == [("v1.0.1", shas["c1"])]
    assert redeploy["examples"][0]["reason"].startswith("redeploy")


def test_identities_and_release_tags_are_suggestions_with_reasons(
    tmp_path: Path, engine: Engine
) -> None:
    shas = build_shop(tmp_path, engine)
    with session_scope(engine) as session:
        found = findings(data_quality(session, Scope(repo="shop")))
    [ann] = found["identities_not_merged"]["examples"]
    assert ann["name"].casefold() == "ann lee"
    assert [person["email"] for person in ann["people"]] == [ANN_HOME[1], ANN_WORK[1]]
    assert len({person["person_id"] for person in ann["people"]}) == 2
    [tag] = found["release_tags_without_deployment"]["examples"]
    # v1.0 (lightweight: c2's commit time) is earlier than v1.0.0, so v1.0 is the release.
    assert (tag["ref"], tag["sha"], tag["date"]) == ("v1.0.0", shas["c2"], "2024-03-05T09:00:00Z")
    assert tag["reason"].startswith("same commit as release v1.0:")


def test_organisation_scope_covers_every_repository(tmp_path: Path, engine: Engine) -> None:
    build_shop(tmp_path, engine)
    lonely = build_other(tmp_path, engine)
    with session_scope(engine) as session:
        report = data_quality(session)
        assert report == data_quality(session, Scope())
    assert report["scope"] == {"org": None}
    undeployed = findings(report)["undeployed_changes"]
    assert undeployed["count"] == 3
    assert undeployed["examples"][-1] == {
        "repo": "other",
        "sha": lonely,
        "date": "2024-03-09T09:00:00Z",
        "subject": "lonely",
    }
    assert counts(report)["identities_not_merged"] == 1


def test_release_pattern_is_a_parameter(tmp_path: Path, engine: Engine) -> None:
    build_shop(tmp_path, engine)
    with session_scope(engine) as session:
        # Only v1.0.0 matches: it has no deployment of its own, though it is a release now.
        report = data_quality(session, Scope(repo="shop"), release_pattern=r"^v\d+\.\d+\.0$")
    [tag] = findings(report)["release_tags_without_deployment"]["examples"]
    assert tag["ref"] == "v1.0.0"


def test_shallow_clone_is_history_incomplete(tmp_path: Path, engine: Engine) -> None:
    source = GitRepo(tmp_path / "src")
    for i in range(4):
        source.commit(f"c{i}", T0 + timedelta(hours=i))
    source.tag("v2.0.0", when=T0 + timedelta(days=1), message="release")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", f"file://{source.path}", str(clone)], check=True
    )
    sync(engine, clone, "shallow", tmp_path)
    with session_scope(engine) as session:
        found = findings(data_quality(session, Scope(repo="shallow")))
    assert found["history_incomplete"]["count"] == 1
    assert [e["subject"] for e in found["history_incomplete"]["examples"]] == ["c2"]
    assert found["undeployed_changes"]["count"] == 0


def test_a_deployed_commit_whose_parent_is_not_stored_is_history_incomplete(
    tmp_path: Path, engine: Engine
) -> None:
    shas = build_shop(tmp_path, engine)
    with session_scope(engine) as session:
        before = findings(data_quality(session, Scope(repo="shop")))["history_incomplete"]
        # A gap: c2's parent (c1) as if it had never been stored.
        session.execute(update(Commit).where(Commit.sha == shas["c2"]).values(parents="f" * 40))
        after = findings(data_quality(session, Scope(repo="shop")))["history_incomplete"]
    assert before["count"] == 0
    assert after["count"] == 1
    assert [e["sha"] for e in after["examples"]] == [shas["c2"]]


def test_unknown_repository_is_not_found(tmp_path: Path, engine: Engine) -> None:
    build_other(tmp_path, engine)
    with session_scope(engine) as session, pytest.raises(NotFoundError, match="known: other"):
        data_quality(session, Scope(repo="nope"))


def test_cli_table_and_json(tmp_path: Path, engine: Engine, database_url: str) -> None:
    shas = build_shop(tmp_path, engine)
    runner = CliRunner()
    base = ["doctor", "--repo", "shop", "--database", database_url]
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0] == "Data quality of repository shop: 6 findings"
    assert any(line.startswith("2  changes not yet deployed: ") for line in lines)
    assert any(line.startswith("1  commits no longer reachable: ") for line in lines)
    assert any(shas["doomed"][:12] in line for line in lines)
    assert any("Ann Lee" in line and ANN_HOME[1] in line for line in lines)
    as_json = runner.invoke(app, [*base, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert counts(report)["undeployed_changes"] == 2 and report["problems"] == 6


def test_cli_unknown_repository_exits_1_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DIOGEN_DATABASE_URL", None)
    result = subprocess.run(
        [DIOGEN, "doctor", "--repo", "nope", "--database", f"sqlite:///{tmp_path / 'd.db'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: unknown repository 'nope': the database has no repositories yet\n"
    )


def test_undeployed_pull_requests_are_those_no_deployment_ships(engine: Engine) -> None:
    """Counted over a synthetic organisation against a walk in Python: a merged pull request
    is shipped when a deployed commit of its repository is its merge commit or one it lists."""
    generate_organization(engine, 0.005, seed=5)
    with session_scope(engine) as session:
        # Some pull requests shipped only by their listed commits, some by nothing.
        merges = session.execute(select(PullRequest.id, PullRequest.merge_commit_sha)).all()
        for pr_id, _ in merges[::7]:
            session.execute(
                update(PullRequest).where(PullRequest.id == pr_id).values(merge_commit_sha="0" * 40)
            )
        deployed = set(
            session.execute(
                select(Commit.repository_id, Commit.sha).join(
                    DeploymentCommit, DeploymentCommit.commit_id == Commit.id
                )
            )
        )
        listed: dict[str, set[str]] = {}
        for pr_id, sha in session.execute(
            select(PullRequestCommit.pull_request_id, PullRequestCommit.sha)
        ):
            listed.setdefault(pr_id, set()).add(sha)
        expected = sum(
            1
            for pr_id, repo, merge_sha in session.execute(
                select(
                    PullRequest.id, PullRequest.repository_id, PullRequest.merge_commit_sha
                ).where(PullRequest.merged_at.is_not(None))
            )
            if not {(repo, sha) for sha in {merge_sha} | listed.get(pr_id, set())} & deployed
        )
        report = data_quality(session)
    assert 0 < expected < len(merges)
    assert counts(report)["undeployed_pull_requests"] == expected
