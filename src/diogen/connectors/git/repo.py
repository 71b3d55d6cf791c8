"""A git repository on disk: finding it (cloning a URL into the cache), its refs, its history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from urllib.parse import unquote

from diogen.connectors.git.plumbing import run_git
from diogen.errors import SourceError

# scp-like "user@host:path" as well as "scheme://..."
URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s]+@[^/\s]+:", re.I)
REF_KINDS = {"refs/heads/": "branch", "refs/remotes/": "remote", "refs/tags/": "tag"}
REF_FORMAT = (
    "%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)"
    "%00%(taggername)%00%(taggeremail)%00%(taggerdate:raw)%00%(symref)"
)


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    kind: str
    commit_sha: str
    tag_sha: str | None
    tagger_name: str | None
    tagger_email: str | None
    tagger_date: str | None


def is_url(location: str) -> bool:
    return bool(URL.match(location))


def default_name(location: str) -> str:
    """The repository's name from its URL or path: the last component without '.git'."""
    tail = re.split(r"[/:\\]", location.rstrip("/\\"))[-1]
    if is_url(location):
        tail = unquote(tail)
    return tail.removesuffix(".git") or "repository"


def open_local(path: Path) -> Path:
    """The repository at `path`: the top of its work tree, or its git directory when bare
    (or when `path` is the .git directory itself)."""
    if not path.exists():
        raise SourceError(f"no such directory: {path}", path=str(path))
    if not path.is_dir():
        raise SourceError(f"not a directory: {path}", path=str(path))
    bare = run_git(path, "rev-parse", "--is-bare-repository", check=False).strip()
    if bare not in ("true", "false"):
        raise SourceError(f"not a git repository: {path}", path=str(path))
    inside_git_dir = run_git(path, "rev-parse", "--is-inside-git-dir").strip() == "true"
    if bare == "true" or inside_git_dir:
        return Path(run_git(path, "rev-parse", "--absolute-git-dir").strip())
    return Path(run_git(path, "rev-parse", "--show-toplevel").strip())


def mirror(url: str, cache_dir: Path, authorization: str | None = None) -> Path:
    """Clone `url` as a bare repository under `cache_dir`, or fetch into the existing one.

    Only branches and tags are fetched (never refs/pull/*), pruning what the remote deleted.
    `authorization` (an HTTP `Authorization` value) is sent with every request to the remote
    and stored nowhere: a private repository's token never lands in the clone's config.
    """
    digest = blake2b(url.encode(), digest_size=6).hexdigest()
    target = cache_dir / "git" / f"{default_name(url)}-{digest}"
    config = {"http.extraHeader": f"Authorization: {authorization}"} if authorization else None
    if not (target / "HEAD").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        clone = ("clone", "--bare", "--quiet", "--no-tags", url, target.name)
        run_git(target.parent, *clone, config=config)
    run_git(
        target,
        "fetch",
        "--quiet",
        "--prune",
        "--prune-tags",
        "--force",
        url,
        "+refs/heads/*:refs/heads/*",
        "+refs/tags/*:refs/tags/*",
        config=config,
    )
    return target


def list_refs(repo: Path) -> list[Ref]:
    """Branches, remote branches and tags pointing (perhaps through tags) at a commit."""
    output = run_git(repo, "for-each-ref", f"--format={REF_FORMAT}", *REF_KINDS)
    # Only "\n" ends a line: names may hold other characters str.splitlines() would cut at.
    rows = [line.split("\x00") for line in output.split("\n") if line]
    nested = [row[0] for row in rows if row[1] == "tag" and row[3] == "tag"]
    peeled = _peel(repo, nested)
    refs = []
    for row in rows:
        ref = _parse_ref(row, peeled)
        if ref is not None:
            refs.append(ref)
    return refs


def _peel(repo: Path, names: list[str]) -> dict[str, str]:
    """The commits that tags of tags finally point at (for-each-ref peels one level only)."""
    if not names:
        return {}
    output = run_git(repo, "rev-parse", *(f"{name}^{{commit}}" for name in names), check=False)
    return dict(zip(names, output.split(), strict=False))


def _parse_ref(fields: list[str], peeled: dict[str, str]) -> Ref | None:
    name, objtype, obj, peeled_type, peeled_obj, tagger, tagger_email, tagger_date, symref = fields
    if symref:
        return None
    kind = next(k for prefix, k in REF_KINDS.items() if name.startswith(prefix))
    short = name.split("/", 2)[2]
    if objtype == "commit":
        return Ref(short, kind, obj, None, None, None, None)
    commit = peeled_obj if peeled_type == "commit" else peeled.get(name)
    if objtype == "tag" and commit:
        return Ref(
            short,
            kind,
            commit,
            obj,
            tagger or None,
            tagger_email.strip("<>") or None,
            tagger_date or None,
        )
    return None


def default_branch(repo: Path) -> str | None:
    head = run_git(repo, "symbolic-ref", "-q", "HEAD", check=False).strip()
    return head.removeprefix("refs/heads/") or None


def shallow_boundary(repo: Path) -> set[str]:
    """Commits whose parents a shallow clone does not have (their diffs would be wrong)."""
    if run_git(repo, "rev-parse", "--is-shallow-repository").strip() != "true":
        return set()
    shallow = Path(run_git(repo, "rev-parse", "--git-path", "shallow").strip())
    if not shallow.is_absolute():
        shallow = repo / shallow
    return set(shallow.read_text().split()) if shallow.exists() else set()


def mailmap_digest(repo: Path) -> str:
    """What identifies the .mailmap git applies: the work tree's file, or HEAD's in a bare
    repository; '' when there is none."""
    worktree = repo / ".mailmap"
    if worktree.is_file():
        return blake2b(worktree.read_bytes(), digest_size=16).hexdigest()
    return run_git(repo, "rev-parse", "-q", "--verify", "HEAD:.mailmap", check=False).strip()


def existing_objects(repo: Path, shas: list[str]) -> set[str]:
    """Which of `shas` the object database still has (a force-push may have pruned old tips)."""
    if not shas:
        return set()
    output = run_git(
        repo, "cat-file", "--batch-check=%(objectname) %(objecttype)", input="\n".join(shas) + "\n"
    )
    return {line.split()[0] for line in output.splitlines() if not line.endswith(" missing")}


def rev_list(repo: Path, include: list[str], exclude: list[str]) -> list[str]:
    """Commits reachable from `include` and not from `exclude`, newest first."""
    if not include:
        return []
    lines = include + [f"^{sha}" for sha in exclude]
    return run_git(repo, "rev-list", "--stdin", input="\n".join(lines) + "\n").split()
