"""The answer comment's life: posted pending before the task exists, edited to started, then final.

There is one answer per request. It exists before the task does, so a re-run that finds
it still pending knows that a task may have started, and starts no second one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decide import reaction_target
from .github import GitHub, GitHubError
from .report import TaskFacts, TaskState, check_run_text, pending_comment, started_comment
from .workflow import Workflow

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

    def pending(self, *, continuing: bool, places: int = 1) -> None:
        """The first form, posted before the (slow) start: ⏳ starting or sending (``places``: the
        tasks a fan-out may start, each a place under the limits)."""
        trigger = self._session.trigger
        assert trigger is not None
        self.write(
            pending_comment(trigger.actor.login, trigger.request_key, continuing=continuing, places=places)
        )

    def started(self, facts: TaskFacts, *, state: TaskState | None, check_run: int | None = None) -> None:
        """The task exists: its live URL and facts, with a status row when ``state`` is given."""
        trigger = self._session.trigger
        assert trigger is not None
        self.write(started_comment(facts, trigger.request_key, state=state, check_run=check_run))

    def write(self, body: str) -> None:
        """Post the answer, or edit it once it exists. GitHub's errors propagate."""
        session = self._session
        issue, github = session.issue, session.github
        if issue is None or github is None:
            return
        if self.comment_id is None:
            self.comment_id = self._post(github, issue, body)
        else:
            github.edit_comment(issue, self.comment_id, body)
        session.outcome.comment_id = str(self.comment_id)

    def _post(self, github: GitHub, issue: int, body: str) -> int:
        """POST the answer: its id. When GitHub's answer is lost (a 5xx, a dropped connection),
        the comment may exist: the thread is read (GET) and a comment with this request's marker
        is taken as the answer; only when there is none is the answer posted again, once."""
        try:
            return github.comment(issue, body).id
        except GitHubError as error:
            request = self._session.trigger.request_key if self._session.trigger else None
            if not error.maybe_applied or request is None:
                raise
            lost = f"HTTP {error.status}" if error.status else "a lost connection"
        mine = [
            m.comment_id
            for m in github.thread_markers(issue)
            if m.marker.request == request and m.marker.kind != "reply"
        ]
        workflow = self._session.workflow
        if mine:
            workflow.log(f"GitHub posted the answer although its reply was lost ({lost}): going on with it")
            github.edit_comment(issue, mine[-1], body)
            return mine[-1]
        workflow.log(
            f"GitHub's reply to the answer was lost ({lost}) and the thread does not have it: posting it"
        )
        return github.comment(issue, body).id


def show_state(
    github: GitHub,
    workflow: Workflow,
    *,
    issue: int | None,
    comment_id: int | None,
    facts: TaskFacts,
    request_key: str | None,
    state: TaskState,
    check_run: int | None,
    handed_over: bool = False,
    react: bool = True,
    was: TaskState | None = None,
    me: str = "",
) -> list[str]:
    """Show ``state`` everywhere it belongs: the status comment (PATCH), the check run (PATCH,
    completed with the state's conclusion once the task ended or is no longer followed), and
    for an ending the final reaction on the request (POST; 🚀 completed, 😕 otherwise). When the
    comment showed ``was`` (timed out, lost track: 😕) and the task then completed, ``me``'s 😕
    is taken back (GET and DELETE), so that the request does not show both.

    GitHub's refusals become warnings; returns what was written, e.g. ``["comment", "check run"]``.
    """
    written: list[str] = []
    if issue is not None and comment_id is not None:
        body = started_comment(facts, request_key, state=state, check_run=check_run)
        try:
            github.edit_comment(issue, comment_id, body)
            written.append("comment")
        except GitHubError as error:
            workflow.warning(f"Could not update the status comment: {error}")
    if check_run is not None:
        title, summary = check_run_text(facts, state, handed_over=handed_over and not state.conclusion)
        try:
            if state.conclusion:
                github.complete_check_run(
                    check_run, conclusion=state.conclusion, title=title, summary=summary
                )
            else:
                github.update_check_run(check_run, title=title, summary=summary)
            written.append("check run")
        except GitHubError as error:
            workflow.warning(f"Could not update the check run: {error}")
    if react and state.reaction and issue is not None:
        on_issue, on_comment, review = reaction_target(request_key, issue)
        try:
            github.react(state.reaction, issue=on_issue, comment_id=on_comment, review=review)
            written.append("reaction")
            if me and was is not None and was.reaction and was.reaction != state.reaction:
                github.unreact(was.reaction, me, issue=on_issue, comment_id=on_comment, review=review)
        except GitHubError as error:
            workflow.warning(f"Could not set the {state.reaction} reaction: {error}")
    return written
