"""Limits and the queue, as pure decisions over the markers of the repository's answer comments.

No request is made here. The state comes from the one paginated listing of the repository's
comments (``GitHub.repository_markers``), whose hidden markers say, for every answer:

- ``task`` not yet shown ended: a running task (its last known status; who asked in ``facts.by``);
- ``pending`` (younger than ``STALE``): a run about to start a task, its requester in ``facts.by``;
- ``claim`` (younger than ``STALE``): a run or reconciler about to start queued request ``facts.q``;
- ``queued``: a request waiting, with everything needed to start it later (``facts``);
- ``drop`` (in ``cancel``'s reply): the queued answers ``facts.q`` that cancel drops.

Starters are ordered by the ids of their *ticket* comments (a pending answer, a claim), which
GitHub hands out in the order the comments were made: a starter counts the tickets posted before
its own as already running, so two starters at once never both take the last free place. This
is the ordering rule of the thread race (``decide.whose_turn``). The same rule settles a cancel
racing a drain: a queued request is dropped when the drop comes before its lowest live claim, and
being started when a claim comes first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .decide import Plan
from .report import ThreadMarker

STALE = timedelta(minutes=15)  # a pending answer or a claim older than this was abandoned by its run


@dataclass(frozen=True)
class Limits:
    """How many of this repository's tasks may run at once (0: no limit), and what happens over it.

    ``max_running``: in all; ``per_user``: per requester; ``queue``: a request over a limit (or
    refused by Rebyte with 429 ``limit_exceeded``) waits instead of failing; ``queue_hours``: a
    queued request older than this is answered as expired.
    """

    max_running: int = 0
    per_user: int = 0
    queue: bool = True
    queue_hours: float = 24.0

    @property
    def active(self) -> bool:
        """Whether this action limits anything itself (then every run reads the queue)."""
        return self.max_running > 0 or self.per_user > 0


def effective_limits(settings: Any, file_limits: dict[str, Any] | None = None) -> Limits:
    """The limits a run applies: the step's inputs, overridden key by key by the ``limits:``
    section of ``.github/rebyte.yml`` (keys ``max-running``, ``max-running-per-user``, ``queue``,
    ``queue-hours``; already validated) when there is one: the file wins."""
    values = {
        "max_running": settings.max_running,
        "per_user": settings.max_running_per_user,
        "queue": settings.queue,
        "queue_hours": settings.queue_hours,
    }
    names = {
        "max-running": "max_running",
        "max-running-per-user": "per_user",
        "queue": "queue",
        "queue-hours": "queue_hours",
    }
    for key, value in (file_limits or {}).items():
        name = names.get(key.replace("_", "-"))
        if name is not None and value is not None:
            values[name] = value
    return Limits(
        max_running=int(values["max_running"]),
        per_user=int(values["per_user"]),
        queue=bool(values["queue"]),
        queue_hours=float(values["queue_hours"]),
    )


@dataclass(frozen=True)
class Waiting:
    """A queued request: its answer comment (``comment_id``, in thread ``issue``) and its marker."""

    comment_id: int
    issue: int
    requester: str
    request: str
    since: datetime | None
    found: ThreadMarker


@dataclass
class RepoState:
    """What the markers say: running tasks (id -> requester), live tickets, the queue in order."""

    running: dict[str, str] = field(default_factory=dict)
    tickets: dict[int, str] = field(default_factory=dict)  # ticket comment id -> requester
    ticket_places: dict[int, int] = field(default_factory=dict)  # a fan-out's ticket: its places
    claims: dict[int, list[int]] = field(default_factory=dict)  # queued answer id -> claim ids, lowest first
    queue: list[Waiting] = field(default_factory=list)
    expired: list[Waiting] = field(default_factory=list)
    abandoned: list[Waiting] = field(default_factory=list)  # claimed, but the claimant never reported
    unsealed: list[int] = field(default_factory=list)  # queued markers left out: not sealed (``seal``)
    dropped: list[Waiting] = field(default_factory=list)  # named by a drop before any live claim on it
    dropped_by: dict[int, str] = field(default_factory=dict)  # queued answer id -> who dropped it


def read_state(
    markers: list[ThreadMarker],
    *,
    now: datetime,
    queue_hours: float,
    ended: frozenset[str] = frozenset(),
    key: str | None = None,
) -> RepoState:
    """The repository's running tasks, tickets and queue from its markers (newest comment wins).

    A fan-out's ``group`` marker counts each of its tasks; ``ended`` are tasks known to have ended
    since the markers were read (the reconciler's own findings). With ``key`` (the step's Rebyte
    key), a ``queued`` marker without its seal for its own comment (:func:`seal`) is left out,
    its comment id in ``unsealed``: anyone may write a hidden marker, and a queued one spends money."""
    state = RepoState()
    if key is not None:
        state.unsealed = [m.comment_id for m in markers if m.marker.kind == "queued" and not _sealed(m, key)]
        markers = [m for m in markers if m.comment_id not in state.unsealed]
    started_by: dict[str, tuple[int, str]] = {}
    gone = set(ended)
    answered: set[str] = set()  # requests whose newest answer is no longer queued
    stale_claims: set[int] = set()  # queued answers with a claim left behind by a run that stopped
    drops: dict[int, int] = {}  # queued answer id -> the first drop comment naming it
    newest: dict[str, int] = {}
    for found in markers:
        marker = found.marker
        if marker.request and found.comment_id > newest.get(marker.request, 0):
            newest[marker.request] = found.comment_id
    for found in markers:
        marker, facts = found.marker, found.marker.facts or {}
        by = facts.get("by") if isinstance(facts.get("by"), str) else ""
        fresh = found.created_at is None or now - found.created_at < STALE
        tasks = [marker] if marker.kind == "task" else list(marker.members) if marker.kind == "group" else []
        for one in (t for t in tasks if t.task_id):
            assert one.task_id is not None
            who = by or (one.facts or {}).get("by") or ""
            if one.is_final:
                gone.add(one.task_id)
            elif one.task_id not in started_by or found.comment_id < started_by[one.task_id][0]:
                started_by[one.task_id] = (found.comment_id, str(who))
        if tasks:
            continue
        if marker.kind == "pending" and fresh:
            state.tickets[found.comment_id] = by or ""
            places = facts.get("n")
            if isinstance(places, int) and not isinstance(places, bool) and places > 1:
                state.ticket_places[found.comment_id] = places
        elif marker.kind == "claim" and isinstance(facts.get("q"), int):
            if fresh:
                state.tickets[found.comment_id] = by or ""
                state.claims.setdefault(facts["q"], []).append(found.comment_id)
                places = facts.get("n")
                if isinstance(places, int) and not isinstance(places, bool) and places > 1:
                    state.ticket_places[found.comment_id] = places
            else:
                stale_claims.add(facts["q"])
        elif marker.kind == "drop" and isinstance(facts.get("q"), list):
            for queued in facts["q"]:
                named = isinstance(queued, int) and not isinstance(queued, bool)
                if named and (queued not in drops or found.comment_id < drops[queued]):
                    drops[queued] = found.comment_id
                    state.dropped_by[queued] = by or ""
        elif marker.kind == "queued" and marker.request and found.issue is not None:
            if newest.get(marker.request) != found.comment_id:
                answered.add(marker.request)
                continue
            waiting = Waiting(
                found.comment_id, found.issue, by or "", marker.request, found.created_at, found
            )
            too_old = found.created_at is not None and now - found.created_at > timedelta(hours=queue_hours)
            (state.expired if too_old else state.queue).append(waiting)
    state.running = {task: by for task, (_, by) in started_by.items() if task not in gone}
    # A claim is deleted once its request shows the task; one left alone past STALE may have
    # started a task that nobody recorded: never start that request again.
    state.abandoned = [
        w for w in state.queue if w.comment_id in stale_claims and w.comment_id not in state.claims
    ]
    state.queue = [w for w in state.queue if w not in state.abandoned]
    state.queue.sort(key=lambda w: w.comment_id)
    for queued, ids in state.claims.items():
        ids.sort()
        drop = drops.get(queued)
        for loser in ids[1:] + [i for i in ids[:1] if drop is not None and drop < i]:
            state.tickets.pop(loser, None)  # a later claim (or one after a drop) backs off: no place
    # A drop before any live claim wins: the request is dropped (cancel edits its answer); a claim
    # before the drop means it is being started, and cancel leaves it alone.
    state.dropped = [
        w
        for w in state.queue + state.expired
        if w.comment_id in drops
        and not any(c < drops[w.comment_id] for c in state.claims.get(w.comment_id, []))
    ]
    state.queue = [w for w in state.queue if w not in state.dropped]
    state.expired = [w for w in state.expired if w not in state.dropped]
    return state


def blocked_by(
    state: RepoState,
    limits: Limits,
    requester: str,
    *,
    ticket: int | None,
    ignore: frozenset[int] = frozenset(),
    counting: frozenset[int] = frozenset(),
    places: int = 1,
) -> str | None:
    """Which of this action's limits ``places`` new tasks for ``requester`` would pass (a fan-out
    takes one place per task), or None when they fit.

    Running tasks and the tickets posted before ``ticket`` (all of them when None), except those
    in ``ignore``, take places, and so do the tickets in ``counting`` whenever they were posted;
    the answer is a sentence for the queued comment.
    """
    earlier = [
        by
        for comment_id, by in state.tickets.items()
        if comment_id not in ignore and (ticket is None or comment_id < ticket or comment_id in counting)
        for _ in range(state.ticket_places.get(comment_id, 1))  # a fan-out's ticket: a place per task
    ]
    taken = list(state.running.values()) + earlier
    wanted = f"; this request needs {places} places" if places > 1 else ""
    if limits.max_running and len(taken) + places > limits.max_running:
        return (
            f"this repository's limit of {limits.max_running} running task(s) (`max-running`) is reached: "
            f"{len(taken)} running or starting{wanted}"
        )
    if limits.per_user and requester:
        mine = sum(1 for by in taken if by == requester)
        if mine + places > limits.per_user:
            return (
                f"@{requester} has {mine} task(s) running or starting here, the limit per person "
                f"(`max-running-per-user`) is {limits.per_user}{wanted}"
            )
    return None


def place(state: RepoState, comment_id: int) -> int:
    """1-based place of queued answer ``comment_id`` in the repository's queue (last when absent)."""
    before = sum(1 for w in state.queue if w.comment_id < comment_id)
    return before + 1


