"""A re-run of a request that was already answered: report (and follow) its task, start nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ..decide import Plan, Target, latest
from ..rebyte import RebyteError
from ..replies import reply_comment
from ..report import STARTING, TaskFacts, ThreadMarker
from ..session import EXIT_OK, Session
from ..track import follow, open_check_run


def already_started(session: Session, found: ThreadMarker, plan: Plan, target: Target) -> int:
    """The request has its task: report it as its answer last showed it, and follow it
    (GET /v1/tasks/{id}) when the step waits."""
    marker = found.marker
    assert marker.task_id is not None
    session.workflow.log(f"This request already started task {marker.task_id} (comment {found.comment_id})")
    session.answer.adopt(found.comment_id)
    session.outcome.headline = "already started by an earlier attempt of this run; nothing new started"
    settings = session.settings
    if not settings.following:  # nothing to learn that is worth a request: say what was last seen
        status = marker.status or "running"
        facts = _facts(
            session, plan, marker.task_id, marker.url or "", marker.workspace_id or "", continued=False
        )
        session.outcome.facts = facts
        session.outcome.status = status
        session.outcome.detail = f"Status {status}, as last reported in the answer; not read again."
        session.workflow.log(f"Task {marker.task_id}: {status}, as last reported")
        return EXIT_OK
    with session.rebyte() as rebyte:
        try:
            task = rebyte.get_task(marker.task_id)
        except RebyteError as error:
            session.workflow.warning(f"Could not read task {marker.task_id}: {error}")
            task = None
        facts = _facts(
            session,
            plan,
            marker.task_id,
            task.url if task else marker.url or "",
            marker.workspace_id or "",
            continued=False,
        )
        session.outcome.facts = facts
        session.outcome.status = task.status.value if task else ""
        if task is None:
            return EXIT_OK
        check_run = marker.check_run
        if check_run is None and settings.check_run:
            head_sha = target.head_sha or settings.sha or None
            check_run = open_check_run(session.github, session.workflow, facts, head_sha, handed_over=False)
        return follow(session, rebyte, facts, target, check_run)


def outcome_unknown(session: Session, found: ThreadMarker) -> int:
    """An earlier attempt may have started a task without knowing it: start none, and say why.

    ``found``'s marker is "pending" (that attempt stopped while starting the task) or
    "unknown" (Rebyte's answer to it was lost or broken); the reply keeps that kind.
    """
    session.answer.adopt(found.comment_id)
    kind = found.marker.kind
    why = "got no clear answer from Rebyte" if kind == "unknown" else "stopped while it was starting the task"
    return session.fail(
        "Not started again",
        f"An earlier attempt of this request {why}, so a task may have started. No second one is "
        "started, so that nothing is paid for twice: look for it at https://app.rebyte.ai, and ask "
        "again in a new comment if there is none.",
        kind=kind,  # later attempts must not start one either
    )


DELIVERED_TWICE = "this request is answered by another run: GitHub delivered it twice"


def await_other_run(session: Session, found: ThreadMarker, stale_after: timedelta) -> ThreadMarker:
    """The request's answer is pending with a run at work on it (status "starting"; a failure
    keeps the pending kind without it), and this is no re-run: another run of the same delivery
    is starting its task. Re-read the thread (GET its comments) until that answer is no longer
    starting, is older than ``stale_after`` (abandoned) or ``race_seconds`` pass: its newest form."""
    settings, trigger, github = session.settings, session.trigger, session.github
    assert trigger is not None and github is not None and session.issue is not None
    deadline = time.monotonic() + settings.race_seconds
    pause = settings.poll_seconds
    while found.marker.kind == "pending" and found.marker.status == STARTING and time.monotonic() < deadline:
        if found.created_at is not None and datetime.now(UTC) - found.created_at >= stale_after:
            break
        session.workflow.log(f"Comment {found.comment_id} is answering this same request: waiting for it")
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(5.0, pause * 1.5)
        markers = github.thread_markers(session.issue)
        found = latest(m for m in markers if m.marker.request == trigger.request_key) or found
    return found


def delivered_twice(session: Session) -> int:
    """Both runs of one delivery posted an answer; the earlier one starts the task. This run's own
    answer becomes a note (without the request's key, so no later run takes it for the answer)."""
    session.answer.write(reply_comment("↩️ GitHub delivered this request twice: it is answered above."))
    return session.skip(DELIVERED_TWICE)


def _facts(
    session: Session, plan: Plan, task_id: str, url: str, workspace_id: str, *, continued: bool
) -> TaskFacts:
    from .start import task_facts  # start calls this module: import at use, not at load

    return task_facts(session, plan, task_id, url, workspace_id, continued=continued)
