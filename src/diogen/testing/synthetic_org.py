"""A synthetic organisation for the metrics benchmark (`bench/org_metrics.py`), as silver rows.

At scale 1.0, over the two years before `END`: 20 teams (4 groups of 4 nested teams), 1,000
people (10 of them bots) with one identity each, 200 repositories, 1,000,000 commits, 200,000
pull requests with reviews and review comments, 50,000 deployments, 5,000 incidents and
300,000 issues with their status history in two-week sprints. `scale` multiplies every count
(with small floors, so that each kind of row exists at any scale). The same seed gives the
same rows, ids included, on SQLite and PostgreSQL alike.

The rows are coherent the way the metrics read them:
- each repository's history is linear in landing order: direct commits, and pull requests as
  their 1-5 commits followed by their merge commit. What a deployment of a main-line sha ships
  ("reachable from it, not from the previous deployment") is then a consecutive slice of that
  order, and `deployment_commit` holds exactly what `silver.deployments.link_deployed_commits`
  writes: per repository and environment, every commit once, by the first successful
  deployment containing it;
- people change teams only at quarter boundaries, so memberships never overlap for a person
  and a team; authors, reviewers and assignees are members of the owning team at the time,
  now and then someone from elsewhere or a bot;
- failures come from incidents (shortly after a deployment; some naming its sha or the
  deployment itself), rollbacks (flagged, or merely redeploying an older sha), linked fixes,
  hotfix pull requests, reverts and a few deployments marked failed by hand;
- monorepos carry one service per path prefix, and only their commits get `commit_file` rows
  (the largest table otherwise).
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

from sqlalchemy import JSON, Engine, Table, and_, insert, select
from sqlalchemy.orm import Session

from diogen import migrations
from diogen.ids import id_maker, stable_id
from diogen.silver import (
    Commit,
    CommitFile,
    Deployment,
    DeploymentCommit,
    Identity,
    Incident,
    Issue,
    IssueStatusTransition,
    Organization,
    Person,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    ReviewComment,
    Service,
    ServiceRepository,
    Sprint,
    SprintScopeChange,
    Team,
    TeamMembership,
)
from diogen.silver.base import table_of
from diogen.silver.keys import repository_id

SOURCE = "synthetic"
END = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday; the history ends here
SPAN_DAYS = 730
HOUR, DAY = 3600, 86_400
END_TS = int(END.timestamp())
START_TS = END_TS - SPAN_DAYS * DAY
PERIODS = 8  # people change teams at quarter boundaries
SPRINT = 14 * DAY
ORG_NAME = "acme"
BATCH = 10_000

# kind: (count at scale 1.0, floor at any scale)
SIZES = {
    "teams": (20, 5),
    "persons": (1000, 20),
    "bots": (10, 2),
    "repositories": (200, 2),
    "commits": (1_000_000, 400),
    "pull_requests": (200_000, 80),
    "deployments": (50_000, 30),
    "incidents": (5000, 6),
    "issues": (300_000, 100),
}
LEAVES_PER_GROUP = 4
GROUPS = ("platform", "product", "data", "infra", "mobile", "growth", "security", "devex")
_LEAF_NAMES = (
    "payments search identity billing checkout web growth notify ingest analytics ml warehouse "
    "network storage compute observability"
)
LEAVES = tuple(_LEAF_NAMES.split())
_VOCABULARY = (
    "account batch buffer cache client config event handler index item message order parser query "
    "record request response result session state stream token user value worker schema"
)
WORDS = tuple(_VOCABULARY.split())
VERBS = ("Fix", "Add", "Update", "Refactor", "Remove", "Improve", "Document", "Test", "Speed up")
FIRST = ("Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hiro", "Ines", "Jonas", "Kemi")
LAST = ("Smith", "Okafor", "Novak", "Tanaka", "Silva", "Kumar", "Muller", "Rossi", "Li", "Haddad")
BOTS = ("dependabot[bot]", "renovate[bot]", "github-actions[bot]", "codecov[bot]", "sonar[bot]")
SERVICE_PATHS = ("services/api", "services/worker", "services/web")
SEVERITIES, SEVERITY_WEIGHTS = ("SEV1", "SEV2", "SEV3", "SEV4"), (1, 4, 10, 15)
Status = tuple[str, str]  # (status, status category)
TODO: Status = ("To Do", "todo")
PROGRESS: Status = ("In Progress", "in_progress")
REVIEW: Status = ("In Review", "in_progress")
BLOCKED: Status = ("Blocked", "in_progress")
DONE: Status = ("Done", "done")
WONT: Status = ("Won't Do", "done")
# Median time an issue spends in a status before it moves on.
STAY = {TODO: 3 * DAY, PROGRESS: 2 * DAY, BLOCKED: DAY + DAY // 2, REVIEW: 17 * HOUR}

# Dependency order: a row's foreign keys point at rows of tables earlier in this list.
TABLES = [
    table_of(model)
    for model in (
        Organization,
        Team,
        Person,
        Identity,
        TeamMembership,
        Repository,
        Service,
        ServiceRepository,
        Commit,
        CommitFile,
        PullRequest,
        PullRequestCommit,
        Review,
        ReviewComment,
        Deployment,
        DeploymentCommit,
        Incident,
        Sprint,
        Issue,
        IssueStatusTransition,
        SprintScopeChange,
    )
]
COMMIT, DEPLOYMENT, DEPLOYMENT_COMMIT = (
    table_of(m) for m in (Commit, Deployment, DeploymentCommit)
)
Row = dict[str, Any]
Progress = Callable[[str], None]
_commit_id = id_maker("silver", "commit")
_deployment_commit_id = id_maker("silver", "deployment_commit")


@dataclass(frozen=True)
class OrgSummary:
    """What was generated: the organisation, its span, its teams and the rows per table."""

    organization: str
    start: datetime
    end: datetime
    groups: tuple[str, ...]  # top-level teams
    teams: tuple[str, ...]  # the nested teams people belong to, in `groups` order
    rows: dict[str, int]


def sizes(scale: float) -> dict[str, int]:
    """The counts generated at `scale` (SIZES times `scale`, never below their floors)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale}")
    return {kind: max(floor, round(full * scale)) for kind, (full, floor) in SIZES.items()}


