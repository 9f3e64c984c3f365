"""Continue the thread's task: a later request in a thread goes to the task the thread started."""

from __future__ import annotations

from dataclasses import replace

from .. import attachments
from ..decide import Plan
from ..rebyte import NotFoundError, RebyteClient
from ..report import TaskFacts, ThreadMarker
from ..session import Session


def send(
    session: Session,
    rebyte: RebyteClient,
    plan: Plan,
    found: ThreadMarker,
    asker: tuple[str, str | None] | None = None,
) -> TaskFacts | None:
    """POST the prompt to the thread's task; None when the task is gone (404: start a new one).

    The marker holds the task's id and URL, so the task is not read first (a marker from
    before it kept the URL is the exception). ``asker`` is (login, request URL) when the request
    is not this run's trigger (a queued one). Raises
    :class:`~rebyte_action.rebyte.RebyteError` when Rebyte fails otherwise.
    """
    from .start import task_facts  # start calls this module: import at use, not at load

    task_id = found.marker.task_id
    assert task_id is not None
    try:
        url = found.marker.url or rebyte.get_task(task_id).url
        rebyte.follow_up(task_id, plan.prompt, skills=list(plan.skills))
    except NotFoundError:  # nothing was sent: a 404 answers before the prompt is taken
        session.workflow.log(f"The thread's task {task_id} is gone; starting a new one")
        return None
    workspace = found.marker.workspace_id or ""
    facts = task_facts(session, plan, task_id, url, workspace, continued=True, asker=asker)
    # The task keeps the agent, model, repository and branch it was started with, whatever this
    # request's plan says: the answer shows those from the thread's marker, with no request to
    # Rebyte. A marker from before markers kept facts has none: then agent and model are unknown.
    earlier = TaskFacts.from_marker(found.marker) if found.marker.facts else None
    return replace(
        facts,
        executor=earlier.executor if earlier else None,
        model=earlier.model if earlier else None,
        repository=earlier.repository if earlier else facts.repository,
        branch=earlier.branch if earlier else facts.branch,
        # Rebyte takes files only when a task starts: name the request's attachments, unfetched.
        not_attached=tuple(item.line() for item in attachments.left_out(session)) if asker is None else (),
    )
