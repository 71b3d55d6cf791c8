"""Ids are deterministic, and the bulk id maker agrees with stable_id exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from diogen.ids import id_maker, stable_id
from diogen.silver.keys import commit_file_id, commit_file_ids

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))


@given(text, text, st.lists(text | st.integers(), max_size=4))
def test_id_maker_equals_stable_id(source: str, entity: str, keys: list[object]) -> None:
    assert id_maker(source, entity)(*keys) == stable_id(source, entity, *keys)


def test_parts_do_not_run_together() -> None:
    assert stable_id("s", "e", "a b", "c") != stable_id("s", "e", "a", "b c")
    assert stable_id("s", "e", "ab") != stable_id("s", "e", "a", "b")


def test_known_value_never_changes() -> None:
    # Ids are stored; changing how they are computed would orphan every row.
    assert stable_id("git", "repository", "flask") == "6b5e9679e10e3a7c5bef79327fabfb12"


@given(text, text, st.lists(text | st.integers(), max_size=3), st.lists(text, max_size=3))
def test_id_maker_with_leading_keys_equals_stable_id(
    source: str, entity: str, leading: list[object], keys: list[object]
) -> None:
    assert id_maker(source, entity, *leading)(*keys) == stable_id(source, entity, *leading, *keys)


def test_commit_file_ids_keep_their_values() -> None:
    # Stored commit-file ids must not change with the faster per-commit maker.
    commit = "0123456789abcdef0123456789abcdef"
    for path in ("src/app.py", "docs/ré sumé.md", "a\x1fb"):
        assert commit_file_ids(commit)(path) == commit_file_id(commit, path)
    assert commit_file_ids(commit)("src/app.py") == stable_id(
        "silver", "commit_file", commit, "src/app.py"
    )
