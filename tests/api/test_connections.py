"""Stored source connections over the API: write-only encrypted secrets, options checked as the
CLI checks them, test-connection against the fake providers over real HTTP, and the scheduler
running them (GET /sources shows their schedule or why they cannot be scheduled)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from api_support import NOW, World, make_world
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from diogen.accounts.models import AuditEntry
from diogen.db import session_scope
from diogen.ingest.models import SyncCursor
from diogen.processing import scheduler
from diogen.processing.locks import FileLocks
from diogen.sources import service
from diogen.sources.models import SourceConnection
from diogen.testing.fake_asana import FakeAsana
from diogen.testing.fake_github import FakeGitHub
from diogen.testing.fake_jira import FakeJira
from diogen.testing.fake_linear import FakeLinear
from diogen.testing.gitrepo import GitRepo

V = "/api/v1/connections"
KEY = Fernet.generate_key().decode()
TOKEN = "ghp_connection_secret_0123456789"


@pytest.fixture
def keyed(database_url: str) -> Iterator[World]:
    made = make_world(database_url, secret_key=KEY)
    yield made
    made.close()


def _post(world: World, body: dict[str, Any], who: str = "root") -> Any:
    return world.client.post(V, json=body, headers=world.headers(who))


def _github(fake: FakeGitHub, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "github",
        "name": "octo",
        "options": {"repos": ["octo/app"], "api_url": fake.url, "commits": "none"},
        **extra,
    }


def _source(fake: FakeGitHub) -> str:
    return f"github@{urlsplit(fake.url).netloc}"


def _everything_said(world: World, caplog: pytest.LogCaptureFixture) -> str:
    """Every place a secret could leak to: logs, the audit log, the stored row's columns."""
    with session_scope(world.engine) as session:
        audit = [str(a.changes) for a in session.scalars(select(AuditEntry))]
        rows = [
            f"{r.config} {r.secret_meta} {r.secret_box} {r.test_detail}"
            for r in session.scalars(select(SourceConnection))
        ]
    return "\n".join([caplog.text, *audit, *rows])


