"""Deployed commits by ancestry (DESIGN.md §5) on random histories, against the definition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from diogen.silver.deployments import CommitGraph


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[int]], list[int]]:
    """Parents of each commit (always earlier commits: a DAG), and deployment tips in time order."""
    size = draw(st.integers(min_value=1, max_value=40))
    parents = [
        sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=3)))) if i else []
        for i in range(size)
    ]
    tips = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=8))
    return parents, tips


def reachable(parents: list[list[int]], tip: int) -> set[int]:
    seen, stack = set(), [tip]
    while stack:
        commit = stack.pop()
        if commit not in seen:
            seen.add(commit)
            stack.extend(parents[commit])
    return seen


@given(histories())
def test_each_commit_goes_to_the_first_deployment_that_contains_it(
    history: tuple[list[list[int]], list[int]],
) -> None:
    parents, tips = history
    shas = [f"sha{i}" for i in range(len(parents))]
    graph = CommitGraph(
        {sha: i for i, sha in enumerate(shas)}, [f"id{i}" for i in range(len(shas))]
    )
    for child, own in enumerate(parents):
        graph._link(child, [shas[p] for p in own])
    claimed = bytearray(len(shas))
    earlier: set[int] = set()
    for tip in tips:
        expected = reachable(parents, tip) - earlier
        assert sorted(graph.claim(shas[tip], claimed)) == sorted(f"id{i}" for i in expected)
        earlier |= reachable(parents, tip)


def test_unknown_tip_and_missing_parents() -> None:
    graph = CommitGraph({"a": 0, "b": 1}, ["id-a", "id-b"])
    graph._link(1, ["a", "not-stored"])
    claimed = bytearray(2)
    assert graph.claim("unknown", claimed) == []
    assert sorted(graph.claim("b", claimed)) == ["id-a", "id-b"]