def generate_organization(
    engine: Engine,
    scale: float = 1.0,
    seed: int = 0,
    progress: Progress | None = None,
    *,
    copy: bool | None = None,
) -> OrgSummary:
    """Write the organisation into `engine`'s database, which is migrated first and must hold
    no silver rows yet. `progress` receives a line now and then. `copy` loads rows with COPY
    instead of INSERT (PostgreSQL only, where it is the default)."""
    postgres = engine.dialect.name == "postgresql"
    if copy and not postgres:
        raise ValueError("COPY needs PostgreSQL")
    migrations.upgrade(engine)
    counts = sizes(scale)
    writer = _Writer(engine, postgres if copy is None else copy)
    say = progress or (lambda _line: None)
    org = _Organization(random.Random(f"{seed}:org"), counts, writer)
    writer.flush()
    say(f"people and teams: {counts['persons']} people, {len(org.leaves)} nested teams")
    _write_repositories(org, counts, seed, writer, say)
    issues = _spread(counts["issues"], [1.0] * len(org.leaves))
    for index, count in enumerate(issues):
        _Board(random.Random(f"{seed}:board:{index}"), org, index, count, writer).generate()
        writer.flush()
        say(f"issues: board {index + 1}/{len(org.leaves)}")
    rows = {table.name: writer.counts[table.name] for table in TABLES}
    return OrgSummary(ORG_NAME, _at(START_TS), END, tuple(org.groups), tuple(org.leaves), rows)


