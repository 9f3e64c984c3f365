"""Following a fan-out group to its end: each task in turn, within one shared ``timeout-minutes``.

The tasks run side by side on Rebyte; the action polls them one after the other
(``GET /v1/tasks/{id}``, as :mod:`~rebyte_action.track` does for one task), so the wait
is as long as the slowest task, and a task that ended while another was followed is seen
at its first poll. Each end is shown at once: the group comment redrawn, that task's check
run completed. Once all have ended the request gets one final reaction: 🚀 when every task
completed, 😕 otherwise. The step fails when any task did not complete.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .github import GitHubError
from .group import asked, executor_of, member_of, overall, with_member
from .group_report import group_comment
from .report import HEADINGS, Marker, TaskFacts, TaskState, check_run_text
from .track import Cancelled, _wait

if TYPE_CHECKING:
    from .rebyte import RebyteClient
    from .session import Session


def follow_group(session: Session, rebyte: RebyteClient, group: Marker, *, continued: bool) -> int:
    """Stay with every task of ``group`` this request went to; the exit code is the group's."""
    from .session import EXIT_FAILED, EXIT_OK

    settings, workflow, outcome = session.settings, session.workflow, session.outcome
    timeout = settings.timeout_minutes
    deadline = time.monotonic() + timeout * 60
    current = group

    def show(member: Marker, state: TaskState) -> None:
        nonlocal current
        current = with_member(current, member_of(TaskFacts.from_marker(member), state, member.check_run))
        outcome.group = current
        try:
            session.answer.write(group_comment(current, continued=continued))
        except GitHubError as error:
            workflow.warning(f"Could not update the status comment: {error}")
        close_check_run(session, member, state)

    workflow.log(f"Following {len(asked(group))} tasks for up to {timeout:g} minutes")
    try:
        for member in asked(group):
            if member.status in HEADINGS:  # a re-run: this one's end is known already
                continue
            facts = TaskFacts.from_marker(member)
            left = max(0.0, deadline - time.monotonic()) / 60
            state = _wait(rebyte, workflow, facts, left, settings.poll_seconds)
            if state.status == "timed out":
                state = TaskState(
                    "timed out", f"still running after {timeout:g} minutes; no longer followed here"
                )
            show(member, state)
    except Cancelled:  # close every check run and row still open
        detail = "running; the workflow run was cancelled, so it is no longer followed here"
        for member in asked(current):
            if member.status not in HEADINGS:
                show(member, TaskState("timed out", detail=detail, workflow_cancelled=True))
        raise
    every = overall([m.status or "" for m in asked(current)])
    complete = every == "completed" and not any(m.kind in ("failed", "unknown") for m in current.members)
    session.react("rocket" if complete else "confused")
    outcome.status = {"timed out": "running", "lost track": "unknown"}.get(every, every)
    ended = ", ".join(f"{executor_of(m)} {m.status}" for m in asked(current))
    outcome.headline = f"tasks ended: {ended}"
    if complete:
        return EXIT_OK
    outcome.failed = True
    workflow.error(f"Not every Rebyte task completed: {ended}")
    return EXIT_FAILED


def close_check_run(session: Session, member: Marker, state: TaskState, *, handed_over: bool = False) -> None:
    """Show ``state`` on the member's check run (completed once the state has a conclusion)."""
    github = session.github
    if member.check_run is None or github is None:
        return
    facts = TaskFacts.from_marker(member)
    title, summary = check_run_text(facts, state, handed_over=handed_over and not state.conclusion)
    try:
        if state.conclusion:
            github.complete_check_run(
                member.check_run, conclusion=state.conclusion, title=title, summary=summary
            )
        else:
            github.update_check_run(member.check_run, title=title, summary=summary)
    except GitHubError as error:
        session.workflow.warning(f"Could not update the check run: {error}")
