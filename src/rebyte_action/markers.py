"""The hidden marker: the action's state in an HTML comment a reader never sees.

Every comment the action posts carries one: later runs find the task a thread started, a
re-run finds the task it already started, the reconciler finds the tasks still open and
re-renders their comments from it alone, and the action never mistakes its own comment for a
request. This module writes a marker, reads them back from a comment's body (malformed ones
ignored), and says whose markers are believed (``TRUSTED_ASSOCIATIONS``, besides bots').
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .gate import MARKER_PREFIX
from .task_state import FINAL_STATUSES, TaskState

MARKER = re.compile(r"<!-- rebyte-action:(\w+) (\{.*?\}) -->")
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class Marker:
    """The hidden state of one comment.

    ``kind``: "pending" while a task is being started, "task" once it is, "failed" when
    starting failed, "unknown" when Rebyte's answer to a start was lost (a task may exist, so
    a re-run starts none), "reply" on verbs' answers, help and refusals. A task marker also keeps
    what its comment shows (``status``: running, completed, failed, canceled, timed out,
    lost track; None when the task is not followed), the check run's id, and the task's
    facts, so the comment can be re-rendered without the event that asked for it.
    """

    kind: str
    task_id: str | None = None
    workspace_id: str | None = None
    request: str | None = None
    url: str | None = None
    status: str | None = None
    check_run: int | None = None
    facts: dict[str, Any] | None = None
    detail: str | None = None
    started: str | None = None  # ISO 8601, as the state's started_at
    ended: str | None = None
    # A "group" marker (one request fanned out to several executors): a marker per task,
    # "task" for one that started, "failed" or "unknown" for one that did not (``group.py``).
    members: tuple[Marker, ...] = ()

    @property
    def state(self) -> TaskState | None:
        """The state the comment shows, back from the marker; None when it shows no status."""
        if self.status is None:
            return None
        return TaskState(self.status, self.detail or "", _moment(self.started), _moment(self.ended))

    @property
    def is_final(self) -> bool:
        """Whether the comment already shows the task's end (nothing left to learn)."""
        return self.status in FINAL_STATUSES

    def data(self) -> dict[str, Any]:
        """The marker's JSON object (short keys, no empties); a group's members under ``tasks``."""
        data = {
            "task": self.task_id,
            "workspace": self.workspace_id,
            "request": self.request,
            "url": self.url,
            "status": self.status,
            "check": self.check_run,
            "detail": self.detail,
            "started": self.started,
            "ended": self.ended,
            "facts": self.facts,
            "tasks": [{"kind": m.kind, **m.data()} for m in self.members] or None,
        }
        return {k: v for k, v in data.items() if v is not None}

    def render(self) -> str:
        compact = json.dumps(self.data(), separators=(",", ":"))
        # A "-->" in a value would end the HTML comment: JSON may spell < and > as escapes.
        compact = compact.replace("<", "\\u003c").replace(">", "\\u003e")
        return f"{MARKER_PREFIX}{self.kind} {compact} -->"


@dataclass(frozen=True)
class ThreadMarker:
    """A marker found in a thread or a repository, with the comment that carries it.

    ``issue`` is the issue or pull request number, ``author`` the comment's author (login)
    and ``created_at`` when GitHub says it was posted (aware), where the listing told.
    """

    comment_id: int
    marker: Marker
    issue: int | None = None
    author: str = ""
    created_at: datetime | None = None


def find_markers(body: str) -> list[Marker]:
    """Every well-formed marker in a comment's body, in order; malformed ones are ignored."""
    found = []
    for kind, raw in MARKER.findall(body or ""):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        found.append(_marker(kind, data))
    return found


def _marker(kind: str, data: dict[str, Any]) -> Marker:
    check, facts, members = data.get("check"), data.get("facts"), data.get("tasks")
    return Marker(
        kind=kind,
        task_id=_text(data.get("task")),
        workspace_id=_text(data.get("workspace")),
        request=_text(data.get("request")),
        url=_text(data.get("url")),
        status=_text(data.get("status")),
        check_run=check if isinstance(check, int) and not isinstance(check, bool) else None,
        facts=facts if isinstance(facts, dict) else None,
        detail=_text(data.get("detail")),
        started=_text(data.get("started")),
        ended=_text(data.get("ended")),
        members=tuple(_marker(_text(m.get("kind")) or "task", m) for m in members if isinstance(m, dict))
        if isinstance(members, list)
        else (),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _moment(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
