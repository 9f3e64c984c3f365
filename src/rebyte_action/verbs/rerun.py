"""A re-run of a request that was already answered: report (and follow) its task, start nothing."""

from __future__ import annotations

from dataclasses import replace

from ..decide import Plan, Target
from ..rebyte import RebyteError
from ..report import TaskFacts, ThreadMarker
from ..session import EXIT_OK, Session
from ..track import follow, open_check_run
from .start import task_facts


def already_started(session: Session, found: ThreadMarker, plan: Plan, target: Target) -> int:
    """The request has its task: report it as its answer last showed it, and follow it
    (GET /v1/tasks/{id}) when the step waits."""
    marker = found.marker
    assert marker.task_id is not None
    session.workflow.log(f"This request already started task {marker.task_id} (comment {found.comment_id})")
    session.answer.adopt(found.comment_id)
    session.outcome.headline = "already started by an earlier attempt of this run; nothing new started"
    settings = session.settings
    earlier = TaskFacts.from_marker(marker)  # what only the first attempt knew: its attachments
    if not settings.following:  # nothing to learn that is worth a request: say what was last seen
        status = marker.status or "running"
        facts = task_facts(
            session, plan, marker.task_id, marker.url or "", marker.workspace_id or "", continued=False
        )
        session.outcome.facts = facts = replace(facts, files=earlier.files, not_attached=earlier.not_attached)
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
        facts = task_facts(
            session,
            plan,
            marker.task_id,
            task.url if task else marker.url or "",
            marker.workspace_id or "",
            continued=False,
        )
        session.outcome.facts = facts = replace(facts, files=earlier.files, not_attached=earlier.not_attached)
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