def append_events(session: Session, when: datetime, events: int = 1000) -> dict[str, int]:
    """Add `events` rows of new activity at `when` (after the history) and flush, never commit.

    In as many repositories as it takes (by name), nine commits continue the main line and
    one production deployment ships them, with the `deployment_commit` rows the ancestry
    writer would add: the new commits and those landed since the last production deployment.
    What a sync writes when a day of work arrives. Returns the rows added per table.
    """
    repos = session.execute(select(Repository.id, Repository.name).order_by(Repository.name))
    chosen = list(repos)[: max(1, events // 10)]
    commits = _spread(max(len(chosen), events - len(chosen)), [1.0] * len(chosen))
    added: Counter[str] = Counter()
    for (repo_id, name), count in zip(chosen, commits, strict=True):
        for table, rows in _appended(session, repo_id, name, count, int(when.timestamp())):
            session.execute(insert(table), rows)
            added[table.name] += len(rows)
    session.flush()
    return dict(added)


def _appended(
    session: Session, repo_id: str, name: str, count: int, start: int
) -> list[tuple[Table, list[Row]]]:
    tip = session.execute(
        select(Commit.sha, Commit.author_identity_id, Commit.author_name, Commit.author_email)
        .where(Commit.repository_id == repo_id)
        .order_by(Commit.authored_at.desc(), Commit.sha.desc())
        .limit(1)
    ).one()
    production = and_(Deployment.repository_id == repo_id, Deployment.environment == "production")
    service = session.scalar(
        select(Deployment.service_id).where(production).order_by(Deployment.finished_at.desc())
    )
    shipped = select(DeploymentCommit.commit_id).join(
        Deployment, Deployment.id == DeploymentCommit.deployment_id
    )
    waiting = session.scalars(
        select(Commit.id).where(
            Commit.repository_id == repo_id, Commit.id.not_in(shipped.where(production))
        )
    ).all()
    author = Actor("", tip.author_identity_id, "", tip.author_name, tip.author_email, False)
    rows, parent = [], tip.sha
    for k in range(count):
        sha = _sha(name, "appended", start, k)
        rows.append(_commit_row(repo_id, sha, parent, author, start + k, f"Append {k}", (3, 1, 1)))
        parent = sha
    deployment = _deployment_row(
        f"{name}/production/appended-{start}", repo_id, service, "production", parent,
        start + count, start + count + 600,
    )  # fmt: skip
    links = [_link(deployment["id"], commit) for commit in [*waiting, *(r["id"] for r in rows)]]
    return [(COMMIT, rows), (DEPLOYMENT, [deployment]), (DEPLOYMENT_COMMIT, links)]


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def _sha(*keys: object) -> str:
    return blake2b(":".join(map(str, keys)).encode(), digest_size=20).hexdigest()


def _lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> int:
    """A skewed duration in seconds: most near `median`, a long tail, kept in [low, high]."""
    return int(min(high, max(low, rng.lognormvariate(math.log(median), sigma))))


def _spread(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights`, summing exactly (largest remainders)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _working_times(rng: random.Random, count: int, start: float, end: float) -> list[int]:
    """`count` sorted instants in [start, end); most weekend work moves to the Friday before."""
    times = []
    for _ in range(count):
        ts = rng.uniform(start, end)
        weekday = (int(ts // DAY) + 3) % 7  # 1970-01-01 was a Thursday
        if weekday >= 5 and rng.random() < 0.8 and ts - (weekday - 4) * DAY >= start:
            ts -= (weekday - 4) * DAY
        times.append(int(ts))
    return sorted(times)


def _origin(external_id: str) -> Row:
    return {"source": SOURCE, "external_id": external_id, "url": None}


def _name(names: Sequence[str], index: int) -> str:
    base = names[index % len(names)]
    return base if index < len(names) else f"{base}-{index // len(names) + 1}"


class _Writer:
    """Rows buffered per table and written in batches, one transaction per `flush`.

    On PostgreSQL `copy=True` loads them with COPY instead of INSERT.
    """

    def __init__(self, engine: Engine, copy: bool) -> None:
        self.engine = engine
        self.copy = copy
        self.pending: dict[str, list[Row]] = defaultdict(list)
        self.counts: Counter[str] = Counter()

    def add(self, table: Table, row: Row) -> None:
        self.pending[table.name].append(row)

    def flush(self) -> None:
        batches = [(t, self.pending.pop(t.name)) for t in TABLES if t.name in self.pending]
        if self.copy:
            self._copy(batches)
        else:
            with self.engine.begin() as connection:
                for table, rows in batches:
                    for start in range(0, len(rows), BATCH):
                        connection.execute(insert(table), rows[start : start + BATCH])
        for table, rows in batches:
            self.counts[table.name] += len(rows)

    def _copy(self, batches: list[tuple[Table, list[Row]]]) -> None:
        raw = self.engine.raw_connection()
        try:
            # psycopg's own connection: COPY is beyond the DB-API.
            connection = raw.driver_connection
            assert connection is not None
            with connection.cursor() as cursor:
                for table, rows in batches:
                    names = [column.name for column in table.columns]
                    documents = {c.name for c in table.columns if isinstance(c.type, JSON)}
                    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
                    with cursor.copy(statement) as out:
                        for row in rows:
                            out.write_row([_copied(row[n], n in documents) for n in names])
            raw.commit()
        finally:
            raw.close()


def _copied(value: Any, document: bool) -> Any:
    return json.dumps(value) if document and value is not None else value


@dataclass(frozen=True)
class Actor:
    person_id: str
    identity_id: str
    login: str
    name: str
    email: str
    is_bot: bool


@dataclass
class _Roster:
    """Who belongs to which nested team in each period; membership changes at boundaries."""

    boundaries: list[int]
    members: list[list[list[Actor]]]  # [period][team] → actors
    active: list[list[Actor]]  # [period] → every human then employed
    bots: list[Actor]

    def period(self, ts: float) -> int:
        return min(PERIODS - 1, max(0, bisect_right(self.boundaries, ts) - 1))

    def member(self, rng: random.Random, team: int, ts: float) -> Actor:
        period = self.period(ts)
        return rng.choice(self.members[period][team] or self.active[period])

    def anyone(self, rng: random.Random, ts: float) -> Actor:
        return rng.choice(self.active[self.period(ts)])

    def other(self, rng: random.Random, team: int, ts: float, author: Actor) -> Actor:
        """A reviewer: a teammate other than the author, else anyone else."""
        period = self.period(ts)
        for pool in (self.members[period][team], self.active[period]):
            others = [a for a in pool if a.person_id != author.person_id]
            if others:
                return rng.choice(others)
        return author


class _Organization:
    """The organisation, its teams, people and memberships."""

    def __init__(self, rng: random.Random, counts: dict[str, int], writer: _Writer) -> None:
        self.rng = rng
        self.writer = writer
        self.id = stable_id(SOURCE, "organization", ORG_NAME)
        writer.add(table_of(Organization), {"id": self.id, "name": ORG_NAME, **_origin(ORG_NAME)})
        groups = max(1, counts["teams"] // (LEAVES_PER_GROUP + 1))
        self.groups = [_name(GROUPS, g) for g in range(groups)]
        self.leaves = [_name(LEAVES, i) for i in range(groups * LEAVES_PER_GROUP)]
        group_ids = [self._team(name, None) for name in self.groups]
        self.leaf_ids = [
            self._team(name, group_ids[i // LEAVES_PER_GROUP]) for i, name in enumerate(self.leaves)
        ]
        humans = [self._actor(i, bot=False) for i in range(counts["persons"] - counts["bots"])]
        bots = [self._actor(i, bot=True) for i in range(counts["bots"])]
        self.roster = self._memberships(humans, bots, group_ids)

    def _team(self, name: str, parent: str | None) -> str:
        team_id = stable_id(SOURCE, "team", name)
        row = {"id": team_id, "organization_id": self.id, "parent_id": parent, "name": name}
        self.writer.add(table_of(Team), {**row, **_origin(name)})
        return team_id

    def _actor(self, index: int, *, bot: bool) -> Actor:
        if bot:
            login = _name(BOTS, index)
            name, email = login, f"{index}+{login}@users.noreply.github.com"
        else:
            first, last = FIRST[index % len(FIRST)], LAST[index // len(FIRST) % len(LAST)]
            name, login = f"{first} {last}", f"{first}.{last}{index}".lower()
            email = f"{login}@{ORG_NAME}.example"
        actor = Actor(
            stable_id(SOURCE, "person", login), stable_id("github", "identity", login),
            login, name, email, bot,
        )  # fmt: skip
        person = {"id": actor.person_id, "display_name": name, "primary_email": email}
        self.writer.add(table_of(Person), {**person, "is_bot": bot})
        identity = {"id": actor.identity_id, "person_id": actor.person_id, "provider": "github"}
        self.writer.add(
            table_of(Identity),
            {
                **identity,
                **_origin(login),
                "key": login,
                "login": login,
                "email": email,
                "name": name,
                "is_bot": bot,
                "person_locked": False,
            },
        )
        return actor

    def _memberships(self, humans: list[Actor], bots: list[Actor], groups: list[str]) -> _Roster:
        span = (END_TS - START_TS) / PERIODS
        boundaries = [int(START_TS + p * span) for p in range(PERIODS)]
        members: list[list[list[Actor]]] = [[[] for _ in self.leaves] for _ in range(PERIODS)]
        active: list[list[Actor]] = [[] for _ in range(PERIODS)]
        for actor in humans:
            career = self._career(len(self.leaves))
            for period, team in enumerate(career):
                if team is not None:
                    members[period][team].append(actor)
                    active[period].append(actor)
            self._membership_rows(actor, career, boundaries)
        for g, group_id in enumerate(groups):  # a group's lead belongs to the group itself too
            for lead in members[0][g * LEAVES_PER_GROUP][:1]:
                self._membership(lead, group_id, START_TS - 400 * DAY, None)
        return _Roster(boundaries, members, [people or humans for people in active], bots)

    def _career(self, teams: int) -> list[int | None]:
        """One person's team (or None) in each period: most stay, some join, leave or move."""
        rng = self.rng
        join = 0 if rng.random() < 0.85 else rng.randrange(1, PERIODS)
        leave = rng.randrange(join + 1, PERIODS + 1) if rng.random() < 0.05 else PERIODS
        team = rng.randrange(teams)
        career: list[int | None] = [None] * PERIODS
        for period in range(join, leave):
            if period > join and teams > 1 and rng.random() < 0.06:
                team = rng.choice([t for t in range(teams) if t != team])
            career[period] = team
        return career

    def _membership_rows(self, actor: Actor, career: list[int | None], bounds: list[int]) -> None:
        """One row per stay in a team: consecutive periods in the same team are one stay."""
        period = 0
        while period < PERIODS:
            team, end = career[period], period
            while end < PERIODS and career[end] == team:
                end += 1
            if team is not None:
                start = bounds[period] if period else START_TS - self.rng.randint(30, 700) * DAY
                until = bounds[end] if end < PERIODS else None
                self._membership(actor, self.leaf_ids[team], start, until)
            period = end

    def _membership(self, actor: Actor, team_id: str, start: int, until: int | None) -> None:
        self.writer.add(
            table_of(TeamMembership),
            {
                "id": stable_id(SOURCE, "team_membership", team_id, actor.person_id, start),
                "team_id": team_id,
                "person_id": actor.person_id,
                "role": "member",
                "valid_from": _at(start),
                "valid_to": None if until is None else _at(until),
            },
        )


def _write_repositories(
    org: _Organization, counts: dict[str, int], seed: int, writer: _Writer, say: Progress
) -> None:
    rng = random.Random(f"{seed}:repositories")
    total = counts["repositories"]
    weights = [rng.lognormvariate(0, 0.5) * (3 if _monorepo(i) else 1) for i in range(total)]
    # Repositories with a staging environment deploy twice as often: half to staging.
    staged = [w * (2 if _staging(i) else 1) for i, w in enumerate(weights)]
    plans = zip(
        _spread(counts["commits"], weights),
        _spread(counts["pull_requests"], weights),
        _spread(counts["deployments"], staged),
        _spread(counts["incidents"], weights),
        strict=True,
    )
    for i, (commits, pulls, deployments, incidents) in enumerate(plans):
        plan = _RepoPlan(i, commits, pulls, deployments, incidents)
        _Repository(random.Random(f"{seed}:repository:{i}"), org, plan, writer).generate()
        writer.flush()
        if (i + 1) % 10 == 0 or i + 1 == total:
            say(f"repositories: {i + 1}/{total}")


def _monorepo(index: int) -> bool:
    return index % 50 == 1


def _staging(index: int) -> bool:
    return index % 4 == 0


def _commit_row(
    repo_id: str,
    sha: str,
    parents: str,
    author: Actor,
    authored: int,
    subject: str,
    stats: tuple[int, int, int] | None,
    message: str | None = None,
) -> Row:
    """A commit; `stats` (additions, deletions, files) is None for a merge."""
    return {
        "id": _commit_id(repo_id, sha),
        "repository_id": repo_id,
        "sha": sha,
        "parents": parents,
        "author_identity_id": author.identity_id,
        "committer_identity_id": author.identity_id,
        "author_name": author.name,
        "author_email": author.email,
        "committer_name": author.name,
        "committer_email": author.email,
        "authored_at": _at(authored),
        "author_tz_offset": 0,
        "committed_at": _at(authored),
        "committer_tz_offset": 0,
        "subject": subject,
        "message": message or subject,
        "additions": None if stats is None else stats[0],
        "deletions": None if stats is None else stats[1],
        "files_changed": None if stats is None else stats[2],
        "is_merge": stats is None,
        "reachable": True,
    }


def _deployment_row(
    external_id: str,
    repo_id: str,
    service_id: str | None,
    environment: str,
    sha: str,
    started: int,
    finished: int,
    **verdict: Any,
) -> Row:
    """A deployment; `verdict` may set status, is_rollback, marked_failed, fixes_deployment_id."""
    return {
        "id": stable_id(SOURCE, "deployment", external_id),
        **_origin(external_id),
        "repository_id": repo_id,
        "service_id": service_id,
        "environment": environment,
        "sha": sha,
        "ref_name": "main",
        "status": "success",
        "started_at": _at(started),
        "finished_at": _at(finished),
        "is_rollback": False,
        "marked_failed": None,
        "fixes_deployment_id": None,
        **verdict,
    }


def _link(deployment_id: str, commit: str) -> Row:
    return {
        "id": _deployment_commit_id(deployment_id, commit),
        "deployment_id": deployment_id,
        "commit_id": commit,
    }


@dataclass(frozen=True)
class _RepoPlan:
    index: int
    commits: int
    pull_requests: int
    deployments: int
    incidents: int


@dataclass
class _Pull:
    author: Actor
    created: int
    landing: int | None = None  # when a merged pull request was merged
    closed: int | None = None  # when an unmerged one was closed
    draft_ready: int | None = None
    is_draft: bool = False
    hotfix: bool = False
    commit_times: list[int] = field(default_factory=list)
    shas: list[str] = field(default_factory=list)
    merge_sha: str | None = None
    number: int = 0
    id: str = ""


@dataclass(frozen=True)
class _Deployed:
    """A production deployment as its stream sees it."""

    id: str
    sha: str
    position: int  # of its sha in landing order
    finished: int
    success: bool
    service_id: str | None


class _Repository:
    """One repository's history: commits, pull requests, deployments and incidents."""

    def __init__(
        self, rng: random.Random, org: _Organization, plan: _RepoPlan, writer: _Writer
    ) -> None:
        self.rng, self.plan, self.writer = rng, plan, writer
        self.roster = org.roster
        self.team = plan.index % len(org.leaves)
        self.team_id = org.leaf_ids[self.team]
        self.org_id = org.id
        self.name = f"{org.leaves[self.team]}-{WORDS[plan.index % len(WORDS)]}-{plan.index}"
        self.id = repository_id("github", f"{ORG_NAME}/{self.name}")
        self.services: list[tuple[str, str]] = []  # (service id, path prefix)
        # Commits in landing order, and the main-line tips as (landing time, position).
        self.ids: list[str] = []
        self.shas: list[str] = []
        self.tips: list[tuple[int, int]] = []
        self.direct: list[int] = []  # positions of direct commits, which reverts pick from

    def generate(self) -> None:
        self._repository_rows()
        units = self._units()
        pulls = self._pulls(units)
        merged = iter(p for p in pulls if p.landing is not None)
        for landing, size in units:
            if size:
                self._land(next(merged))
            else:
                self._direct_commit(landing)
        for pull in sorted(pulls, key=lambda p: p.number):
            self._pull_rows(pull)
        self._incidents(self._deployments())

    def _repository_rows(self) -> None:
        self.writer.add(
            table_of(Repository),
            {
                "id": self.id,
                **_origin(f"{ORG_NAME}/{self.name}"),
                "organization_id": self.org_id,
                "owning_team_id": self.team_id,
                "provider": "github",
                "name": self.name,
                "default_branch": "main",
                "location": None,
            },
        )
        if _monorepo(self.plan.index):
            for path in SERVICE_PATHS:
                name = f"{self.name}-{path.rsplit('/', 1)[1]}"
                self.services.append((self._service(name, path), path))
        elif self.plan.index % 2 == 0:
            self.services.append((self._service(self.name, ""), ""))

    def _service(self, name: str, prefix: str) -> str:
        service_id = stable_id(SOURCE, "service", name)
        self.writer.add(
            table_of(Service),
            {
                "id": service_id,
                **_origin(name),
                "organization_id": self.org_id,
                "owning_team_id": self.team_id,
                "name": name,
            },
        )
        self.writer.add(
            table_of(ServiceRepository),
            {
                "id": stable_id(SOURCE, "service_repository", service_id, self.id, prefix),
                "service_id": service_id,
                "repository_id": self.id,
                "path_prefix": prefix,
            },
        )
        return service_id

    # Commits and pull requests ------------------------------------------------------------

    def _units(self) -> list[tuple[int, int]]:
        """(landing time, size) in landing order: 0 a direct commit, k a pull request of k
        commits (and its merge commit)."""
        rng = self.rng
        merged = round(self.plan.pull_requests * 0.85)
        sizes = [rng.choices((1, 2, 3, 4, 5), (30, 25, 20, 15, 10))[0] for _ in range(merged)]
        while sizes and sum(sizes) + len(sizes) > self.plan.commits * 0.9:
            sizes.pop()
        units = sizes + [0] * (self.plan.commits - sum(sizes) - len(sizes))
        rng.shuffle(units)
        times = _working_times(rng, len(units), START_TS + DAY, END_TS - HOUR)
        return list(zip(times, units, strict=True))

    def _pulls(self, units: list[tuple[int, int]]) -> list[_Pull]:
        """Merged pull requests in landing order, then open and closed ones; numbered in the
        order they were opened."""
        pulls = [self._merged_pull(landing, size) for landing, size in units if size]
        unmerged = max(0, self.plan.pull_requests - len(pulls))
        pulls += [self._unmerged_pull(still_open=k < unmerged // 2) for k in range(unmerged)]
        for number, pull in enumerate(sorted(pulls, key=lambda p: p.created), 1):
            pull.number = number
            pull.id = stable_id(SOURCE, "pull_request", self.name, number)
        return pulls

    def _merged_pull(self, landing: int, commits: int) -> _Pull:
        rng = self.rng
        first = max(START_TS, landing - _lognormal(rng, 20 * HOUR, 1.1, HOUR // 2, 25 * DAY))
        life = landing - first
        pull = _Pull(self._author(first), first + int(rng.uniform(0.02, 0.5) * life), landing)
        later = sorted(first + int(rng.uniform(0.01, 0.6) * life) for _ in range(commits - 1))
        pull.commit_times = [first, *later]
        if rng.random() < 0.15:  # opened as a draft
            pull.draft_ready = pull.created + int(rng.uniform(0.1, 0.5) * (landing - pull.created))
        pull.hotfix = rng.random() < 0.01
        return pull

    def _unmerged_pull(self, *, still_open: bool) -> _Pull:
        rng = self.rng
        if still_open:
            created = int(rng.uniform(END_TS - 45 * DAY, END_TS - HOUR))
            pull = _Pull(self._author(created), created, is_draft=rng.random() < 0.3)
        else:
            created = int(rng.uniform(START_TS, END_TS - 10 * DAY))
            pull = _Pull(self._author(created), created)
            pull.closed = created + _lognormal(rng, 3 * DAY, 1.0, HOUR, 60 * DAY)
        # Their commits never reached the main line, so the store has no row for them.
        pull.shas = [_sha(self.name, "branch", created, k) for k in range(rng.randint(1, 3))]
        return pull

    def _author(self, ts: float) -> Actor:
        roll = self.rng.random()
        if roll < 0.03:
            return self.rng.choice(self.roster.bots)
        if roll < 0.85:
            return self.roster.member(self.rng, self.team, ts)
        return self.roster.anyone(self.rng, ts)

    def _tip(self, ts: float | None = None) -> int:
        """Position of the main-line tip at `ts` (the latest by default); -1 before any."""
        if ts is None:
            return self.tips[-1][1] if self.tips else -1
        index = bisect_right(self.tips, (ts, len(self.shas))) - 1
        return self.tips[index][1] if index >= 0 else -1

    def _parent(self, position: int) -> str:
        return self.shas[position] if position >= 0 else ""

    def _land(self, pull: _Pull) -> None:
        """The pull request's commits, branched from main as it was at the first one, then
        its merge commit on the main line."""
        assert pull.landing is not None
        parent = self._parent(self._tip(pull.commit_times[0]))
        for step, authored in enumerate(pull.commit_times, 1):
            subject = f"{self._words()} ({step}/{len(pull.commit_times)})"
            parent = self._commit(pull.author, authored, subject, parent, tip=False)
            pull.shas.append(parent)
        parents = f"{self._parent(self._tip())} {parent}".strip()
        subject = f"Merge pull request #{pull.number} from {ORG_NAME}/{_head_ref(pull)}"
        pull.merge_sha = self._commit(pull.author, pull.landing, subject, parents, merge=True)

    def _direct_commit(self, landing: int) -> None:
        rng = self.rng
        author = self._author(landing)
        message = None
        if author.is_bot:
            old, new = rng.randint(0, 9), rng.randint(10, 19)
            subject = f"Bump {rng.choice(WORDS)} from 1.{old}.0 to 1.{new}.0"
        elif self.direct and rng.random() < 0.004:
            reverted = self.shas[rng.choice(self.direct[-50:])]
            subject = f"Revert {reverted[:12]}"
            message = f"{subject}\n\nThis reverts commit {reverted}."
        else:
            subject = f"{self._words()} #{len(self.shas)}"
        self.direct.append(len(self.shas))
        self._commit(author, landing, subject, self._parent(self._tip()), message=message)

    def _words(self) -> str:
        return f"{self.rng.choice(VERBS)} {self.rng.choice(WORDS)} {self.rng.choice(WORDS)}"

    def _commit(
        self,
        author: Actor,
        authored: int,
        subject: str,
        parents: str,
        *,
        tip: bool = True,
        merge: bool = False,
        message: str | None = None,
    ) -> str:
        """Add a commit at the end of landing order; `tip` when it lands on the main line."""
        position = len(self.shas)
        sha = _sha(self.name, position)
        stats = None
        if not merge:
            files = self.rng.choices((1, 2, 3, 5, 12), (40, 25, 15, 12, 8))[0]
            stats = (files * self.rng.randint(1, 40), files * self.rng.randint(0, 15), files)
        row = _commit_row(self.id, sha, parents, author, authored, subject, stats, message)
        self.writer.add(COMMIT, row)
        if stats is not None and len(self.services) > 1:
            self._commit_files(row["id"], *stats)
        self.ids.append(row["id"])
        self.shas.append(sha)
        if tip:
            self.tips.append((authored, position))
        return sha

    def _commit_files(self, commit: str, additions: int, deletions: int, files: int) -> None:
        """A monorepo commit's files: under one service's path, or in the shared library."""
        rng = self.rng
        prefix = rng.choice(self.services)[1] if rng.random() < 0.9 else "libs/common"
        for k in range(files):
            path = f"{prefix}/{rng.choice(WORDS)}_{k}.py"
            self.writer.add(
                table_of(CommitFile),
                {
                    "id": stable_id("silver", "commit_file", commit, path),
                    "commit_id": commit,
                    "path": path,
                    "old_path": None,
                    "additions": additions // files,
                    "deletions": deletions // files,
                    "is_binary": False,
                },
            )

    def _pull_rows(self, pull: _Pull) -> None:
        rng = self.rng
        reviews = self._reviews(pull)
        author = pull.author.person_id
        people = [w for who, w, _ in reviews if not who.is_bot and who.person_id != author]
        approvals = [when for _who, when, state in reviews if state == "APPROVED"]
        lines = len(pull.shas) * rng.randint(5, 120)
        labels = [rng.choice(("feature", "bug", "chore"))] if rng.random() < 0.4 else None
        if pull.hotfix or pull.author.is_bot:
            labels = ["hotfix"] if pull.hotfix else ["dependencies"]
        ended = pull.landing or pull.closed
        self.writer.add(
            table_of(PullRequest),
            {
                "id": pull.id,
                **_origin(f"{ORG_NAME}/{self.name}#{pull.number}"),
                "repository_id": self.id,
                "number": pull.number,
                "title": self._words(),
                "body": None,
                "author_identity_id": pull.author.identity_id,
                "state": "merged" if pull.landing else ("closed" if pull.closed else "open"),
                "is_draft": pull.is_draft,
                "base_ref": "main",
                "head_ref": _head_ref(pull),
                "created_at": _at(pull.created),
                "ready_for_review_at": None if pull.draft_ready is None else _at(pull.draft_ready),
                "first_review_at": _at(min(people)) if people else None,
                "approved_at": _at(min(approvals)) if approvals else None,
                "merged_at": None if pull.landing is None else _at(pull.landing),
                "closed_at": None if ended is None else _at(ended),
                "merge_commit_sha": pull.merge_sha,
                "additions": lines,
                "deletions": lines // 3,
                "labels": labels,
            },
        )
        for sha in pull.shas:
            self.writer.add(
                table_of(PullRequestCommit),
                {
                    "id": stable_id(SOURCE, "pull_request_commit", pull.id, sha),
                    "pull_request_id": pull.id,
                    "sha": sha,
                },
            )
        self._review_rows(pull, reviews)

    def _reviews(self, pull: _Pull) -> list[tuple[Actor, int, str]]:
        """(reviewer, submitted, state): now and then a bot and the author first, then people
        between ready-for-review and the end (merge, close, or now); the last merged one
        approves."""
        rng = self.rng
        ready = pull.draft_ready or pull.created
        end = pull.landing or pull.closed or END_TS
        if end <= ready + 600:
            return []
        found: list[tuple[Actor, int, str]] = []
        if rng.random() < 0.1:
            found.append((rng.choice(self.roster.bots), ready + 120, "COMMENTED"))
        if rng.random() < 0.04:
            found.append((pull.author, ready + 60, "COMMENTED"))
        wanted = (
            rng.choices((0, 1, 2, 3), (3, 45, 37, 15))[0] if pull.landing else rng.randint(0, 1)
        )
        first = ready + 300 + int(rng.uniform(0.05, 0.6) * (end - ready - 300))
        times = sorted([first] + [int(rng.uniform(first, end)) for _ in range(wanted - 1)])
        for k, when in enumerate(times[:wanted]):
            reviewer = self.roster.other(rng, self.team, when, pull.author)
            last = pull.landing is not None and k == wanted - 1
            state = "APPROVED" if last else rng.choice(("COMMENTED", "CHANGES_REQUESTED"))
            found.append((reviewer, when, state))
        return found

    def _review_rows(self, pull: _Pull, reviews: list[tuple[Actor, int, str]]) -> None:
        rng = self.rng
        for k, (reviewer, when, state) in enumerate(reviews):
            self.writer.add(
                table_of(Review),
                {
                    "id": stable_id(SOURCE, "review", pull.id, k),
                    **_origin(f"{pull.id}/review/{k}"),
                    "pull_request_id": pull.id,
                    "reviewer_identity_id": reviewer.identity_id,
                    "state": state,
                    "submitted_at": _at(when),
                },
            )
        for k in range(rng.choices((0, 1, 2, 4), (40, 30, 20, 10))[0] if reviews else 0):
            which = rng.randrange(len(reviews))
            reviewer, when, _state = reviews[which]
            self.writer.add(
                table_of(ReviewComment),
                {
                    "id": stable_id(SOURCE, "review_comment", pull.id, k),
                    **_origin(f"{pull.id}/comment/{k}"),
                    "pull_request_id": pull.id,
                    "review_id": stable_id(SOURCE, "review", pull.id, which),
                    "author_identity_id": reviewer.identity_id,
                    "path": f"src/{rng.choice(WORDS)}.py",
                    "created_at": _at(when - rng.randint(0, 600)),
                },
            )

    # Deployments and incidents ------------------------------------------------------------

    def _deployments(self) -> list[_Deployed]:
        """Production deployments (with rollbacks and linked fixes) and, where there is a
        staging environment, one staging deployment before each; returns production's."""
        if not self.tips:
            return []
        count = self.plan.deployments // 2 if _staging(self.plan.index) else self.plan.deployments
        first = self.tips[0][0] + HOUR
        times = _working_times(self.rng, round(count / 1.025), first, END_TS - HOUR)
        production: list[_Deployed] = []
        for k, ts in enumerate(times):
            following = times[k + 1] if k + 1 < len(times) else END_TS - 600
            self._production(production, ts, following)
        self._ship(production)
        if _staging(self.plan.index):
            self._staging(production)
        return production

    def _production(self, stream: list[_Deployed], ts: int, following: int) -> None:
        """One regular deployment at `ts`, now and then followed, before `following`, by a
        rollback to the previous successful deployment's sha or by a linked fix."""
        rng = self.rng
        failed = rng.random() < 0.04
        verdict: dict[str, Any] = {"status": "failure"} if failed else {}
        if not failed and rng.random() < 0.005:
            verdict["marked_failed"] = rng.random() < 0.6
        deployed = self._deploy(stream, ts, self._tip(ts), **verdict)
        roll = rng.random()
        later = deployed.finished + int(rng.uniform(0.2, 3) * HOUR)
        if failed or later >= following:
            return
        if roll < 0.015:  # half flagged as rollbacks, half merely redeploying an older sha
            older = (d.position for d in reversed(stream) if d.success)
            previous = next((p for p in older if p < deployed.position), None)
            if previous is not None:
                self._deploy(stream, later, previous, is_rollback=rng.random() < 0.5)
        elif roll < 0.025:
            self._deploy(stream, later, self._tip(later), fixes_deployment_id=deployed.id)

    def _deploy(self, stream: list[_Deployed], ts: int, position: int, **verdict: Any) -> _Deployed:
        service = self.rng.choice(self.services)[0] if self.services else None
        finished = ts + self.rng.randint(180, 1500)
        row = _deployment_row(
            f"{self.name}/production/{len(stream)}", self.id, service, "production",
            self.shas[position], ts, finished, **verdict,
        )  # fmt: skip
        self.writer.add(DEPLOYMENT, row)
        success = row["status"] == "success"
        deployed = _Deployed(row["id"], row["sha"], position, finished, success, service)
        stream.append(deployed)
        return deployed

    def _staging(self, production: list[_Deployed]) -> None:
        """Each successful production deployment went to staging first, since its sha landed."""
        stream = []
        landings = {position: ts for ts, position in self.tips}
        for k, deployed in enumerate(d for d in production if d.success):
            landed = landings[deployed.position]
            ts = max(landed + 300, deployed.finished - int(self.rng.uniform(1, 5) * HOUR))
            if ts >= deployed.finished - 600:
                ts = (landed + deployed.finished - 600) // 2
            finished = ts + self.rng.randint(120, 600)
            status = "failure" if self.rng.random() < 0.08 else "success"
            row = _deployment_row(
                f"{self.name}/staging/{k}", self.id, deployed.service_id, "staging",
                deployed.sha, ts, finished, status=status,
            )  # fmt: skip
            self.writer.add(DEPLOYMENT, row)
            success = status == "success"
            stream.append(replace(deployed, id=row["id"], finished=finished, success=success))
        self._ship(stream)

    def _ship(self, stream: list[_Deployed]) -> None:
        """What each successful deployment of one environment shipped: the commits up to its
        sha that no earlier one shipped (none for a rollback to an older sha)."""
        shipped = -1
        for deployed in sorted(stream, key=lambda d: (d.finished, d.id)):
            if deployed.success and deployed.position > shipped:
                for position in range(shipped + 1, deployed.position + 1):
                    self.writer.add(DEPLOYMENT_COMMIT, _link(deployed.id, self.ids[position]))
                shipped = deployed.position

    def _incidents(self, production: list[_Deployed]) -> None:
        """Most start within hours of a successful deployment; some name its sha or the
        deployment itself; one in eight is unrelated to any deployment."""
        rng = self.rng
        shipped = [d for d in production if d.success]
        for k in range(self.plan.incidents):
            roll = rng.random()
            evidence, deployment_id = None, None
            if roll < 0.12 or not shipped:
                started = int(rng.uniform(START_TS, END_TS - HOUR))
                service = rng.choice(self.services)[0] if self.services else None
            else:
                cause = rng.choice(shipped)
                started = cause.finished + _lognormal(rng, 2 * HOUR, 1.2, 300, 60 * HOUR)
                service = cause.service_id
                evidence = {"sha": cause.sha} if roll < 0.2 else None
                deployment_id = cause.id if 0.2 <= roll < 0.25 else None
            self._incident(k, min(started, END_TS - 600), service, deployment_id, evidence)

    def _incident(
        self, k: int, started: int, service: str | None, deployment: str | None, evidence: Any
    ) -> None:
        rng = self.rng
        resolved = started + _lognormal(rng, 3 * HOUR, 1.2, 600, 10 * DAY)
        over = resolved < END_TS
        self.writer.add(
            table_of(Incident),
            {
                "id": stable_id(SOURCE, "incident", self.name, k),
                **_origin(f"{self.name}/INC-{k}"),
                "title": f"{self.name}: {rng.choice(WORDS)} {rng.choice(('errors', 'latency'))}",
                "severity": rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
                "status": "resolved" if over else "triggered",
                "service_id": service,
                "repository_id": None if service else self.id,
                "deployment_id": deployment,
                "started_at": _at(started),
                "detected_at": _at(started + rng.randint(60, 1800)),
                "resolved_at": _at(resolved) if over else None,
                "evidence": evidence,
            },
        )


def _head_ref(pull: _Pull) -> str:
    return f"{'hotfix' if pull.hotfix else 'feature'}/change-{pull.number}"


@dataclass(frozen=True)
class _SprintSpan:
    id: str
    started: int
    completed: int | None


class _Board:
    """One nested team's issues on its board, with status history and two-week sprints."""

    def __init__(
        self, rng: random.Random, org: _Organization, index: int, count: int, writer: _Writer
    ) -> None:
        self.rng, self.writer, self.roster = rng, writer, org.roster
        self.index, self.count = index, count
        self.team = org.leaves[index]
        self.project = self.team.upper().replace("-", "")
        self.origin = START_TS + (7 - (START_TS // DAY + 3) % 7) % 7 * DAY  # the first Monday
        self.sprints = self._sprints()

    def generate(self) -> None:
        for number in range(1, self.count + 1):
            self._issue(number)

    def _sprints(self) -> list[_SprintSpan]:
        """Sprints from the first Monday on: each completed a little after its planned end,
        the next started soon after; the one running at `END` is active, one more is planned."""
        spans: list[_SprintSpan] = []
        k, started = 0, self.origin + 2 * HOUR
        while self.origin + k * SPRINT < END_TS + SPRINT:
            planned = self.origin + k * SPRINT
            completed: int | None = planned + SPRINT + self.rng.randint(0, 3 * HOUR)
            if completed is not None and completed >= END_TS:
                completed = None
            is_started = started < END_TS
            self._sprint_row(k, planned, started if is_started else None, completed)
            if is_started:
                spans.append(_SprintSpan(self._sprint_id(k), started, completed))
            if completed is not None:
                started = completed + self.rng.randint(600, 2 * HOUR)
            else:
                started = END_TS + SPRINT  # the sprints after the active one have not started
            k += 1
        return spans

    def _sprint_id(self, k: int) -> str:
        return stable_id(SOURCE, "sprint", self.team, k)

    def _sprint_row(self, k: int, planned: int, started: int | None, completed: int | None) -> None:
        state = "closed" if completed else ("active" if started else "future")
        self.writer.add(
            table_of(Sprint),
            {
                "id": self._sprint_id(k),
                **_origin(f"{self.team}/{k}"),
                "board": f"{self.team} board",
                "name": f"{self.project} Sprint {k + 1}",
                "state": state,
                "goal": None,
                "planned_start": _at(planned),
                "planned_end": _at(planned + SPRINT),
                "started_at": None if started is None else _at(started),
                "completed_at": None if completed is None else _at(completed),
            },
        )

    def _assignee(self, created: int) -> Actor | None:
        roll = self.rng.random()
        if roll < 0.02:
            return None
        if roll < 0.03:
            return self.rng.choice(self.roster.bots)
        if roll < 0.95:
            return self.roster.member(self.rng, self.index, created)
        return self.roster.anyone(self.rng, created)

    def _issue(self, number: int) -> None:
        rng = self.rng
        key = f"{self.project}-{number}"
        issue_id = stable_id(SOURCE, "issue", key)
        created = int(rng.uniform(START_TS, END_TS - HOUR))
        kind = rng.choices(("Story", "Bug", "Task"), (60, 30, 10))[0]
        points = rng.choice((1.0, 2.0, 3.0, 5.0, 8.0)) if kind == "Story" else None
        assignee = self._assignee(created)
        history = self._history(created)
        status = history[-1][1] if history else TODO
        done = history[-1][2] if status in (DONE, WONT) else None
        sprint = None
        if status != WONT and rng.random() < 0.75:
            began = history[0][2] if history and history[0][1] == PROGRESS else None
            sprint = self._plan_sprint(issue_id, created, began or created, done, points)
        self.writer.add(
            table_of(Issue),
            {
                "id": issue_id,
                **_origin(key),
                "key": key,
                "project": self.project,
                "title": f"{rng.choice(VERBS)} {rng.choice(WORDS)} {rng.choice(WORDS)}",
                "type": kind,
                "status": status[0],
                "status_category": status[1],
                "story_points": points,
                "assignee_identity_id": None if assignee is None else assignee.identity_id,
                "parent_id": None,
                "epic_key": f"{self.project}-E{number // 40}" if rng.random() < 0.3 else None,
                "sprint_id": sprint,
                "created_at": _at(created),
                "resolved_at": None if done is None else _at(done),
            },
        )
        for source, target, ts in history:
            self._transition(issue_id, source, target, ts, assignee)

    def _history(self, created: int) -> list[tuple[Status, Status, int]]:
        """To do → in progress (→ blocked → in progress) → review (→ in progress → review) →
        done; a few are dropped (won't do). Cut at `END`."""
        rng = self.rng
        if rng.random() < 0.04:
            path = [(TODO, WONT)]
        else:
            path = [(TODO, PROGRESS)]
            if rng.random() < 0.07:
                path += [(PROGRESS, BLOCKED), (BLOCKED, PROGRESS)]
            path.append((PROGRESS, REVIEW))
            if rng.random() < 0.1:
                path += [(REVIEW, PROGRESS), (PROGRESS, REVIEW)]
            path.append((REVIEW, DONE))
        history = []
        ts = created
        for source, target in path:
            ts += _lognormal(rng, STAY[source], 1.0, 300, 60 * DAY)
            if ts >= END_TS:
                break
            history.append((source, target, ts))
        return history

    def _plan_sprint(
        self, issue_id: str, created: int, began: int, done: int | None, points: float | None
    ) -> str | None:
        """Add the issue to the sprint it began in (before the sprint started when it was
        already there), carry it over while it is not done, at most three times; return the
        sprint it ends in, None when it went back to the backlog."""
        k = (began - self.origin) // SPRINT
        if not 0 <= k < len(self.sprints):
            return None
        span = self.sprints[k]
        added = created + 60
        if created < span.started:
            added = max(created + 60, span.started - self.rng.randint(0, 2 * DAY))
        self._scope(span.id, issue_id, "added", added, points)
        for carried in range(4):
            if span.completed is None or (done is not None and done <= span.completed):
                return span.id
            self._scope(span.id, issue_id, "removed", span.completed, points)
            if carried == 3 or k + 1 >= len(self.sprints):
                return None
            k += 1
            span = self.sprints[k]
            self._scope(span.id, issue_id, "added", span.started - 60, points)
        return span.id

    def _scope(
        self, sprint: str, issue_id: str, change: str, ts: int, points: float | None
    ) -> None:
        self.writer.add(
            table_of(SprintScopeChange),
            {
                "id": stable_id(SOURCE, "sprint_scope_change", sprint, issue_id, ts, change),
                "sprint_id": sprint,
                "issue_id": issue_id,
                "change": change,
                "story_points": points,
                "changed_at": _at(ts),
            },
        )

    def _transition(
        self, issue_id: str, source: Status, target: Status, ts: int, author: Actor | None
    ) -> None:
        self.writer.add(
            table_of(IssueStatusTransition),
            {
                "id": stable_id(SOURCE, "issue_status_transition", issue_id, ts, target[0]),
                "issue_id": issue_id,
                "from_status": source[0],
                "to_status": target[0],
                "from_category": source[1],
                "to_category": target[1],
                "author_identity_id": None if author is None else author.identity_id,
                "changed_at": _at(ts),
            },
        )
