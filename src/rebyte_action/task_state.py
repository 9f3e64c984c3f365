"""A task as the action shows it: the facts an answer states and the state a comment shows.

Plain data, no text: :class:`TaskFacts` (what one answer says about a task, kept in its
marker), :class:`TaskState` (running, completed, failed, canceled, timed out, lost track;
with the check run's conclusion and the request's final reaction for each), and the state
of a task as Rebyte reports it (:func:`state_of`, :func:`deleted_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .markers import Marker
    from .rebyte.models import Task


# What a status comment can show, and how.
STATUS_ICONS = {
    "running": "⏳",
    "completed": "✅",
    "failed": "❌",
    "canceled": "🚫",
    "timed out": "⏱️",
    "lost track": "⚠️",
}
FINAL_STATUSES = frozenset({"completed", "failed", "canceled"})
CONCLUSIONS = {
    "completed": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "timed out": "timed_out",
    "lost track": "failure",
}
# The final reaction on the request: 🚀 for a task that completed, 😕 for any other end.
REACTIONS = {
    "completed": "rocket",
    "failed": "confused",
    "canceled": "confused",
    "timed out": "confused",
    "lost track": "confused",
}


@dataclass(frozen=True)
class TaskFacts:
    """What one answer says about a task, for the comment, the summary and the outputs."""

    task_id: str
    url: str
    workspace_id: str
    branch: str
    repository: str
    executor: str | None
    model: str | None
    skills: tuple[str, ...]
    requested_by: str
    request_url: str | None
    run_url: str | None
    share_url: str | None = None
    continued: bool = False
    files: tuple[str, ...] = ()  # the request's attachments in the VM: /code/<name>
    not_attached: tuple[str, ...] = ()  # "<link>: why" for each attachment the task did not get

    def to_marker(self) -> dict[str, Any]:
        """The facts a marker keeps besides the task, workspace and URL (short keys; no empties)."""
        data = {
            "branch": self.branch,
            "repo": self.repository,
            "executor": self.executor,
            "model": self.model,
            "skills": list(self.skills) or None,
            "by": self.requested_by or None,
            "req": self.request_url,
            "run": self.run_url,
            "share": self.share_url,
            "continued": self.continued or None,
            "files": list(self.files) or None,
            "missing": list(self.not_attached) or None,
        }
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_marker(cls, marker: Marker) -> TaskFacts:
        """The facts back from a task marker; what it lacks is left empty."""
        data = marker.facts or {}

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        def texts(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(s for s in value if isinstance(s, str)) if isinstance(value, list) else ()

        skills = data.get("skills")
        return cls(
            task_id=marker.task_id or "",
            url=marker.url or "",
            workspace_id=marker.workspace_id or "",
            branch=text("branch") or "?",
            repository=text("repo") or "?",
            executor=text("executor"),
            model=text("model"),
            skills=tuple(s for s in skills if isinstance(s, str)) if isinstance(skills, list) else (),
            requested_by=text("by") or "",
            request_url=text("req"),
            run_url=text("run"),
            share_url=text("share"),
            continued=data.get("continued") is True,
            files=texts("files"),
            not_attached=texts("missing"),
        )


@dataclass(frozen=True)
class TaskState:
    """What a status comment shows about its task.

    ``status`` is one of STATUS_ICONS' keys; ``detail`` replaces the bare status in the row
    (e.g. "still running after 30 minutes; no longer followed here"); ``started_at`` and
    ``ended_at`` (aware datetimes, from Rebyte's createdAt / submittedAt and completedAt,
    or the moment the action saw the end) give the end time and duration.
    """

    status: str
    detail: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    workflow_cancelled: bool = False  # the run following it was cancelled: no verdict on the task

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def conclusion(self) -> str | None:
        """The check run's conclusion for this state; None while the task runs."""
        return "cancelled" if self.workflow_cancelled else CONCLUSIONS.get(self.status)

    @property
    def reaction(self) -> str | None:
        """The final reaction on the request (GitHub's reaction content); None while it runs."""
        return None if self.workflow_cancelled else REACTIONS.get(self.status)


RUNNING = TaskState("running")


def state_of(task: Task, *, continued: bool = False) -> TaskState:
    """What a comment should show for a task as Rebyte reports it (GET /v1/tasks/{id}).

    A finished task's end is its ``completedAt``; its start is its ``createdAt``, or for a
    continued thread the newest prompt's ``submittedAt``.
    """
    if not task.status.is_terminal:
        return RUNNING
    started = task.created_at
    if continued and task.prompts and task.prompts[-1].submitted_at:
        started = task.prompts[-1].submitted_at
    return TaskState(task.status.value, started_at=started, ended_at=task.completed_at)


def deleted_state(now: datetime) -> TaskState:
    """A task Rebyte no longer knows (404): deleted, so canceled, as of ``now``."""
    return TaskState("canceled", detail="canceled: the task was deleted on Rebyte", ended_at=now)
