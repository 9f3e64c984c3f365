"""What a run has done, written out once at its end: the outputs and the step summary.

Light on purpose (no PyGithub, httpx or pydantic, not even ``dataclasses`` or ``typing``): a
skipped event is reported from here before anything heavy is imported.
"""

from __future__ import annotations

from .workflow import Workflow

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from .report import Marker, TaskFacts

EXIT_OK, EXIT_FAILED = 0, 1


class Outcome:
    """What a run has done so far; written out once, at the end, whatever happened.

    ``Outcome()`` knows nothing yet; a run sets the attributes as it learns (every default
    below is immutable, so the class's own serve until then).
    """

    skipped: str = ""
    facts: TaskFacts | None = None
    status: str = ""
    comment_id: str = ""
    headline: str = ""
    detail: str = ""
    failed: bool = False
    queue: str = ""  # the queue's line in the step summary, when the run read it
    group: Marker | None = None  # a fan-out's tasks (``group.py``); ``facts`` is then its first task's

    def outputs(self) -> dict[str, str]:
        """The action's outputs by name (action.yml's ``outputs``); empty strings for what is unknown.

        A fan-out adds ``task-ids`` and ``task-urls``: JSON lists of its started tasks, in the
        order of ``--executor``.
        """
        facts = self.facts
        group: dict[str, str] = {}
        if self.group is not None:
            import json  # only a fan-out needs it

            tasks = [m for m in self.group.members if m.kind in ("task", "member") and m.task_id]
            group = {
                "task-ids": json.dumps([m.task_id for m in tasks]),
                "task-urls": json.dumps([m.url or "" for m in tasks]),
            }
        return {
            "task-id": facts.task_id if facts else "",
            "task-url": facts.url if facts else "",
            "workspace-id": facts.workspace_id if facts else "",
            "status": self.status,
            "comment-id": self.comment_id,
            "skipped": self.skipped,
            **group,
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
            for member in self.group.members if self.group else ():
                if member.task_id and member.task_id != facts.task_id:
                    workflow.log(f"Rebyte task {member.task_id}: {member.url}")
        workflow.set_outputs(self.outputs())
        headline = self.headline or ("failed" if self.failed else "done")
        detail = self.detail
        if self.group is not None:
            from .group_report import group_summary  # only a fan-out needs it

            detail = "\n\n".join(part for part in (group_summary(self.group), detail) if part)
            facts = None  # the table names every task
        detail = "\n\n".join(part for part in (detail, self.queue) if part)
        workflow.summary(summary(facts, headline=headline, detail=detail))


def summary(facts: TaskFacts | None, *, headline: str, detail: str = "") -> str:
    """The step summary (Markdown): a heading, the task's live URL and facts when there is a
    task, then ``detail``."""
    parts = [f"### Rebyte: {headline}"]
    if facts is not None:
        from .report import _facts_table  # only a run with a task pays for report's classes

        parts.append(f"Live URL: {facts.url}\n\n{_facts_table(facts)}")
    if detail:
        parts.append(detail)
    return "\n\n".join(parts) + "\n"
