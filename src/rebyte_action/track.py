"""Following a task to its end: the status comment and the check run, kept up to date.

Polling is the only way to learn that a task finished (the API has no webhooks), so the
tracker asks ``GET /v1/tasks/{id}`` less and less often (2 s growing to 30 s), and
touches GitHub only when the status changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .github import GitHub, GitHubError
from .rebyte import RebyteClient, RebyteError, Task, TaskStatus, WaitTimeout
from .report import TaskFacts, check_run_text, started_comment
from .workflow import Workflow

if TYPE_CHECKING:
    from .decide import Target
    from .session import Session

CHECK_RUN_NAME = "Rebyte"
CONCLUSIONS = {
    TaskStatus.COMPLETED: "success",
    TaskStatus.FAILED: "failure",
    TaskStatus.CANCELED: "cancelled",
}


def follow(session: Session, rebyte: RebyteClient, facts: TaskFacts, target: Target) -> int:
    """Stay with the task to its end; the step's result (exit code) is the task's."""
    from .session import EXIT_FAILED, EXIT_OK

    settings, trigger, outcome = session.settings, session.trigger, session.outcome
    assert trigger is not None
    tracker = Tracker(
        session.github,
        rebyte,
        session.workflow,
        facts=facts,
        request_key=trigger.request_key,
        issue=session.issue,
        comment_id=session.answer.comment_id,
        head_sha=target.head_sha or settings.sha or None,
        check_run=settings.check_run,
        timeout_minutes=settings.timeout_minutes,
        poll_seconds=settings.poll_seconds,
    )

    def seen(status: str) -> None:
        outcome.status = status

    try:
        tracker.start()
        ended = tracker.follow(on_status=seen)
    except Cancelled:  # whenever it comes, close what was opened
        tracker.finish(Tracked(status=tracker.shown or "running", cancelled=True))
        raise
    outcome.status = ended.status
    if ended.succeeded:
        outcome.headline = "task completed"
        return EXIT_OK
    outcome.failed = True
    if ended.timed_out:
        outcome.headline = f"task still {ended.status} after {settings.timeout_minutes:g} minutes"
        session.workflow.error(f"Stopped following the task: {outcome.headline}. It goes on at {facts.url}")
    elif ended.error:
        outcome.headline = "lost track of the task"
        session.workflow.error(f"Lost track of the task at {facts.url}: {ended.error}")
    else:
        outcome.headline = f"task {ended.status}"
        session.workflow.error(f"The Rebyte task ended {ended.status}: {facts.url}")
    session.react("confused")
    return EXIT_FAILED


class Cancelled(BaseException):
    """The runner asked the action to stop (SIGTERM when a run is cancelled)."""


@dataclass(frozen=True)
class Tracked:
    """How following ended: the last status seen, and whether the wait ran out first."""

    status: str
    timed_out: bool = False
    cancelled: bool = False
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == TaskStatus.COMPLETED.value and not self.timed_out and not self.error


class Tracker:
    def __init__(
        self,
        github: GitHub | None,
        rebyte: RebyteClient,
        workflow: Workflow,
        *,
        facts: TaskFacts,
        request_key: str,
        issue: int | None,
        comment_id: int | None,
        head_sha: str | None,
        check_run: bool,
        timeout_minutes: float,
        poll_seconds: float,
    ):
        self.github = github
        self.rebyte = rebyte
        self.workflow = workflow
        self.facts = facts
        self.request_key = request_key
        self.issue = issue
        self.comment_id = comment_id
        self.head_sha = head_sha
        self.want_check_run = check_run
        self.timeout_minutes = timeout_minutes
        self.poll_seconds = poll_seconds
        self.check_run_id: int | None = None
        self.shown: str | None = "running"  # the status the comment shows now

    def start(self) -> None:
        """Open the check run (in progress, linking to the live task)."""
        if not self.want_check_run or self.github is None:
            return
        if not self.head_sha:
            self.workflow.warning("No commit to attach a check run to; following the task without one")
            return
        title, summary = check_run_text(self.facts, "running")
        try:
            self.check_run_id = self.github.create_check_run(
                CHECK_RUN_NAME,
                self.head_sha,
                details_url=self.facts.url,
                external_id=self.facts.task_id,
                title=title,
                summary=summary,
            )
        except GitHubError as error:
            self.workflow.warning(
                f"Could not create the check run (does the job have `checks: write`?): {error}"
            )

    def follow(self, on_status: Callable[[str], None] | None = None) -> Tracked:
        """Wait for the task to end, showing each change; never raises for the task's own failure."""
        self.workflow.log(f"Following task {self.facts.task_id} for up to {self.timeout_minutes:g} minutes")

        def changed(task: Task) -> None:
            self.workflow.log(f"Task {task.id}: {task.status.value}")
            if on_status is not None:
                on_status(task.status.value)
            if not task.status.is_terminal:
                self._show(task.status.value)

        try:
            task = self.rebyte.wait_for_task(
                self.facts.task_id,
                timeout=self.timeout_minutes * 60,
                interval=self.poll_seconds,
                on_change=changed,
            )
        except WaitTimeout as timed_out:
            ended = Tracked(status=timed_out.task.status.value, timed_out=True)
        except RebyteError as error:
            ended = Tracked(status="unknown", error=str(error))
        else:
            ended = Tracked(status=task.status.value)
        self.finish(ended)
        return ended

    def finish(self, ended: Tracked) -> None:
        """Show the end on the comment and close the check run."""
        label = _ending(ended, self.timeout_minutes)
        self._show(label, final=True)
        if self.check_run_id is not None and self.github is not None:
            title, summary = check_run_text(self.facts, label)
            conclusion = _conclusion(ended)
            try:
                self.github.complete_check_run(
                    self.check_run_id, conclusion=conclusion, title=title, summary=summary
                )
            except GitHubError as error:
                self.workflow.warning(f"Could not complete the check run: {error}")

    def _show(self, status: str, *, final: bool = False) -> None:
        if status == self.shown and not final:
            return
        self.shown = status
        if self.github is None or self.issue is None or self.comment_id is None:
            return
        body = started_comment(self.facts, self.request_key, status=status)
        try:
            self.github.edit_comment(self.issue, self.comment_id, body)
        except GitHubError as error:
            self.workflow.warning(f"Could not update the status comment: {error}")
        if self.check_run_id is not None and not final:
            title, summary = check_run_text(self.facts, status)
            try:
                self.github.update_check_run(self.check_run_id, title=title, summary=summary)
            except GitHubError as error:
                self.workflow.warning(f"Could not update the check run: {error}")


def _conclusion(ended: Tracked) -> str:
    if ended.error:
        return "failure"
    if ended.timed_out:
        return "timed_out"
    if ended.cancelled:
        return "cancelled"
    return CONCLUSIONS.get(TaskStatus(ended.status), "neutral")


def _ending(ended: Tracked, timeout_minutes: float) -> str:
    if ended.cancelled:
        return f"{ended.status}; the workflow run was cancelled, so it is no longer followed here"
    if ended.error:
        return f"unknown: the action lost track of it ({ended.error})"
    if ended.timed_out:
        return f"still {ended.status} after {timeout_minutes:g} minutes; no longer followed here"
    return ended.status