def won_claim(state: RepoState, queued: int, claim: int) -> bool:
    """Whether ``claim`` is the lowest live claim on queued answer ``queued`` and it still waits: not
    started, expired, nor dropped by a ``cancel`` whose drop comment came before the claim."""
    claims = state.claims.get(queued, [])
    return any(w.comment_id == queued for w in state.queue) and bool(claims) and claims[0] == claim


# -- a plan kept in the queued answer's marker -------------------------------------------


def pack_plan(plan: Plan, executors: tuple[str, ...] = ()) -> dict[str, Any]:
    """The plan in a marker's facts: the prompt deflated and base64'd (a prompt may hold anything);
    ``executors`` when the request is a fan-out (a task per executor, see :func:`unpack_executors`)."""
    data: dict[str, Any] = {
        "executors": list(executors) or None,
        "branch": plan.branch,
        "repo": plan.github_url,
        "executor": plan.executor,
        "model": plan.model,
        "skills": list(plan.skills) or None,
        "visibility": plan.visibility,
        "prompt": base64.b64encode(zlib.compress(plan.prompt.encode(), 9)).decode(),
    }
    return {k: v for k, v in data.items() if v is not None}


SEAL_CONTEXT = b"rebyte-action queued request v1"


def seal(facts: dict[str, Any], *, request: str, comment_id: int, key: str) -> str:
    """The ``sig`` of a queued answer's marker: HMAC-SHA256 (hex, 32 characters) over the comment's
    id, the request key and the facts (the plan; ``sig`` left out), keyed by the step's Rebyte API
    key. Anyone can write a hidden marker in a comment; only a run holding the key can write one a
    drain will start, and a copy of it in another comment is not one (no replay, no second task)."""
    body = {k: v for k, v in facts.items() if k != "sig"}
    message = json.dumps([comment_id, request, body], sort_keys=True, separators=(",", ":"))
    derived = hmac.new(key.encode(), SEAL_CONTEXT, hashlib.sha256).digest()
    return hmac.new(derived, message.encode(), hashlib.sha256).hexdigest()[:32]


