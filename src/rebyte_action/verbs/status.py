"""``/rebyte status``: the thread's task, its prompts with their times, the live URL. Only GETs to Rebyte."""

from __future__ import annotations

from ..decide import describe_rebyte_error
from ..rebyte import NotFoundError, RebyteError
from ..replies import no_task_comment, status_comment
from ..report import TaskFacts, ThreadMarker
from ..session import EXIT_OK, Session


def run(session: Session, found: ThreadMarker | None) -> int:
    """GET /v1/tasks/{id} for the thread's task and reply with what it says."""
    trigger = session.trigger
    assert trigger is not None
    asker, request_url = trigger.actor.login, trigger.comment.url if trigger.comment else None
    task_id = found.marker.task_id if found else None
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