def test_secrets_are_write_only_encrypted_and_never_said(
    keyed: World, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeGitHub(shared_data, tokens={TOKEN: 5000}) as fake:
        fake.add(fake.examples.repository("octo/app", pull_requests=2))
        made = _post(keyed, _github(fake, secrets={"token": TOKEN}, interval_minutes=45))
        assert made.status_code == 201, made.text
        body = made.json()
        read = keyed.get("root", f"{V}/{body['id']}")
        listed = keyed.get("root", V)
        tested = keyed.client.post(f"{V}/octo/test", headers=keyed.headers("root"))

    assert body["secrets"] == {
        "token": {"set": True, "updated_at": "2024-03-01T12:00:00Z"},
        "webhook_secret": {"set": False, "updated_at": None},
    }
    assert (body["source"], body["schedule"], body["interval_minutes"]) == (
        _source(fake),
        "every 45 min",
        45.0,
    )
    assert read.json() == body and listed.json()["items"] == [body]
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True
    assert tested.json()["detail"].startswith("authenticated; ")
    assert "octo/app is readable" in tested.json()["detail"]
    for answer in (made, read, listed, tested):
        assert TOKEN not in answer.text
    with session_scope(keyed.engine) as session:
        (row,) = session.scalars(select(SourceConnection))
        assert row.secret_box and TOKEN not in row.secret_box
        assert Fernet(KEY.encode()).decrypt(row.secret_box.encode()).decode().find(TOKEN) > 0
    assert TOKEN not in _everything_said(keyed, caplog)
    actions = [a["action"] for a in keyed.get("root", "/api/v1/audit").json()["items"]]
    assert {"connection.create", "connection.test"} <= set(actions)


def test_a_refused_credential_is_the_providers_message_not_an_error(
    keyed: World, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "ghp_wrong_token_abcdefghij"
    with FakeGitHub(shared_data, tokens={TOKEN: 5000}) as fake:
        fake.add(fake.examples.repository("octo/app"))
        _post(keyed, _github(fake, secrets={"token": wrong}))
        tested = keyed.client.post(f"{V}/octo/test", headers=keyed.headers("root"))
    unreachable = keyed.client.patch(
        f"{V}/octo",
        json={"options": {"repos": ["octo/app"], "api_url": "http://127.0.0.1:9"}},
        headers=keyed.headers("root"),
    )
    down = keyed.client.post(f"{V}/octo/test", headers=keyed.headers("root"))

    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is False
    assert tested.json()["detail"].endswith("rate_limit answered 401: Bad credentials")
    assert unreachable.status_code == 200, unreachable.text
    assert (down.status_code, down.json()["ok"]) == (200, False)
    assert "ConnectError" in down.json()["detail"]
    shown = keyed.get("root", f"{V}/octo").json()["last_test"]
    assert (shown["ok"], shown["detail"]) == (False, down.json()["detail"])
    assert wrong not in _everything_said(keyed, caplog) + tested.text


def test_the_worker_runs_a_connection_and_sources_show_it(
    keyed: World, shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    root = keyed.headers("root")
    with FakeGitHub(shared_data, tokens={TOKEN: 5000}) as fake:
        fake.add(fake.examples.repository("octo/app", pull_requests=3))
        _post(keyed, _github(fake, secrets={"token": TOKEN}))
        (before,) = keyed.get("root", "/api/v1/sources").json()["items"]
        asked = keyed.client.post(f"/api/v1/sources/{_source(fake)}/sync", headers=root)
        locks = FileLocks(tmp_path / "locks")
        later = NOW + timedelta(minutes=1)
        ran = scheduler.run_due(
            keyed.engine, keyed.state.settings, locks, lambda: later, lambda: False, {}
        )
    assert (before["source"], before["connection"], before["last_status"]) == (
        _source(fake),
        "octo",
        None,
    )
    assert (before["schedule"], before["can_sync"]) == ("every 30 min", True)
    assert asked.status_code == 202, asked.text
    assert [r.source for r in ran] == [_source(fake)] and ran[0].records > 0
    (after,) = keyed.get("root", "/api/v1/sources").json()["items"]
    assert (after["last_status"], after["sync_requested_at"]) == ("succeeded", None)
    assert TOKEN not in _everything_said(keyed, caplog)
    with session_scope(keyed.engine) as session:  # nor what the sync stored of its config
        stored = session.scalars(select(SyncCursor.value)).all()
    assert stored and TOKEN not in str(stored)


def test_refusal_reasons_are_shown_and_answered(keyed: World, shared_data: Path) -> None:
    root = keyed.headers("root")
    with FakeGitHub(shared_data) as fake:
        _post(keyed, _github(fake))
    jira = {
        "kind": "jira",
        "name": "site",
        "options": {"url": "https://jira.example.com", "projects": ["eng"]},
        "secrets": {"token": "jira-secret"},
        "enabled": False,
    }
    made = _post(keyed, jira)
    assert made.json()["options"] == {"url": "https://jira.example.com", "projects": ["ENG"]}

    items = {i["source"]: i for i in keyed.get("root", "/api/v1/sources").json()["items"]}
    asked = keyed.client.post(f"/api/v1/sources/{_source(fake)}/sync", headers=root)
    disabled = keyed.client.post("/api/v1/sources/jira@jira.example.com/sync", headers=root)

    no_token = "no token is set for connection 'octo': set its `token` secret"
    assert items[_source(fake)]["schedule"] == f"cannot be scheduled: {no_token}"
    assert items["jira@jira.example.com"]["schedule"] == (
        "cannot be scheduled: connection 'site' is disabled"
    )
    assert (asked.status_code, asked.json()["detail"]) == (
        409,
        f"{_source(fake)} cannot be scheduled: {no_token}",
    )
    assert disabled.status_code == 409
    enabled = keyed.client.patch(f"{V}/site", json={"enabled": True}, headers=root)
    assert enabled.json()["schedule"] == "every 15 min"


def test_bad_input_is_a_clear_4xx(keyed: World) -> None:
    github = {"kind": "github", "name": "g", "options": {"repos": ["acme/api"]}}
    cases: list[tuple[dict[str, Any], int, str]] = [
        (
            {**github, "options": {"repos": ["nope"]}},
            400,
            "invalid github options: repos: 'nope' is not OWNER/NAME",
        ),
        ({**github, "options": {"repos": ["a/b"], "token": "x"}}, 400, "token cannot be an option"),
        (
            {**github, "options": {"repos": ["a/b"], "colour": 1}},
            400,
            "unknown github option(s) colour",
        ),
        ({**github, "secrets": {"password": "x"}}, 400, "unknown github secret(s) password"),
        ({**github, "options": {}}, 400, "give either repositories"),
        (
            {"kind": "jira", "name": "j", "options": {"url": "x", "projects": ["A"]}},
            400,
            "is not an http(s) URL",
        ),
        ({"kind": "svn", "name": "s"}, 422, "kind"),
    ]
    for body, status, words in cases:
        answer = _post(keyed, body)
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.json()["detail"], answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert _post(keyed, github).status_code == 201
    twice = _post(keyed, github)
    same_source = _post(keyed, {**github, "name": "other"})
    assert (twice.status_code, same_source.status_code) == (409, 409)
    assert "connection 'g' already syncs github" in same_source.json()["detail"]

    keyed.state.settings = keyed.state.settings.model_copy(update={"secret_key": None})
    github = {
        **github,
        "name": "h",
        "options": {"repos": ["acme/api"], "api_url": "https://ghe.example.com/api/v3"},
    }
    no_key = _post(keyed, {**github, "secrets": {"token": TOKEN}})
    assert no_key.status_code == 400
    assert "DIOGEN_SECRET_KEY is not set" in no_key.json()["detail"]
    assert TOKEN not in no_key.text
    assert _post(keyed, github).status_code == 201  # no secret: no key needed


def test_patch_replaces_and_clears_secrets(keyed: World) -> None:
    root = keyed.headers("root")
    made = _post(
        keyed,
        {"kind": "asana", "name": "a", "options": {"projects": ["1"]}, "secrets": {"token": "t1"}},
    ).json()
    later = NOW + timedelta(minutes=30)  # the test's access tokens last an hour
    keyed.state.clock = lambda: later
    replaced = keyed.client.patch(
        f"{V}/{made['id']}", json={"secrets": {"token": "t2"}}, headers=root
    )
    with session_scope(keyed.engine) as session:
        row = session.get(SourceConnection, made["id"])
        assert row is not None
        opened = service.full_config(row, keyed.state.settings)[1]
    renamed = keyed.client.patch(
        f"{V}/a",
        json={"name": "b", "interval_minutes": 0, "options": {"projects": ["2"]}},
        headers=root,
    )
    cleared = keyed.client.patch(f"{V}/b", json={"secrets": {"token": None}}, headers=root)

    assert replaced.json()["secrets"]["token"] == {
        "set": True,
        "updated_at": "2024-03-01T12:30:00Z",
    }
    assert opened == {"token": "t2"}
    assert (renamed.json()["name"], renamed.json()["schedule"]) == ("b", None)
    assert renamed.json()["options"] == {"projects": ["2"]}
    assert cleared.json()["secrets"]["token"] == {"set": False, "updated_at": None}
    gone = keyed.client.delete(f"{V}/b", headers=root)
    assert gone.status_code == 204
    assert keyed.get("root", f"{V}/b").status_code == 404


def test_jira_linear_asana_and_git_connections_test_against_their_providers(
    keyed: World, shared_data: Path, tmp_path: Path
) -> None:
    origin = GitRepo(tmp_path / "origin")
    origin.commit("first", NOW - timedelta(days=1))
    results: dict[str, Any] = {}
    with (
        FakeJira(shared_data, flavor="cloud", email="bot@example.com", token="jira-t") as jira,
        FakeLinear(shared_data, api_key="lin_api_key") as linear,
        FakeAsana(shared_data, token="asana-t") as asana,
    ):
        bodies = [
            (
                "jira",
                {
                    "url": jira.url,
                    "projects": ["ENG"],
                    "email": "bot@example.com",
                    "flavor": "cloud",
                },
                {"token": "jira-t"},
            ),
            ("linear", {"teams": ["ENG"], "api_url": linear.url}, {"api_key": "lin_api_key"}),
            ("asana", {"projects": ["1"], "api_url": asana.url}, {"token": "asana-t"}),
            ("git", {"location": str(origin.path), "name": "origin"}, {}),
        ]
        for kind, options, secrets in bodies:
            made = _post(
                keyed, {"kind": kind, "name": kind, "options": options, "secrets": secrets}
            )
            assert made.status_code == 201, made.text
            results[kind] = keyed.client.post(
                f"{V}/{kind}/test", headers=keyed.headers("root")
            ).json()
        keyed.client.patch(
            f"{V}/asana", json={"secrets": {"token": "wrong"}}, headers=keyed.headers("root")
        )
        refused = keyed.client.post(f"{V}/asana/test", headers=keyed.headers("root")).json()
    missing = keyed.client.patch(
        f"{V}/git",
        json={"options": {"location": str(tmp_path / "none"), "name": "origin"}},
        headers=keyed.headers("root"),
    )
    no_repo = keyed.client.post(f"{V}/git/test", headers=keyed.headers("root")).json()

    assert all(r["ok"] for r in results.values()), results
    assert results["jira"]["detail"].startswith("signed in to 127.0.0.1:")
    assert results["linear"]["source"] == f"linear@{linear.organization['id']}"
    assert results["asana"]["detail"] == "signed in as Greg Sanchez"
    assert results["git"]["detail"].startswith("reachable; ")
    assert refused["ok"] is False and "401" in refused["detail"]
    assert missing.status_code == 200
    assert no_repo["ok"] is False and no_repo["detail"].startswith("git ls-remote failed")
    linear_row = keyed.get("root", f"{V}/linear").json()
    assert linear_row["options"]["organization"] == linear.organization["id"]
    assert linear_row["schedule"] == "every 15 min"
    teams = {"options": {"teams": ["ENG", "OPS"], "api_url": linear.url}}
    changed = keyed.client.patch(f"{V}/linear", json=teams, headers=keyed.headers("root"))
    assert changed.json()["source"] == linear_row["source"]  # the workspace is kept


def test_a_changed_key_is_a_reason_and_rotation_keeps_secrets(keyed: World) -> None:
    _post(
        keyed,
        {"kind": "asana", "name": "a", "options": {"projects": ["1"]}, "secrets": {"token": "t1"}},
    )
    new = Fernet.generate_key().decode()
    settings = keyed.state.settings
    keyed.state.settings = settings.model_copy(update={"secret_key": SecretStr(new)})
    (item,) = keyed.get("root", "/api/v1/sources").json()["items"]
    assert "cannot be decrypted with DIOGEN_SECRET_KEY" in item["schedule"]

    both = settings.model_copy(update={"secret_key": SecretStr(f"{new},{KEY}")})
    with session_scope(keyed.engine) as session:
        assert service.rotate_key(session, both) == 1
    keyed.state.settings = settings.model_copy(update={"secret_key": SecretStr(new)})
    with session_scope(keyed.engine) as session:
        row = service.find(session, "a")
        assert service.full_config(row, keyed.state.settings)[1] == {"token": "t1"}
    (after,) = keyed.get("root", "/api/v1/sources").json()["items"]
    assert after["schedule"] == "every 15 min"


def test_only_a_full_instance_administrator_manages_connections(keyed: World) -> None:
    made = _post(keyed, {"kind": "git", "name": "r", "options": {"location": "/srv/r"}})
    narrowed = keyed.client.post(
        "/api/v1/api-keys", json={"name": "ci", "role": "viewer"}, headers=keyed.headers("root")
    ).json()["key"]
    as_key = {"Authorization": f"Bearer {narrowed}"}

    assert made.status_code == 201, made.text
    for method, url in (("GET", V), ("GET", f"{V}/r"), ("POST", f"{V}/r/test")):
        answer = keyed.client.request(method, url, headers=as_key)
        assert answer.status_code == 403, answer.text
    for who in ("alpha:admin", "beta:maintainer"):
        assert keyed.get(who, f"{V}/r").status_code == 403