def _sealed(found: ThreadMarker, key: str) -> bool:
    """Whether a queued marker carries the seal a run with ``key`` wrote for its own comment."""
    facts = found.marker.facts or {}
    sig = facts.get("sig")
    expected = seal(facts, request=found.marker.request or "", comment_id=found.comment_id, key=key)
    return isinstance(sig, str) and bool(key) and hmac.compare_digest(sig, expected)


def unpack_plan(facts: dict[str, Any]) -> Plan | None:
    """The plan back from a queued marker's facts; None when it cannot be read."""
    try:
        prompt = zlib.decompress(base64.b64decode(str(facts["prompt"]), validate=True)).decode()
        skills = facts.get("skills") or []
        return Plan(
            prompt=prompt,
            executor=_text(facts.get("executor")),
            model=_text(facts.get("model")),
            skills=tuple(s for s in skills if isinstance(s, str)),
            branch=str(facts["branch"]),
            github_url=str(facts["repo"]),
            visibility=_text(facts.get("visibility")),
        )
    except (KeyError, ValueError, TypeError, zlib.error, UnicodeDecodeError):
        return None


def unpack_executors(facts: dict[str, Any]) -> tuple[str, ...]:
    """A queued fan-out's executors (a task each); empty for a request that starts one task."""
    executors = facts.get("executors")
    if not isinstance(executors, list):
        return ()
    return tuple(e for e in executors if isinstance(e, str) and e)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
