"""The answer comment's life: posted pending before the task exists, edited to started, then final.

There is one answer per request. It exists before the task does, so a re-run that finds
it still pending knows that a task may have started, and starts no second one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .report import TaskFacts, pending_comment, started_comment

if TYPE_CHECKING:
    from .session import Session


class Answer:
    """The comment that answers this run's request; ``comment_id`` once it exists."""

    def __init__(self, session: Session):
        self._session = session
        self.comment_id: int | None = None

    def adopt(self, comment_id: int) -> None:
        """Answer in an existing comment (a re-run of the same request)."""
        self.comment_id = comment_id
        self._session.outcome.comment_id = str(comment_id)

    def pending(self, *, continuing: bool) -> None:
        """The first form, posted before the (slow) start: ⏳ starting or sending."""
        trigger = self._session.trigger
        assert trigger is not None
        self.write(pending_comment(trigger.actor.login, trigger.request_key, continuing=continuing))

    def started(self, facts: TaskFacts, *, status: str | None) -> None:
        """The task exists: its live URL and facts, with a status row when ``status`` is given."""
        trigger = self._session.trigger
        assert trigger is not None
        self.write(started_comment(facts, trigger.request_key, status=status))

    def write(self, body: str) -> None:
        """Post the answer, or edit it once it exists. GitHub's errors propagate."""
        session = self._session
        issue, github = session.issue, session.github
        if issue is None or github is None:
            return
        if self.comment_id is None:
            self.comment_id = github.comment(issue, body).id
        else:
            github.edit_comment(issue, self.comment_id, body)
        session.outcome.comment_id = str(self.comment_id)
