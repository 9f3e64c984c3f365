"""What a run has done, written out once at its end: the outputs and the step summary.

Light on purpose (no PyGithub, httpx or pydantic): a skipped event is reported from here
before anything heavy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .report import TaskFacts, summary
from .workflow import Workflow

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass
class Outcome:
    """What a run has done so far; written out once, at the end, whatever happened."""

    skipped: str = ""
    facts: TaskFacts | None = None
    status: str = ""
    comment_id: str = ""
    headline: str = ""
    detail: str = ""
    failed: bool = False
    queue: str = ""  # the queue's line in the step summary, when the run read it

    def outputs(self) -> dict[str, str]:
        """The action's outputs by name (action.yml's ``outputs``); empty strings for what is unknown."""
        facts = self.facts
        return {
            "task-id": facts.task_id if facts else "",
            "task-url": facts.url if facts else "",
            "workspace-id": facts.workspace_id if facts else "",
            "status": self.status,
            "comment-id": self.comment_id,
            "skipped": self.skipped,
        }

    def skip(self, workflow: Workflow, reason: str) -> int:
        """Nothing started, and why: the one log line; exit 0."""
        workflow.log(f"Nothing to do: {reason}")
        self.skipped = reason
        self.headline = self.headline or "nothing started"
        self.detail = self.detail or reason
        return EXIT_OK

    def write(self, workflow: Workflow) -> None:
        """The outputs and the step summary (and, for a failed run, the task's URL in the log)."""
        facts = self.facts
        if facts is not None and self.failed:
            # Nothing is lost: the URL reaches the log even when GitHub could not take it.
            workflow.log(f"Rebyte task {facts.task_id}: {facts.url}")
        workflow.set_outputs(self.outputs())
        headline = self.headline or ("failed" if self.failed else "done")
        detail = "\n\n".join(part for part in (self.detail, self.queue) if part)
        workflow.summary(summary(facts, headline=headline, detail=detail))
