"""Limits and the queue at work: hold a request over a limit, start queued ones when places free, drop them.

The decisions are ``queue.py``'s; this module makes the requests. One run reads the queue with
the repository listing the reconciler uses (``GitHub.repository_markers``), never a request per task.

Starting a queued request (a *drain*), by a run or the reconciler:
claim (POST a claim comment) → re-read the listing → only the lowest live claim on a request that
still waits, within the limits counted with the tickets posted before it, goes on → POST /v1/tasks
→ the queued answer becomes the started answer (PATCH) → the claim is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from ..decide import Plan, describe_rebyte_error, may_have_taken_effect, reaction_target
from ..github import GitHub, GitHubError
from ..queue import (
    Limits,
    RepoState,
    Waiting,
    blocked_by,
    pack_plan,
    place,
    read_state,
    unpack_plan,
    won_claim,
)
from ..queue_report import (
    claim_comment,
    dropped_comment,
    dropped_reply,
    expired_comment,
    queue_line,
    queued_comment,
)
from ..rebyte import LimitExceededError, RebyteClient, RebyteError
from ..report import ThreadMarker, failure_comment, find_markers, started_comment
from ..session import EXIT_FAILED, EXIT_OK, Session

RELIST_SLACK = timedelta(minutes=1)  # a re-read lists what changed since the first listing, and a little more


@dataclass
class Snapshot:
    """The repository's markers as last read (comment id -> its markers), and when they were first read."""

    github: GitHub
    since: datetime
    first_read: datetime
    by_comment: dict[int, list[ThreadMarker]] = field(default_factory=dict)
    ended: frozenset[str] = frozenset()  # tasks seen ending since the markers were read

    @classmethod
    def read(cls, github: GitHub, since: datetime) -> Snapshot:
        snapshot = cls(github, since, datetime.now(UTC))
        snapshot._merge(github.repository_markers(since))
        return snapshot

    def reread(self) -> None:
        """Only what changed since the first listing (usually one page): pending answers, claims, ends."""
        self._merge(self.github.repository_markers(self.first_read - RELIST_SLACK))

    def forget(self, comment_id: int) -> None:
        self.by_comment.pop(comment_id, None)

    def markers(self) -> list[ThreadMarker]:
        return [m for found in self.by_comment.values() for m in found]

    def state(self, limits: Limits) -> RepoState:
        return read_state(
            self.markers(), now=datetime.now(UTC), queue_hours=limits.queue_hours, ended=self.ended
        )

    def _merge(self, markers: list[ThreadMarker]) -> None:
        fresh: dict[int, list[ThreadMarker]] = {}
        for found in markers:
            fresh.setdefault(found.comment_id, []).append(found)
        self.by_comment.update(fresh)


def listing_since(session: Session) -> datetime:
    """How far back the queue's listing looks: the reconciler's window, or the queue's if longer."""
    settings, limits = session.settings, session.limits
    return datetime.now(UTC) - max(
        timedelta(days=settings.reconcile_days), timedelta(hours=limits.queue_hours)
    )


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


# -- starting queued requests --------------------------------------------------------


def drain(
    session: Session,
    github: GitHub,
    rebyte: RebyteClient,
    snapshot: Snapshot,
    limits: Limits,
    *,
    before: int | None = None,
    own: frozenset[int] = frozenset(),
) -> list[str]:
    """Start queued requests in order (those made before ``before``) while they fit: the task ids started.

    ``own`` are tickets of this run's own request, which yields to the queue. Stops at Rebyte's 429.
    """
    started: list[str] = []
    for waiting in list(snapshot.state(limits).queue):
        if before is not None and waiting.comment_id > before:
            break
        state = snapshot.state(limits)
        if blocked_by(state, limits, "", ticket=None, ignore=own):
            break  # no place at all
        if blocked_by(state, limits, waiting.requester, ticket=None, ignore=own):
            continue  # its requester has too many running; later ones may still fit
        try:
            outcome = _start_one(session, github, rebyte, snapshot, limits, waiting, own)
        except GitHubError as error:  # left queued (or claimed) for the next run to see
            session.workflow.warning(f"Could not start queued request {waiting.request}: {error}")
            break
        if outcome == "refused":
            break
        if outcome not in ("lost", "failed"):
            started.append(outcome)
    return started


