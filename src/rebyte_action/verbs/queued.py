"""Limits and the queue on a run: hold a request over a limit, start the queued ones before it.

The decisions are ``queue.py``'s; starting queued requests is ``drain.py``'s. One run reads the
queue with the repository listing the reconciler uses (``GitHub.repository_markers``), never a
request per task.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from ..decide import Plan
from ..github import GitHub
from ..queue import RepoState, blocked_by, pack_plan, place
from ..queue_report import queue_line, queued_comment
from ..rebyte import RebyteClient
from ..report import ThreadMarker
from ..session import EXIT_OK, Session
from .drain import Snapshot, drain, expire, listing_since

# -- a run ---------------------------------------------------------------------------


def gate(session: Session, rebyte: RebyteClient, plan: Plan) -> int | None:
    """Before a new task starts (never a follow-up): with limits on, start the queued requests made
    before this one that fit, then let this one start (None) or hold it in the queue (an exit code)."""
    limits, github = session.limits, session.github
    if not limits.active or github is None:
        return None
    trigger = session.trigger
    assert trigger is not None
    mine = session.answer.comment_id
    snapshot = Snapshot.read(github, listing_since(session))
    expire(session, github, snapshot, limits)
    own = frozenset({mine}) if mine is not None else frozenset()
    drain(session, github, rebyte, snapshot, limits, before=mine, own=own)
    state = snapshot.state(limits)
    why = blocked_by(state, limits, trigger.actor.login, ticket=mine)
    if why is None and mine is not None:
        # A queued request made earlier that could start but did not (another run is starting it,
        # or Rebyte refused it) keeps its place ahead of this one.
        ahead = [
            w
            for w in state.queue
            if w.comment_id < mine and not blocked_by(state, limits, w.requester, ticket=mine)
        ]
        if ahead:
            why = "earlier requests are waiting in the queue"
    show_queue(session, state)
    if why is None:
        return None
    return hold(session, plan, why, state=state)


def hold(session: Session, plan: Plan, why: str, *, state: RepoState | None = None) -> int:
    """Put this run's request in the queue: its answer says ⏸ queued, why, its place, how to drop it."""
    settings, limits, github, trigger = session.settings, session.limits, session.github, session.trigger
    assert trigger is not None
    mine = session.answer.comment_id
    if not limits.queue or github is None or mine is None or session.issue is None:
        where = "" if limits.queue else " (queue: false)"
        return session.fail("Not started: over a limit", f"{why[:1].upper()}{why[1:]}{where}.")
    if state is None:
        state = Snapshot.read(github, listing_since(session)).state(limits)
    facts = {
        **pack_plan(plan),
        "by": trigger.actor.login or None,
        "req": trigger.comment.url if trigger.comment else (trigger.subject.url if trigger.subject else None),
    }
    spot = place(state, mine)
    state.queue = [w for w in state.queue if w.comment_id != mine]
    show_queue(session, state, joined=str(facts.get("req") or ""))
    session.answer.write(
        queued_comment(
            request_key=trigger.request_key,
            facts={k: v for k, v in facts.items() if v is not None},
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
) -> str:
    """After the reconciler closed what ended: expire, then start as many queued requests as fit.

    ``markers`` is the reconciler's listing; ``ended`` the tasks it just saw end. Returns the
    summary's lines about the queue.
    """
    limits = session.limits
    snapshot = Snapshot(github, listing_since(session), datetime.now(UTC), ended=frozenset(ended))
    snapshot._merge(markers)
    expired = expire(session, github, snapshot, limits)
    started: list[str] = []
    if snapshot.state(limits).queue:
        with session.rebyte(transport=transport) as rebyte:
            started = drain(session, github, rebyte, snapshot, limits)
    state = snapshot.state(limits)
    show_queue(session, state)
    lines = []
    if started:
        lines.append(f"Started {len(started)} queued request(s): {', '.join(f'`{t[:8]}`' for t in started)}.")
    if expired:
        lines.append(f"{expired} queued request(s) expired (older than {limits.queue_hours:g} hours).")
    return "\n".join(lines)


__all__ = ["gate", "hold", "reconcile_queue", "show_queue"]
