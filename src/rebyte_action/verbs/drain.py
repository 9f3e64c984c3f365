"""Starting queued requests (a *drain*), answering those that never will, and dropping them on ``cancel``.

The decisions are ``queue.py``'s; this module makes the requests. The queue is read with the
repository listing the reconciler uses (``GitHub.repository_markers``), never a request per task.

A drain, by a run or the reconciler: claim (POST a claim comment) → re-read the listing → only the
lowest live claim on a request that still waits, within the limits counted with the tickets posted
before it, goes on → POST /v1/tasks → the queued answer becomes the started answer (PATCH) → the
claim is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..decide import describe_rebyte_error, latest_task, may_have_taken_effect, reaction_target
from ..github import GitHub, GitHubError
from ..queue import (
    Limits,
    RepoState,
    Waiting,
    blocked_by,
    read_state,
    unpack_executors,
    unpack_plan,
    won_claim,
)
from ..queue_report import claim_comment, dropped_comment, dropped_reply, expired_comment
from ..rebyte import LimitExceededError, RebyteClient, RebyteError
from ..report import ThreadMarker, failure_comment, find_markers
from ..session import EXIT_OK, Session

RELIST_SLACK = timedelta(minutes=1)  # a re-read lists what changed since the first listing, and a little more


@dataclass
class Snapshot:
    """The repository's markers as last read (comment id -> its markers), and when they were first read."""

    github: GitHub
    since: datetime
    first_read: datetime
    by_comment: dict[int, list[ThreadMarker]] = field(default_factory=dict)
    ended: frozenset[str] = frozenset()  # tasks seen ending since the markers were read
    key: str = field(default="", repr=False)  # the step's Rebyte key: queued markers' seals (queue.seal)

    @classmethod
    def read(cls, github: GitHub, since: datetime, key: str) -> Snapshot:
        snapshot = cls(github, since, datetime.now(UTC), key=key)
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
            self.markers(),
            now=datetime.now(UTC),
            queue_hours=limits.queue_hours,
            ended=self.ended,
            key=self.key,
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

    A queued fan-out needs a place per executor, and keeps its turn until it has them (later
    requests wait behind it) unless it can never fit this repository's limits. ``own`` are tickets
    of this run's own request, which yields to the queue. Stops at Rebyte's 429.
    """
    started: list[str] = []
    first = snapshot.state(limits)
    for comment_id in first.unsealed:
        session.workflow.warning(
            f"Ignored a queued request's marker in comment {comment_id}: this action did not seal it "
            "with the step's Rebyte key for that comment (written or copied by someone else, or the "
            "key changed), so it is not trusted to start a task"
        )
    for waiting in list(first.queue):
        if before is not None and waiting.comment_id > before:
            break
        state = snapshot.state(limits)
        places = 0 if joins(snapshot, waiting) else _places(waiting)  # a follow-up takes no place
        if places and blocked_by(state, limits, "", ticket=None, ignore=own, places=places):
            if places <= limits.max_running or not limits.max_running:
                break  # not enough places: it keeps its turn
            continue  # more places than the limit allows: never here, later ones go on
        if places and blocked_by(state, limits, waiting.requester, ticket=None, ignore=own, places=places):
            continue  # its requester has too many running; later ones may still fit
        try:
            outcome = _start_one(session, github, rebyte, snapshot, limits, waiting, own)
        except GitHubError as error:  # left queued (or claimed) for the next run to see
            session.workflow.warning(f"Could not start queued request {waiting.request}: {error}")
            break
        if outcome == "refused":
            break
        if isinstance(outcome, list):
            started += outcome
    return started


def joins(snapshot: Snapshot, waiting: Waiting) -> ThreadMarker | None:
    """The live task of a queued request's thread, when it should be sent there rather than start
    one: a single request that did not ask for a task of its own (``new`` in its facts), in a
    thread whose earlier queued request (or any request) has started a task since."""
    facts = waiting.found.marker.facts or {}
    if facts.get("new") or unpack_executors(facts):
        return None
    live = [
        m
        for m in snapshot.markers()
        if m.issue == waiting.issue and m.marker.kind == "task" and m.marker.task_id and not m.marker.is_final
    ]
    return max(live, key=lambda m: m.comment_id, default=None)


def _places(waiting: Waiting) -> int:
    """How many places a queued request takes: a task per executor of a fan-out, else one."""
    return max(1, len(unpack_executors(waiting.found.marker.facts or {})))


def _start_one(
    session: Session,
    github: GitHub,
    rebyte: RebyteClient,
    snapshot: Snapshot,
    limits: Limits,
    waiting: Waiting,
    own: frozenset[int],
) -> list[str] | str:
    """Claim, re-read, start: the task ids, or "lost" (not ours to start), "refused" (429), "failed"."""
    from .drain_create import create_queued  # it imports fan_out, which imports this module's users

    joined = joins(snapshot, waiting)
    places = 0 if joined else _places(waiting)  # a follow-up starts no VM
    claim = github.comment(
        waiting.issue, claim_comment(waiting.comment_id, waiting.requester, max(1, places))
    ).id
    keep_claim = False
    try:
        snapshot.reread()
        state = snapshot.state(limits)
        if not won_claim(state, waiting.comment_id, claim) or blocked_by(
            state, limits, waiting.requester, ticket=claim, ignore=own, places=places
        ):
            session.workflow.log(f"Queued request {waiting.request}: not this run's to start")
            return "lost"
        plan = unpack_plan(waiting.found.marker.facts or {})
        if plan is None:
            _end(session, github, waiting, "Not started: the queued request could not be read back", "")
            return "failed"
        try:
            started = create_queued(session, github, rebyte, waiting, plan, joined)
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
        body = started.body
        try:
            github.edit_comment(waiting.issue, waiting.comment_id, body)
        except GitHubError as error:  # the claim keeps the task, so nobody starts it again
            keep_claim = True
            for task_id, url in started.tasks:
                session.workflow.warning(
                    f"Could not update the queued answer ({error}); task {task_id} is at {url}"
                )
            try:
                github.edit_comment(waiting.issue, claim, body)
            except GitHubError as again:  # the log is then all that says where the task is
                session.workflow.warning(
                    f"Could not record the task in the claim comment either ({again}); the queued "
                    "request will be answered as of unknown outcome, and its task is named above"
                )
        # The started answer now counts as running, without reading it back.
        snapshot.by_comment[waiting.comment_id] = [
            ThreadMarker(waiting.comment_id, marker, waiting.issue, created_at=waiting.since)
            for marker in find_markers(body)
        ]
        return [task_id for task_id, _ in started.tasks]
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
    """Answer every queued request older than ``queue-hours`` as expired, every one whose claimant
    stopped without reporting as unknown (a task may exist: it is not started again), and every one
    a ``cancel`` dropped without showing it yet as dropped: how many expired."""
    state = snapshot.state(limits)
    for waiting in state.abandoned:
        detail = (
            "A run took this request from the queue but stopped before saying whether its task "
            "started. It was not started again, so that nothing is paid for twice: look for the task "
            "at https://app.rebyte.ai before asking again."
        )
        _end(session, github, waiting, "Not started from the queue: outcome unknown", detail, "unknown")
        snapshot.forget(waiting.comment_id)
    for waiting in state.dropped:  # a cancel recorded the drop but stopped before showing it
        _write_end(
            session, github, waiting, dropped_comment(waiting.request, state.dropped_by[waiting.comment_id])
        )
        snapshot.forget(waiting.comment_id)
    expired = state.expired
    for waiting in expired:
        body = expired_comment(
            waiting.request, waiting.since, limits.queue_hours, session.settings.trigger_phrase
        )
        _write_end(session, github, waiting, body)
        snapshot.forget(waiting.comment_id)
    return len(expired)


# -- cancel ------------------------------------------------------------------------


def drop(session: Session, markers: list[ThreadMarker]) -> int | None:
    """``cancel`` in a thread with queued requests drops them (the task, if any, goes on): an exit
    code, or None when nothing in the thread waits.

    A drain may be starting one of them at this moment, so the order of comments decides, as
    between two claims: the reply goes up first (POST) with a ``drop`` marker naming the queued
    answers, the thread is read again (GET), and only those with no live claim before the reply
    are dropped (PATCH each, 😕 on its request); one a run claimed first is left to start, and the
    reply is edited to say so. A drain that claims after the reply backs off (``queue.won_claim``).
    """
    github, trigger = session.github, session.trigger
    assert github is not None and trigger is not None and session.issue is not None
    state = read_state(markers, now=datetime.now(UTC), queue_hours=1e9)
    waiting_here = state.queue + state.dropped  # dropped: an earlier cancel's drop, not yet shown
    if not waiting_here:
        return None
    asker = trigger.actor.login
    dropping = sorted(w.comment_id for w in waiting_here)
    request_url = trigger.comment.url if trigger.comment else None
    phrase = session.settings.trigger_phrase

    task = latest_task(markers)
    running = task is not None and not task.marker.is_final  # as last recorded in its answer

    def reply(starting: int = 0) -> str:
        return dropped_reply(
            dropping, asker, request_url, trigger.request_key, phrase, starting=starting, running=running
        )

    try:
        posted = github.comment(session.issue, reply())
    except GitHubError as error:  # without the drop on record, a drain could start what it drops
        return session.fail(
            "Nothing dropped from the queue: the reply could not be posted",
            f"{error}. The queued requests still wait; comment `{phrase} cancel` again.",
        )
    session.outcome.comment_id = str(posted.id)
    thread = github.thread_markers(session.issue)
    again = read_state(thread, now=datetime.now(UTC), queue_hours=1e9)
    dropped = [w for w in again.dropped if w.comment_id in dropping]
    for waiting in dropped:
        _write_end(session, github, waiting, dropped_comment(waiting.request, asker))
    by_others = {m.comment_id for m in thread if m.marker.kind == "dropped" and m.comment_id in dropping}
    starting = len(dropping) - len(dropped) - len(by_others)  # a cancel at the same time dropped those
    if starting:
        session.workflow.log(f"{starting} queued request(s) were being started by another run: left to start")
        try:
            github.edit_comment(session.issue, posted.id, reply(starting))
        except GitHubError as error:
            session.workflow.warning(f"Could not update the reply: {error}")
    session.outcome.headline = f"dropped {len(dropped)} queued request(s)"
    return EXIT_OK


__all__ = ["Snapshot", "drain", "drop", "expire", "listing_since"]
