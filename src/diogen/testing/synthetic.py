"""A realistic synthetic git history for benchmarks, written through `git fast-import`.

Thousands of source files in nested directories, commits that edit a few lines of a few files
(so git has real diffs to compute), ~100 authors with a skewed share of the work and their own
time zones, feature branches merged with merge commits, renames, binary files, release tags
every few hundred commits, over six years. The same seed gives the same repository.

fast-import starts a new branch from an empty tree, so feature branches come from a small pool
of long-lived topic branches: the first commit of a topic carries main's whole tree (a normal
commit whose parent is main); later features begin with a "Merge branch 'main'" commit carrying
whatever main changed since, and end merged into main. Files are kept as bytes: `None` in a
commit deletes a path, as in `FastCommit.files`.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diogen.testing.fastimport import FastCommit, fast_import

START = 1_420_070_400  # 2015-01-01
SPAN = 6 * 365 * 86_400
INITIAL_FILES = 1200
TOPICS = ("feature/api", "feature/ui", "feature/storage", "fix/bugs", "docs/update")
VOCABULARY = (
    "account batch buffer cache client config event handler index item message order parser query "
    "record request response result session state stream token user value worker schema report job"
)
WORDS = tuple(VOCABULARY.split())
TOPDIRS = {"src": ".py", "tests": ".py", "docs": ".md", "web": ".ts", "assets": ".png"}
TOPDIR_WEIGHTS = (60, 20, 8, 10, 2)
TIMEZONES = ("+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0800", "+0900", "-0300")
FIRST = ("Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hiro", "Ines", "Jonas")
LAST = ("Smith", "Okafor", "Novak", "Tanaka", "Silva", "Kumar", "Muller", "Rossi", "Li", "Haddad")
VERBS = ("Fix", "Add", "Update", "Refactor", "Remove", "Improve", "Document", "Test", "Speed up")
Author = tuple[tuple[str, str], str]  # (name, email), time zone
Files = dict[str, bytes | None]  # path → content; None deletes the path
# Files touched by one commit, and how often: mostly one to three, sometimes a sweep.
FILE_COUNTS, FILE_WEIGHTS = (1, 2, 3, 4, 6, 15), (40, 22, 13, 10, 11, 4)


@dataclass
class _Topic:
    name: str
    tree: dict[str, bytes] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    remaining: int = 0  # commits left in the current feature; 0 when idle
    synced: int = 0  # how much of main's change log its tree has seen
    author: Author = (("", ""), "+0000")


def generate_repository(path: Path, *, commits: int = 30_000, seed: int = 0) -> None:
    """Create the repository at `path` with a history of exactly `commits` commits."""
    history = _History(random.Random(seed), commits)
    fast_import(path, itertools.islice(history.steps(), commits))


class _History:
    def __init__(self, rng: random.Random, total: int) -> None:
        self.rng = rng
        self.gap = SPAN / total
        self.clock = START
        self.pool = [self._line() for _ in range(20_000)]
        names = [(f, last) for last in LAST for f in FIRST]
        rng.shuffle(names)
        self.authors = [
            ((f"{f} {last}", f"{f}.{last}@example.com".lower()), rng.choice(TIMEZONES))
            for f, last in names[:99]
        ]
        self.authors.insert(20, (("dependabot[bot]", "bot@dependabot.com"), "+0000"))
        self.cum_weights = list(itertools.accumulate(1 / rank for rank in range(1, 101)))
        self.dirs = [self._directory() for _ in range(180)]
        self.main: dict[str, bytes] = {}
        self.changed: list[str] = []  # every path changed on main, in order
        self.topics = [_Topic(name) for name in TOPICS]
        self.pulls = itertools.count(1)
        self.version = [0, 1, 0]
        self.next_release = rng.randint(100, 300)

    def steps(self) -> Iterator[FastCommit]:
        """An endless history: direct commits to main, and features on topic branches."""
        files: Files = {}
        while len(self.main) < INITIAL_FILES:
            path = self._new_path(self.main)
            files[path] = self.main[path] = self._content(path)
        yield self._commit("Initial import", files, "main", self.authors[0])
        while True:
            active = [topic for topic in self.topics if topic.remaining]
            idle = [topic for topic in self.topics if not topic.remaining]
            roll = self.rng.random()
            if active and roll < 0.5:
                yield from self._feature_commit(self.rng.choice(active))
            elif idle and roll < 0.56:  # the topic closest to main, to keep syncs small
                yield from self._start(max(idle, key=lambda topic: topic.synced))
            else:
                yield self._on_main(self._edit(self.main), self._subject(), self._author())

    def _start(self, topic: _Topic) -> Iterator[FastCommit]:
        topic.author = self._author()
        topic.remaining = 1 + int(self.rng.expovariate(1 / 3))
        stale = set(self.changed[topic.synced :])  # paths main changed since the last sync
        topic.synced, topic.touched = len(self.changed), set()
        if topic.tree:  # bring the topic up to date with main, as a merge commit
            files = {
                path: self.main.get(path)
                for path in sorted(stale)
                if topic.tree.get(path) is not self.main.get(path)
            }
            topic.tree = dict(self.main)
            message = f"Merge branch 'main' into {topic.name}"
            yield self._commit(message, files, topic.name, topic.author, merge="main")
        else:  # the first commit carries main's whole tree, so that its parent is main's tip
            topic.tree = dict(self.main)
            yield from self._feature_commit(topic, fork=True)

    def _feature_commit(self, topic: _Topic, fork: bool = False) -> Iterator[FastCommit]:
        files = self._edit(topic.tree)
        topic.touched.update(files)
        topic.remaining -= 1
        merge: str | None = None
        if fork:  # all of main's tree, on top of main
            files, merge = {**self.main, **files}, "main"
        yield self._commit(self._subject(), files, topic.name, topic.author, merge)
        if not topic.remaining:
            merged = {path: topic.tree.get(path) for path in sorted(topic.touched)}
            message = f"Merge pull request #{next(self.pulls)} from {topic.name}"
            yield self._on_main(merged, message, self._author(), merge_from=topic.name)

    def _on_main(
        self, files: Files, message: str, author: Author, merge_from: str | None = None
    ) -> FastCommit:
        self.changed.extend(files)
        for path, content in files.items():
            if content is None:
                self.main.pop(path, None)
            else:
                self.main[path] = content
        commit = self._commit(message, files, "main", author, merge_from)
        self.next_release -= 1
        if self.next_release <= 0:
            self.next_release = self.rng.randint(100, 300)
            part = self.rng.choices((0, 1, 2), (1, 8, 40))[0]
            self.version[part:] = [self.version[part] + 1] + [0] * (2 - part)
            commit.tag = "v" + ".".join(map(str, self.version))
        return commit

    def _commit(
        self, message: str, files: Files, branch: str, author: Author, merge: str | None = None
    ) -> FastCommit:
        self.clock += 1 + int(self.rng.expovariate(1 / self.gap))
        (name, email), offset = author
        return FastCommit(message, self.clock, files, (name, email), offset, branch, merge)

    def _edit(self, tree: dict[str, bytes]) -> Files:
        """Change a few lines of a few neighbouring files of `tree`; sometimes add, delete or
        rename a file. Returns the changes, already applied to `tree`."""
        rng, paths = self.rng, list(tree)
        count = rng.choices(FILE_COUNTS, FILE_WEIGHTS)[0]
        start = rng.randrange(len(paths))
        window = paths[start : start + 3 * count]
        changes: Files = {}
        for path in rng.sample(window, min(count, len(window))):
            changes[path] = tree[path] = self._change(path, tree[path])
        roll = rng.random()
        if roll < 0.08:
            path = self._new_path(tree)
            changes[path] = tree[path] = self._content(path)
        elif roll < 0.09 and len(tree) > INITIAL_FILES // 2:
            path = rng.choice(paths)
            del tree[path]
            changes[path] = None
        elif roll < 0.095:  # a rename, half the time with a small edit
            old = rng.choice(paths)
            new = self._new_path(tree, old[old.rfind(".") :])
            content = tree.pop(old)
            if rng.random() < 0.5:
                content = self._change(new, content)
            changes[old], changes[new] = None, content
            tree[new] = content
        return changes

    def _change(self, path: str, content: bytes) -> bytes:
        if path.endswith(".png"):
            return self._content(path)
        rng, lines = self.rng, content.splitlines(keepends=True)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            at = rng.randrange(len(lines) + 1)
            kind = rng.random()
            if kind < 0.5:  # rewrite a few lines
                lines[at : at + rng.randint(1, 4)] = self._lines(rng.randint(1, 4))
            elif kind < 0.75 or len(lines) < 20:  # insert a few lines, now and then a function
                count = rng.randint(10, 40) if kind > 0.73 else rng.randint(1, 6)
                lines[at:at] = self._lines(count)
            else:
                del lines[at : at + rng.randint(1, 5)]
        return b"".join(lines)

    def _content(self, path: str) -> bytes:
        if path.endswith(".png"):
            return b"\x89PNG\r\n\x1a\n\x00" + self.rng.randbytes(self.rng.randint(1_000, 40_000))
        return b"".join(self._lines(min(800, max(8, int(self.rng.lognormvariate(3.5, 0.7))))))

    def _lines(self, count: int) -> list[bytes]:
        return self.rng.choices(self.pool, k=count)

    def _line(self) -> bytes:
        a, b, c, d = self.rng.sample(WORDS, 4)
        n = self.rng.randrange(1000)
        return self.rng.choice(
            (
                f"def {a}_{b}({c}, {d}=None):\n",
                f"    {a} = {b}.{c}_{d}({n})\n",
                f"    if {a}.{b} is None:\n",
                f"        return {c}_{d}\n",
                f"    for {a} in {b}s:\n",
                f"        {a}.{b}({c}={d}, limit={n})\n",
                f"    # {a.title()} the {b} first.\n",
                "\n",
                f"class {a.title()}{b.title()}:\n",
                f"import {a}.{b}_{c}\n",
                f'        raise {a.title()}Error("{b} {c} {n}")\n',
            )
        ).encode()

    def _directory(self) -> str:
        top = self.rng.choices(list(TOPDIRS), TOPDIR_WEIGHTS)[0]
        return "/".join([top, *self.rng.sample(WORDS, self.rng.randint(1, 3))])

    def _new_path(self, tree: dict[str, bytes], extension: str | None = None) -> str:
        directory = self.rng.choice(self.dirs)
        extension = extension or TOPDIRS[directory.split("/", 1)[0]]
        prefix = "test_" if directory.startswith("tests") else ""
        a, b = self.rng.sample(WORDS, 2)
        path, number = f"{directory}/{prefix}{a}_{b}", 1
        while f"{path}{extension}" in tree:
            path, number = f"{directory}/{prefix}{a}_{b}_{number}", number + 1
        return f"{path}{extension}"

    def _author(self) -> Author:
        return self.rng.choices(self.authors, cum_weights=self.cum_weights)[0]

    def _subject(self) -> str:
        a, b = self.rng.sample(WORDS, 2)
        subject = f"{self.rng.choice(VERBS)} {a} {b}"
        return subject if self.rng.random() < 0.6 else f"{subject}\n\nThe {a} now keeps its {b}.\n"
