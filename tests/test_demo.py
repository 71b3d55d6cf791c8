"""`diogen demo`: fresh embedded database, one sync, the metrics printed, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from diogen.testing.gitrepo import GitRepo

DIOGEN = str(Path(sys.executable).parent / "diogen")
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def run(*args: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PATH": path or os.environ["PATH"]}
    env.pop("DIOGEN_DATABASE_URL", None)
    return subprocess.run(
        [DIOGEN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_demo_on_a_repository_with_releases(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "shop")
    repo.commit("a", T0)  # lead time to v1.0.0: 24 h
    repo.commit("b", T0 + timedelta(hours=12))  # 12 h
    repo.tag("v1.0.0", when=T0 + timedelta(days=1), message="one")
    repo.commit("c", T0 + timedelta(days=2))  # 48 h to v1.1.0
    repo.tag("v1.1.0", when=T0 + timedelta(days=4), message="two")
    work = tmp_path / "work"
    work.mkdir()
    first = run("demo", "--repo", str(repo.path), cwd=work)
    assert first.returncode == 0, first.stderr
    assert "Deployment frequency" in first.stdout and "2 deployments" in first.stdout
    assert "synced shop: 3 commits, 2 releases" in first.stderr
    again = run("demo", "--repo", str(repo.path), cwd=work)
    assert again.returncode == 0 and "3 commits" in again.stderr  # a fresh database each time
    report = run(
        "metrics",
        "dora",
        "--repo",
        "shop",
        "--database",
        "sqlite:///diogen-demo.db",
        "--from",
        "2024-03-01",
        "--to",
        "2024-04-01",
        "--format",
        "json",
        cwd=work,
    )
    lead = json.loads(report.stdout)["lead_time_for_changes"]
    assert (lead["changes"], lead["median_hours"]) == (3, 24.0)


def test_demo_on_the_diogen_checkout(tmp_path: Path) -> None:
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Lead time for changes" in result.stdout
    assert (tmp_path / "diogen-demo.db").exists()


def test_demo_on_a_missing_repository_is_one_line(tmp_path: Path) -> None:
    result = run("demo", "--repo", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: no such directory: {tmp_path / 'nope'}"


def test_demo_with_a_release_pattern(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "svc")
    repo.commit("a", T0)
    repo.tag("release-1", when=T0 + timedelta(hours=6), message="first")
    result = run(
        "demo", "--repo", str(repo.path), "--release-pattern", r"^release-\d+$", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1 deployments" in result.stdout


def test_demo_hints_call_diogen_the_way_it_was_called(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "svc")
    repo.commit("a", T0)
    hint = "metrics dora --database sqlite:///diogen-demo.db --repo svc"
    outside_path = run("demo", "--repo", str(repo.path), cwd=tmp_path, path="/usr/bin:/bin")
    assert f"  {DIOGEN} {hint}" in outside_path.stderr
    venv_on_path = f"{Path(DIOGEN).parent}:/usr/bin:/bin"
    on_path = run("demo", "--repo", str(repo.path), cwd=tmp_path, path=venv_on_path)
    assert f"  diogen {hint}" in on_path.stderr


def test_demo_sample_generates_an_organisation_and_reports_on_it(tmp_path: Path) -> None:
    result = run("demo", "--sample", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "generated the sample organisation acme: 5,000 commits" in result.stderr
    assert "DORA metrics for the organisation, 2024-10-07T00:00:00Z to 2025-01-06" in result.stdout
    assert "20 deployments, 1.54/week, 17 deploy days" in result.stdout
    assert "demo --sample --serve" in result.stderr
    report = run(
        "metrics",
        "dora",
        "--team",
        "payments",
        "--database",
        "sqlite:///diogen-demo.db",
        "--from",
        "2024-10-07",
        "--to",
        "2025-01-06",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert json.loads(report.stdout)["deployment_frequency"]["deployments"] == 10


def test_demo_sample_refuses_a_repository_or_a_filled_database(tmp_path: Path) -> None:
    both = run("demo", "--sample", "--repo", str(tmp_path), cwd=tmp_path)
    assert both.returncode == 2
    assert both.stderr == "error: --sample generates its own data: leave out --repo\n"
    database = f"sqlite:///{tmp_path / 'mine.db'}"
    assert run("demo", "--sample", "--database", database, cwd=tmp_path).returncode == 0
    again = run("demo", "--sample", "--database", database, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "error: --sample needs an empty database: leave out --database"
    ]
