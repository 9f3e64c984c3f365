"""Following a task to its end: the status comment and the check run, kept up to date.

Polling is the only way to learn that a task finished (the API has no webhooks), so the
tracker asks ``GET /v1/tasks/{id}`` less and less often (2 s growing to 30 s), and
touches GitHub only when the status changes. The end is shown everywhere at once
(comment, check run, final reaction) by :func:`~rebyte_action.answer.show_state`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .answer import show_state
from .github import GitHub, GitHubError
from .rebyte import NotFoundError, RebyteClient, RebyteError, Task, WaitTimeout
from .report import RUNNING, TaskFacts, TaskState, check_run_text, deleted_state, state_of
from .workflow import Workflow

if TYPE_CHECKING:
    from .decide import Target
    from .session import Session

CHECK_RUN_NAME = "Rebyte"
LOOKS = 3  # a follow gives up on a task it cannot read (after the client's own retries) the third time


class Cancelled(BaseException):
    """The runner asked the action to stop (SIGTERM when a run is cancelled)."""


def open_check_run(
    github: GitHub | None,
    workflow: Workflow,
    facts: TaskFacts,
    head_sha: str | None,
    *,
    handed_over: bool,
    name: str = CHECK_RUN_NAME,
) -> int | None:
    """POST a check run (``name``: Rebyte, or ``Rebyte (claude)`` for a group's task), in progress,
    linking to the task: its id, or None (a warning)."""
    if github is None:
        return None
    if not head_sha:
        workflow.warning("No commit to attach a check run to; going on without one")
        return None
    title, summary = check_run_text(facts, RUNNING, handed_over=handed_over)
    try:
        return github.create_check_run(
            name,
            head_sha,
            details_url=facts.url,
            external_id=facts.task_id,
            title=title,
            summary=summary,
        )
    except GitHubError as error:
        workflow.warning(f"Could not create the check run (does the job have `checks: write`?): {error}")
        return None


def follow(
    session: Session, rebyte: RebyteClient, facts: TaskFacts, target: Target, check_run: int | None
) -> int:
    """Stay with the task to its end, showing it; the step's result (exit code) is the task's."""
    from .session import EXIT_FAILED, EXIT_OK

    settings, trigger, outcome = session.settings, session.trigger, session.outcome
    assert trigger is not None

    def show(state: TaskState) -> None:
        if session.github is not None:
            show_state(
                session.github,
                session.workflow,
                issue=session.issue,
                comment_id=session.answer.comment_id,
                facts=facts,
                request_key=trigger.request_key,
                state=state,
                check_run=check_run,
            )

    timeout = settings.timeout_minutes
    try:
        session.workflow.log(f"Following task {facts.task_id} for up to {timeout:g} minutes")
        state = _wait(rebyte, session.workflow, facts, timeout, settings.poll_seconds)
    except Cancelled:  # whenever it comes, close what was opened
        detail = "running; the workflow run was cancelled, so it is no longer followed here"
        show(TaskState("timed out", detail=detail, workflow_cancelled=True))
        raise
    show(state)
    outcome.status = "running" if state.status in ("timed out", "lost track") else state.status
    if state.status == "completed":
        outcome.headline = "task completed"
        return EXIT_OK
    outcome.failed = True
    if state.status == "timed out":
        outcome.headline = f"task still running after {timeout:g} minutes"
        session.workflow.error(f"Stopped following the task: {outcome.headline}. It goes on at {facts.url}")
    elif state.status == "lost track":
        outcome.status = "unknown"
        outcome.headline = "lost track of the task"
        session.workflow.error(f"Lost track of the task at {facts.url}: {state.detail}")
    else:
        outcome.headline = f"task {state.status}"
        session.workflow.error(f"The Rebyte task ended {state.status}: {facts.url}")
    return EXIT_FAILED


@dataclass
class _Seen:
    task: Task | None = None


def _wait(
    rebyte: RebyteClient, workflow: Workflow, facts: TaskFacts, timeout_minutes: float, poll_seconds: float
) -> TaskState:
    """Poll the task to its end (or the timeout): the state to show. Never raises for the task's end."""
    seen = _Seen()

    def changed(task: Task) -> None:
        seen.task = task
        workflow.log(f"Task {task.id}: {task.status.value}")

    deadline = time.monotonic() + timeout_minutes * 60
    misses = 0
    while True:
        try:
            task = rebyte.wait_for_task(
                facts.task_id,
                timeout=max(0.0, deadline - time.monotonic()),
                interval=poll_seconds,
                on_change=changed,
            )
        except WaitTimeout:
            detail = f"still running after {timeout_minutes:g} minutes; no longer followed here"
            return TaskState("timed out", detail=detail)
        except NotFoundError:
            return deleted_state(datetime.now(UTC))
        except RebyteError as error:  # one bad answer (a 500, a broken body) does not end a follow
            misses += 1
            if misses >= LOOKS or time.monotonic() >= deadline:
                return TaskState("lost track", detail=f"unknown: the action lost track of it ({error})")
            workflow.warning(f"Could not read task {facts.task_id} ({error}); looking again")
            continue
        return state_of(task, continued=facts.continued)
