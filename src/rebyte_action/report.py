"""What the action writes for people: comments, check-run text, the step summary.

Every comment carries the hidden marker (:mod:`.markers`); what it shows about a task is
:mod:`.task_state`'s plain data. This module is the text: the answer's forms (pending,
started, failed), the facts table, the check run's title and summary.
"""

from __future__ import annotations

from datetime import datetime

from .gate import MARKER_PREFIX as MARKER_PREFIX  # kept where the gate reads it without this module

# Re-exported: the markers and the task's state were this module's, and are imported from here.
from .markers import MARKER as MARKER
from .markers import TRUSTED_ASSOCIATIONS as TRUSTED_ASSOCIATIONS
from .markers import Marker as Marker
from .markers import ThreadMarker as ThreadMarker
from .markers import find_markers as find_markers
from .outcome import summary as summary  # there, a skip writes it without this module
from .task_state import CONCLUSIONS as CONCLUSIONS
from .task_state import FINAL_STATUSES as FINAL_STATUSES
from .task_state import REACTIONS as REACTIONS
from .task_state import RUNNING as RUNNING
from .task_state import STATUS_ICONS as STATUS_ICONS
from .task_state import TaskFacts as TaskFacts
from .task_state import TaskState as TaskState
from .task_state import deleted_state as deleted_state
from .task_state import state_of as state_of

# The heading of a comment that shows its task's end.
HEADINGS = {
    "completed": "✅ **Rebyte task completed**",
    "failed": "❌ **Rebyte task failed**",
    "canceled": "🚫 **Rebyte task canceled**",
    "timed out": "⏱️ **Rebyte task still running, no longer followed**",
    "lost track": "⚠️ **Lost track of the Rebyte task**",
}


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
