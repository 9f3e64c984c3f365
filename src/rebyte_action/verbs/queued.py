"""Limits and the queue on a run: hold a request over a limit, start the queued ones before it.

The decisions are ``queue.py``'s; starting queued requests is ``drain.py``'s. One run reads the
queue with the repository listing the reconciler uses (``GitHub.repository_markers``), never a
request per task.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from ..decide import Plan, Target
from ..github import GitHub, GitHubError
from ..queue import Limits, RepoState, blocked_by, pack_plan, place, seal
from ..queue_report import queue_line, queued_comment
from ..rebyte import RebyteClient
from ..report import ThreadMarker
from ..session import EXIT_OK, Session
from .drain import Snapshot, drain, expire, listing_since

# -- a run ---------------------------------------------------------------------------

QUEUE_MARGIN = timedelta(hours=1)  # a run without a limit looks back queue-hours and this much more


def window(session: Session) -> datetime:
    """How far back a run lists the repository's comments: the reconciler's window when this action
    counts running tasks (a limit is set), else only the queue's (``queue-hours``, and a margin so
    that a request just past it is answered as expired)."""
    limits = session.limits
    if limits.active:
        return listing_since(session)
    return datetime.now(UTC) - timedelta(hours=limits.queue_hours) - QUEUE_MARGIN


def gate(
    session: Session,
    rebyte: RebyteClient,
    plan: Plan,
    target: Target,
    executors: tuple[str, ...] = (),
    *,
    fresh: bool = False,
) -> int | ThreadMarker | None:
    """Before new tasks start (never a follow-up): start the queued requests made before this one
    that fit, then let this one start (None), hold it in the queue (an exit code), or, when one
    started was this thread's own, send this request to that task (its marker: a follow-up).

    ``executors``: a fan-out's, one place each. Without a limit of this action's, queued requests
    are those Rebyte refused (429): they are started in order until Rebyte refuses again, and this
    request waits behind any left. Costs one listing (``GET …/issues/comments``, usually one page);
    nothing when :func:`_reads_queue` says no.
    """
    limits, github = session.limits, session.github
    if not _reads_queue(session):
        return None
    assert github is not None
    trigger = session.trigger
    assert trigger is not None
    too_wide = _wider_than_limits(limits, len(executors))
    if too_wide is not None:
        return session.fail("Not started: more tasks at once than the limits allow", too_wide)
    mine = session.answer.comment_id
    snapshot = Snapshot.read(github, window(session), _key(session))
    expire(session, github, snapshot, limits)
    own = frozenset({mine}) if mine is not None else frozenset()
    started = drain(session, github, rebyte, snapshot, limits, before=mine, own=own)
    if not executors:
        joined = _started_here(snapshot, session.issue, started)
        if joined is not None:
            return joined
    state = snapshot.state(limits)
    # A queued request made earlier that another run is starting takes its place, whatever the order
    # of that run's claim and this request's answer.
    starting = frozenset(
        claims[0] for queued, claims in state.claims.items() if claims and (mine is None or queued < mine)
    )
    places = max(1, len(executors))
    why = blocked_by(state, limits, trigger.actor.login, ticket=mine, counting=starting, places=places)
    if why is None and mine is not None:
        # A queued request made earlier that fits but did not start (Rebyte refused it, or its
        # start failed) keeps its place ahead of this one.
        ahead = [
            w
            for w in state.queue
            if w.comment_id < mine
            and w.comment_id not in state.claims
            and not blocked_by(state, limits, w.requester, ticket=mine, counting=starting)
        ]
        if ahead:
            why = "earlier requests are waiting in the queue"
    show_queue(session, state)
    if why is None:
        return None
    return hold(session, plan, why, target, state=state, executors=executors, fresh=fresh)


def _started_here(snapshot: Snapshot, issue: int | None, started: list[str]) -> ThreadMarker | None:
    """The task this run's drain just started (``started``) for a request queued in thread
    ``issue``, if any: a later request in the thread continues it, as it would have had the first
    not waited. (A task the thread had before is the thread's own business: dispatch chose.)"""
    found = [
        m
        for m in snapshot.markers()
        if m.issue == issue and m.marker.kind == "task" and m.marker.task_id in started
    ]
    return max(found, key=lambda m: m.comment_id) if issue is not None and found else None


def hold(
    session: Session,
    plan: Plan,
    why: str,
    target: Target,
    *,
    state: RepoState | None = None,
    executors: tuple[str, ...] = (),
    fresh: bool = False,
) -> int:
    """Put this run's request in the queue: its answer says ⏸ queued, why, its place, how to drop it.

    The queued marker keeps the plan (and a fan-out's ``executors``) and the commit the request was
    made on (``sha``: the pull request's head, or GITHUB_SHA) for whoever starts it later, and
    ``new`` when it asked for a task of its own (``fresh``: else it joins a task its thread has by
    then, ``drain.joins``).
    """
    settings, limits, github, trigger = session.settings, session.limits, session.github, session.trigger
    assert trigger is not None
    mine = session.answer.comment_id
    if not limits.queue or github is None or mine is None or session.issue is None:
        where = (
            " (queue: false)"
            if not limits.queue
            else " (a direct prompt has no issue or pull request to wait in: run it again later)"
        )
        return session.fail("Not started: over a limit", f"{why[:1].upper()}{why[1:]}{where}.")
    if state is None:
        state = Snapshot.read(github, window(session), _key(session)).state(limits)
    facts = {
        **pack_plan(plan, executors),
        "sha": target.head_sha or settings.sha or None,
        "new": True if fresh else None,  # asked for a task of its own: never sent to the thread's
        "by": trigger.actor.login or None,
        "req": trigger.comment.url if trigger.comment else (trigger.subject.url if trigger.subject else None),
    }
    facts = {k: v for k, v in facts.items() if v is not None}
    facts["sig"] = seal(facts, request=trigger.request_key, comment_id=mine, key=_key(session))
    spot = place(state, mine)
    state.queue = [w for w in state.queue if w.comment_id != mine]
    show_queue(session, state, joined=str(facts.get("req") or ""))
    session.answer.write(
        queued_comment(
            request_key=trigger.request_key,
            facts=facts,
            why=why,
            place=spot,
            trigger_phrase=settings.trigger_phrase,
            queue_hours=limits.queue_hours,
        )
    )
    session.outcome.status = "queued"
    session.outcome.headline = f"queued (place {spot})"
    session.outcome.detail = f"Not started yet: {why}."
    session.workflow.log(f"The request waits in the queue, place {spot}: {why}")
    return EXIT_OK


def show(session: Session) -> None:
    """The queue's line in the step summary of a run that answered a request without reading the
    queue (a follow-up, status, share, cancel, help, a failure): one listing, as :func:`gate`'s.
    Nothing for a skipped run, or when :func:`_reads_queue` says no; a listing GitHub refuses is
    a warning, not a failure of the run."""
    github, outcome, limits = session.github, session.outcome, session.limits
    if outcome.queue or outcome.skipped or session.trigger is None or not _reads_queue(session):
        return
    assert github is not None
    try:
        state = Snapshot.read(github, window(session), _key(session)).state(limits)
    except GitHubError as error:
        session.workflow.warning(f"Could not read the queue for the step summary: {error}")
        return
    show_queue(session, state)


def _wider_than_limits(limits: Limits, places: int) -> str | None:
    """Why a fan-out of ``places`` tasks could never start under ``limits`` (it would wait until it
    expired), or None."""
    for limit, name in ((limits.max_running, "max-running"), (limits.per_user, "max-running-per-user")):
        if limit and places > limit:
            return (
                f"This request asks for {places} tasks at once (one per executor) and `{name}` is {limit}, "
                f"so it could never start. Ask for at most {limit} executors, or raise `{name}`."
            )
    return None


def _key(session: Session) -> str:
    """The step's Rebyte API key, which seals queued markers (``queue.seal``)."""
    key = session.settings.rebyte_api_key
    return key.get_secret_value() if key is not None else ""


def _reads_queue(session: Session) -> bool:
    """Whether this run reads the queue: with a limit set (it counts the running tasks); else when
    the queue is on and the request has a thread to wait in (a direct prompt on workflow_dispatch,
    schedule or push has none: it cannot wait, so it asks GitHub nothing)."""
    limits = session.limits
    if session.github is None:
        return False
    return limits.active or (limits.queue and session.issue is not None)


def show_queue(session: Session, state: RepoState, *, joined: str | None = None) -> None:
    """The queue's line in the step summary: its length and its oldest request (``joined``: the URL
    of this run's request, just queued)."""
    oldest = state.queue[0] if state.queue else None
    url = oldest.found.marker.facts.get("req") if oldest and oldest.found.marker.facts else joined
    since = oldest.since if oldest else (datetime.now(UTC) if joined is not None else None)
    length = len(state.queue) + (joined is not None)
    session.outcome.queue = queue_line(length, since, url if isinstance(url, str) else None)


# -- the reconciler -----------------------------------------------------------------


def reconcile_queue(
    session: Session,
    github: GitHub,
    markers: list[ThreadMarker],
    ended: set[str],
    transport: httpx.BaseTransport | None = None,
    *,
    frozen: str | None = None,
) -> str:
    """After the reconciler closed what ended: expire, then start as many queued requests as fit.

    ``markers`` is the reconciler's listing; ``ended`` the tasks it just saw end; ``frozen`` why
    no queued request may start on this run (the limits are unknown). Returns the summary's lines
    about the queue.
    """
    limits = session.limits
    snapshot = Snapshot(
        github, listing_since(session), datetime.now(UTC), ended=frozenset(ended), key=_key(session)
    )
    snapshot._merge(markers)
    expired = expire(session, github, snapshot, limits)
    started: list[str] = []
    if snapshot.state(limits).queue and not frozen:
        with session.rebyte(transport=transport) as rebyte:
            started = drain(session, github, rebyte, snapshot, limits)
    state = snapshot.state(limits)
    show_queue(session, state)
    lines = [f"{frozen}."] if frozen and state.queue else []
    if started:
        ids = ", ".join(f"`{t[:8]}`" for t in started)
        lines.append(f"Started {len(started)} task(s) for queued requests: {ids}.")  # a fan-out: several
    if expired:
        lines.append(f"{expired} queued request(s) expired (older than {limits.queue_hours:g} hours).")
    return "\n".join(lines)


__all__ = ["gate", "hold", "reconcile_queue", "show", "show_queue"]
