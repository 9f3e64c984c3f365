"""Continue the thread's task: a later request in a thread goes to the task the thread started."""

from __future__ import annotations

from dataclasses import replace

from ..decide import Plan
from ..rebyte import NotFoundError, RebyteClient
from ..report import TaskFacts, ThreadMarker
from ..session import Session


def send(session: Session, rebyte: RebyteClient, plan: Plan, found: ThreadMarker) -> TaskFacts | None:
    """GET the thread's task, then POST the prompt to it; None when the task is gone (404).

    Raises :class:`~rebyte_action.rebyte.RebyteError` when Rebyte fails otherwise.
    """
    from .start import task_facts  # start calls this module: import at use, not at load

    task_id = found.marker.task_id
    assert task_id is not None
    try:
        task = rebyte.get_task(task_id)
    except NotFoundError:
        session.workflow.log(f"The thread's task {task_id} is gone; starting a new one")
        return None
    rebyte.follow_up(task_id, plan.prompt, skills=list(plan.skills))
    facts = task_facts(session, plan, task.id, task.url, found.marker.workspace_id or "", continued=True)
    # The task keeps the agent, model, repository and branch it was started with, whatever this
    # request's plan says: the answer shows the task's own (Rebyte's word, then the thread's marker).
    # A marker from before markers kept facts has none: then Rebyte's word, or nothing.
    earlier = TaskFacts.from_marker(found.marker) if found.marker.facts else None
    return replace(
        facts,
        executor=task.executor.value if task.executor else earlier.executor if earlier else None,
        model=task.model or (earlier.model if earlier else None),
        repository=earlier.repository if earlier else facts.repository,
        branch=earlier.branch if earlier else facts.branch,
    )
