"""``/rebyte status``: the thread's task, its prompts with their times, the live URL. Only GETs to Rebyte."""

from __future__ import annotations

from datetime import UTC, datetime

from ..decide import describe_rebyte_error
from ..queue import read_state
from ..queue_report import queued_status_comment
from ..rebyte import NotFoundError, RebyteError
from ..replies import no_task_comment, status_comment
from ..report import TaskFacts, ThreadMarker
from ..session import EXIT_OK, Session


def run(session: Session, found: ThreadMarker | None, markers: list[ThreadMarker] | None = None) -> int:
    """GET /v1/tasks/{id} for the thread's task and reply with what it says; in a thread whose
    request still waits in the queue (``markers``: the thread's), say so instead (no request)."""
    trigger = session.trigger
    assert trigger is not None
    asker, request_url = trigger.actor.login, trigger.comment.url if trigger.comment else None
    task_id = found.marker.task_id if found else None
    waiting = read_state(markers or [], now=datetime.now(UTC), queue_hours=1e9).queue
    if waiting and (found is None or waiting[-1].comment_id > found.comment_id):
        phrase = session.settings.trigger_phrase
        session.reply(queued_status_comment(len(waiting), phrase, asker, request_url, trigger.request_key))
        session.outcome.status = "queued"
        return session.skip("status was asked for, and this thread's request waits in the queue")
    if found is None or task_id is None:
        session.reply(
            no_task_comment(
                "status", session.settings.trigger_phrase, asker, request_url, trigger.request_key
            )
        )
        return session.skip("status was asked for, and this thread has no task")
    session.outcome.facts = TaskFacts.from_marker(found.marker)
    with session.rebyte() as rebyte:
        try:
            task = rebyte.get_task(task_id)
        except NotFoundError:
            session.outcome.status = "canceled"
            session.reply(
                no_task_comment(
                    "status", session.settings.trigger_phrase, asker, request_url, trigger.request_key
                ).replace("has none yet", "had one, but it was deleted on Rebyte")
            )
            return session.skip(f"status was asked for, and task {task_id} was deleted on Rebyte")
        except RebyteError as error:
            return session.fail("Could not read the thread's Rebyte task", describe_rebyte_error(error))
    session.outcome.status = task.status.value
    session.outcome.headline = f"status: task {task.status.value}"
    session.reply(status_comment(task, asker, request_url, trigger.request_key))
    return EXIT_OK
