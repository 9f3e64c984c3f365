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

from ..decide import describe_rebyte_error, may_have_taken_effect, reaction_target
from ..github import GitHub, GitHubError
from ..queue import Limits, RepoState, Waiting, blocked_by, read_state, unpack_plan, won_claim
from ..queue_report import claim_comment, dropped_comment, dropped_reply, expired_comment
from ..rebyte import LimitExceededError, RebyteClient, RebyteError
from ..report import ThreadMarker, failure_comment, find_markers, started_comment
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


# -- cancel ------------------------------------------------------------------------


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


__all__ = ["Snapshot", "drain", "drop", "expire", "listing_since"]
