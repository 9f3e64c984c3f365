"""A re-run of a request that was already answered: report (and follow) its task, start nothing."""

from __future__ import annotations

from ..decide import Plan, Target
from ..rebyte import RebyteError
from ..report import ThreadMarker
from ..session import EXIT_OK, Session
from ..track import follow, open_check_run
from .start import task_facts


def already_started(session: Session, found: ThreadMarker, plan: Plan, target: Target) -> int:
    """The request has its task: read its status (GET /v1/tasks/{id}) and follow it when the step waits."""
    marker = found.marker
    assert marker.task_id is not None
    session.workflow.log(f"This request already started task {marker.task_id} (comment {found.comment_id})")
    session.answer.adopt(found.comment_id)
    session.outcome.headline = "already started by an earlier attempt of this run; nothing new started"
    with session.rebyte() as rebyte:
        try:
            task = rebyte.get_task(marker.task_id)
        except RebyteError as error:
            session.workflow.warning(f"Could not read task {marker.task_id}: {error}")
            task = None
        facts = task_facts(
            session,
            plan,
            marker.task_id,
            task.url if task else marker.url or "",
            marker.workspace_id or "",
            continued=False,
        )
        session.outcome.facts = facts
        session.outcome.status = task.status.value if task else ""
        settings = session.settings
        if task is None or not settings.following:
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
