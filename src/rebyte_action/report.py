"""What the action writes for people: comments, check-run text, the step summary, the hidden marker.

Every comment the action posts carries a marker, an HTML comment a reader never sees:
later runs find the task a thread started, a re-run finds the task it already started,
the reconciler finds the tasks still open and re-renders their comments from it alone,
and the action never mistakes its own comment for a request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .gate import MARKER_PREFIX as MARKER_PREFIX  # kept where the gate reads it without this module
from .outcome import summary as summary  # there, a skip writes it without this module

if TYPE_CHECKING:
    from .rebyte.models import Task


MARKER = re.compile(r"<!-- rebyte-action:(\w+) (\{.*?\}) -->")
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})

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
HEADINGS = {
    "completed": "✅ **Rebyte task completed**",
    "failed": "❌ **Rebyte task failed**",
    "canceled": "🚫 **Rebyte task canceled**",
    "timed out": "⏱️ **Rebyte task still running, no longer followed**",
    "lost track": "⚠️ **Lost track of the Rebyte task**",
}
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


def status_text(state: TaskState) -> str:
    """The status row's text: an icon and the state, or its detail."""
    return f"{STATUS_ICONS.get(state.status, '⚠️')} {state.detail or state.status}"


def when(moment: datetime) -> str:
    """A moment as readers everywhere read it: ``2026-11-29 11:40 UTC``."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    """``1 h 2 min``, ``3 min 12 s`` or ``45 s``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def attachment_rows(facts: TaskFacts) -> list[tuple[str, str]]:
    """The answer's rows for the request's attachments: the files the task got, those it did not."""
    rows = []
    if facts.files:
        rows.append(("Files", ", ".join(f"`{path}`" for path in facts.files)))
    if facts.not_attached:
        rows.append(("Not attached", "<br>".join(facts.not_attached)))
    return rows


def _facts_table(facts: TaskFacts, state: TaskState | None = None) -> str:
    agent = facts.executor or "opencode (service default)"
    model = facts.model or "service default"
    rows = [
        ("Agent", f"{agent} · model {model}"),
        ("Skills", ", ".join(f"`{s}`" for s in facts.skills) or "none"),
        ("Repository", f"`{facts.repository}` on branch `{facts.branch}`"),
        (
            "Requested by",
            f"@{facts.requested_by}" + (f" ([request]({facts.request_url}))" if facts.request_url else "")
            if facts.requested_by
            else "this workflow",
        ),
    ]
    rows += attachment_rows(facts)
    if state is not None:
        if state.ended_at is not None:
            took = (
                f", {duration((state.ended_at - state.started_at).total_seconds())} after it started"
                if state.started_at is not None
                else ""
            )
            rows.insert(0, ("Ended", f"{when(state.ended_at)}{took}"))
        rows.insert(0, ("Status", status_text(state)))
    if facts.share_url:
        rows.append(("Public link", facts.share_url))
    if facts.run_url:
        rows.append(("Workflow run", f"[{facts.run_url.rsplit('/', 1)[-1]}]({facts.run_url})"))
    lines = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    return "\n".join(lines)


def task_marker(
    facts: TaskFacts, request_key: str | None, state: TaskState | None, check_run: int | None = None
) -> Marker:
    return Marker(
        "task",
        facts.task_id,
        facts.workspace_id or None,
        request_key,
        facts.url,
        status=state.status if state else None,
        check_run=check_run,
        facts=facts.to_marker(),
        detail=(state.detail or None) if state else None,
        started=state.started_at.isoformat() if state and state.started_at else None,
        ended=state.ended_at.isoformat() if state and state.ended_at else None,
    )


def started_comment(
    facts: TaskFacts,
    request_key: str | None,
    *,
    state: TaskState | None = None,
    check_run: int | None = None,
) -> str:
    """The answer once the task exists; with ``state`` a status row (heading and row agree)."""
    if state is not None and state.status in HEADINGS:
        head = f"{HEADINGS[state.status]}: [open it]({facts.url})"
    elif facts.continued:
        head = f"💬 **Sent to this thread's Rebyte task**: [watch it live]({facts.url})"
    else:
        head = f"🚀 **Rebyte task started**: [watch it live]({facts.url})"
    marker = task_marker(facts, request_key, state, check_run)
    return f"{head}\n\n{_facts_table(facts, state)}\n\n{marker.render()}"


def check_run_text(facts: TaskFacts, state: TaskState, *, handed_over: bool = False) -> tuple[str, str]:
    """The check run's title and summary; ``handed_over``: the scheduled reconciler will close it."""
    label = state.detail or state.status
    title = f"Rebyte task {label}"[:200]
    summary = f"[Watch the task live]({facts.url})\n\n{_facts_table(facts, state)}"
    if handed_over:
        summary += (
            "\n\nThis workflow did not wait for the task: the scheduled reconciler "
            "(`mode: reconcile`, in `.github/workflows/reconcile.yml`) closes this check run "
            "when the task ends."
        )
    return title, summary


STARTING = "starting"


def pending_comment(requested_by: str, request_key: str, *, continuing: bool, places: int = 1) -> str:
    """The answer's first form, posted before the (slow) start, so a re-run can tell it began.

    ``places``: how many tasks it may start (a fan-out's, ``n`` in the marker), which the queue
    counts as taken while it starts."""
    what = "Sending this to the thread's Rebyte task" if continuing else "Starting a Rebyte task"
    who = f" for @{requested_by}" if requested_by else ""
    # "starting": a run is at work on it (a failure that keeps the pending kind has no status).
    facts: dict[str, object] = {"by": requested_by} if requested_by else {}  # the queue counts per person
    if places > 1:
        facts["n"] = places
    marker = Marker("pending", request=request_key, status=STARTING, facts=facts or None)
    return f"⏳ **{what}**{who}…\n\n{marker.render()}"


def failure_comment(
    what: str,
    detail: str,
    run_url: str | None,
    task_url: str | None = None,
    request_key: str | None = None,
    *,
    kind: str = "failed",
) -> str:
    lines = [f"😕 **{what}**", "", detail]
    if task_url:
        lines += ["", f"The task itself was created: [watch it live]({task_url})"]
    if run_url:
        lines += ["", f"Details are in the [workflow run]({run_url})."]
    return "\n".join(lines) + "\n\n" + Marker(kind, request=request_key).render()


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
