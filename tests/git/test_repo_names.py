"""Default repository names: the last path component, percent-decoded for URLs."""

from __future__ import annotations

import pytest

from diogen.connectors.git.repo import default_name, is_url


@pytest.mark.parametrize(
    ("location", "name"),
    [
        ("/src/flask", "flask"),
        ("/src/flask/", "flask"),
        ("/srv/git/flask.git", "flask"),
        ("file:///tmp/r%C3%A9%20p%C3%B6.git", "ré pö"),
        ("git@example.com:team/api.git", "api"),
        ("/tmp/a%20b", "a%20b"),  # a path is taken as written
    ],
)
def test_default_name(location: str, name: str) -> None:
    assert default_name(location) == name


def test_urls_and_paths() -> None:
    assert is_url("https://example.com/a.git") and is_url("git@example.com:a/b.git")
    assert not is_url("/tmp/a") and not is_url("relative/dir")
