"""``/rebyte cancel``: stop the thread's task; its comments and check runs end canceled."""

from __future__ import annotations

from datetime import UTC, datetime

from ..answer import show_state
from ..decide import describe_rebyte_error
from ..rebyte import NotFoundError, RebyteError
from ..replies import cancel_comment, no_task_comment
from ..report import TaskFacts, TaskState, ThreadMarker
from ..session import EXIT_OK, Session
from . import drain


def run(session: Session, found: ThreadMarker | None, markers: list[ThreadMarker]) -> int:
    """DELETE /v1/tasks/{id}; every open status comment of the task (and its check run) ends canceled,
    with 😕 on the request that started it. A later request in the thread starts a new task."""
    trigger, github = session.trigger, session.github
    assert trigger is not None and github is not None
    asker, request_url = trigger.actor.login, trigger.comment.url if trigger.comment else None
    dropped = drain.drop(session, markers)  # queued requests go first; a running task stays
    if dropped is not None:
        return dropped
    task_id = found.marker.task_id if found else None
    if found is None or task_id is None:
        phrase = session.settings.trigger_phrase
        session.reply(no_task_comment("cancel", phrase, asker, request_url, trigger.request_key))
        return session.skip("cancel was asked for, and this thread has no task")
    session.outcome.facts = TaskFacts.from_marker(found.marker)
    gone = False
    with session.rebyte() as rebyte:
        try:
            rebyte.delete_task(task_id)
        except NotFoundError:
            gone = True
        except RebyteError as error:
            return session.fail("Could not cancel the thread's Rebyte task", describe_rebyte_error(error))
    detail = "canceled: the task was deleted on Rebyte" if gone else f"canceled by @{asker}"
    state = TaskState("canceled", detail=detail, ended_at=datetime.now(UTC))
    for open_one in markers:
        marker = open_one.marker
        if marker.kind != "task" or marker.task_id != task_id or marker.is_final or marker.facts is None:
            continue
        facts = TaskFacts.from_marker(marker)
        started = marker.state.started_at if marker.state else None
        show_state(
            github,
            session.workflow,
            issue=session.issue,
            comment_id=open_one.comment_id,
            facts=facts,
            request_key=marker.request,
            state=TaskState(state.status, state.detail, started, state.ended_at),
            check_run=marker.check_run,
        )
    session.outcome.status = "canceled"
    session.outcome.headline = "task canceled"
    session.reply(cancel_comment(found.marker.url or "", asker, request_url, trigger.request_key, gone=gone))
    return EXIT_OK