def _start_one(
    session: Session,
    github: GitHub,
    rebyte: RebyteClient,
    snapshot: Snapshot,
    limits: Limits,
    waiting: Waiting,
    own: frozenset[int],
) -> str:
    """Claim, re-read, start: the task id, or "lost" (not ours to start), "refused" (429), "failed"."""
    claim = github.comment(waiting.issue, claim_comment(waiting.comment_id, waiting.requester)).id
    keep_claim = False
    try:
        snapshot.reread()
        state = snapshot.state(limits)
        if not won_claim(state, waiting.comment_id, claim) or blocked_by(
            state, limits, waiting.requester, ticket=claim, ignore=own
        ):
            session.workflow.log(f"Queued request {waiting.request}: not this run's to start")
            return "lost"
        facts = waiting.found.marker.facts or {}
        plan = unpack_plan(facts)
        if plan is None:
            _end(session, github, waiting, "Not started: the queued request could not be read back", "")
            return "failed"
        try:
            created = rebyte.create_task(
                plan.prompt,
                executor=plan.executor,
                model=plan.model,
                skills=list(plan.skills),
                github_url=plan.github_url,
                branch_name=plan.branch,
            )
        except LimitExceededError as error:
            session.workflow.log(f"Rebyte refused to start queued request {waiting.request}: {error}")
            return "refused"
        except RebyteError as error:
            what = (
                "Rebyte did not answer clearly"
                if may_have_taken_effect(error)
                else "Rebyte could not start it"
            )
            kind = "unknown" if may_have_taken_effect(error) else "failed"
            _end(
                session,
                github,
                waiting,
                f"Not started from the queue: {what}",
                describe_rebyte_error(error),
                kind,
            )
            return "failed"
        from .start import task_facts  # start imports this module

        request_url = facts.get("req")
        asker = (str(facts.get("by") or ""), request_url if isinstance(request_url, str) else None)
        task = task_facts(
            session, plan, created.id, created.url, created.workspace_id, continued=False, asker=asker
        )
        session.workflow.log(
            f"Rebyte task {task.task_id} started for queued request {waiting.request}: {task.url}"
        )
        body = started_comment(task, waiting.request, state=None)
        try:
            github.edit_comment(waiting.issue, waiting.comment_id, body)
        except GitHubError as error:  # the claim keeps the task, so nobody starts it again
            keep_claim = True
            session.workflow.warning(
                f"Could not update the queued answer ({error}); task {task.task_id} is at {task.url}"
            )
            github.edit_comment(waiting.issue, claim, body)
        # The started answer now counts as running, without reading it back.
        snapshot.by_comment[waiting.comment_id] = [
            ThreadMarker(waiting.comment_id, marker, waiting.issue, created_at=waiting.since)
            for marker in find_markers(body)
        ]
        return task.task_id
    finally:
        if not keep_claim:
            _delete(session, github, claim)
            snapshot.forget(claim)


def _delete(session: Session, github: GitHub, comment_id: int) -> None:
    try:
        github.delete_comment(comment_id)
    except GitHubError as error:
        session.workflow.warning(f"Could not delete the claim comment {comment_id}: {error}")


def _end(
    session: Session, github: GitHub, waiting: Waiting, what: str, detail: str, kind: str = "failed"
) -> None:
    """A queued request that will not start: its answer says why, with 😕 on the request."""
    body = failure_comment(
        what, detail or "Ask again.", session.settings.run_url, None, waiting.request, kind=kind
    )
    _write_end(session, github, waiting, body)


def _write_end(session: Session, github: GitHub, waiting: Waiting, body: str) -> None:
    try:
        github.edit_comment(waiting.issue, waiting.comment_id, body)
        on_issue, on_comment, review = reaction_target(waiting.request, waiting.issue)
        github.react("confused", issue=on_issue, comment_id=on_comment, review=review)
    except GitHubError as error:
        session.workflow.warning(f"Could not update the queued answer {waiting.comment_id}: {error}")


def expire(session: Session, github: GitHub, snapshot: Snapshot, limits: Limits) -> int:
    """Answer every queued request older than ``queue-hours`` as expired, and every one whose claimant
    stopped without reporting as unknown (a task may exist: it is not started again): how many expired."""
    state = snapshot.state(limits)
    for waiting in state.abandoned:
        detail = (
            "A run took this request from the queue but stopped before saying whether its task "
            "started. It was not started again, so that nothing is paid for twice: look for the task "
            "at https://app.rebyte.ai before asking again."
        )
        _end(session, github, waiting, "Not started from the queue: outcome unknown", detail, "unknown")
        snapshot.forget(waiting.comment_id)
    expired = state.expired
    for waiting in expired:
        body = expired_comment(
            waiting.request, waiting.since, limits.queue_hours, session.settings.trigger_phrase
        )
        _write_end(session, github, waiting, body)
        snapshot.forget(waiting.comment_id)
    return len(expired)


# -- the reconciler and cancel -----------------------------------------------------------


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


def drop(session: Session, markers: list[ThreadMarker]) -> int | None:
    """``cancel`` in a thread with queued requests drops them (the task, if any, goes on): an exit
    code, or None when nothing in the thread waits."""
    github, trigger = session.github, session.trigger
    assert github is not None and trigger is not None
    state = read_state(markers, now=datetime.now(UTC), queue_hours=1e9)
    if not state.queue:
        return None
    asker = trigger.actor.login
    for waiting in state.queue:
        _write_end(session, github, waiting, dropped_comment(waiting.request, asker))
    count = len(state.queue)
    session.outcome.headline = f"dropped {count} queued request(s)"
    request_url = trigger.comment.url if trigger.comment else None
    phrase = session.settings.trigger_phrase
    session.reply(dropped_reply(count, asker, request_url, trigger.request_key, phrase))
    return EXIT_OK


__all__ = ["EXIT_FAILED", "drain", "drop", "gate", "hold", "reconcile_queue"]
