"""What a fan-out group shows people: its answer comment (the tasks side by side), check-run names,
the step summary's table, and the replies of ``status``, ``share`` and ``cancel`` on a group.

The comment is drawn from the group marker alone (``group.py``), so every run that changes a
member (following, cancel, share) redraws it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from .group import SEVERITY, asked, executor_of, overall
from .rebyte.models import Task
from .replies import addressed, reply_comment
from .report import (
    HEADINGS,
    STATUS_ICONS,
    Marker,
    TaskFacts,
    duration,
    status_text,
    when,
)

CHECK_RUN_NAME = "Rebyte ({executor})"
NOT_STARTED = {"failed": "❌ not started", "unknown": "⚠️ may have started"}


def check_run_name(executor: str) -> str:
    """``Rebyte (claude)``: one check run per task of a group."""
    return CHECK_RUN_NAME.format(executor=executor)


def group_comment(group: Marker, *, continued: bool = False) -> str:
    """The group's answer: a heading, a row per executor (live URL and status), the shared facts,
    and the hidden group marker."""
    shown = [m for m in group.members if m.kind != "member"]
    tasks = asked(group)
    lost = [m for m in shown if m.kind in NOT_STARTED]
    names = ", ".join(executor_of(m) for m in shown)
    if tasks and all(m.status in HEADINGS for m in tasks) and not lost:
        head = _ended_heading([m.status or "" for m in tasks])
    elif lost:
        head = f"⚠️ **{len(tasks)} of {len(shown)} Rebyte tasks started** ({names})"
    elif continued:
        head = f"💬 **Sent to {len(tasks)} of this thread's Rebyte tasks** ({names})"
    else:
        head = f"🚀 **{len(tasks)} Rebyte tasks started side by side** ({names})"
    rows = ["| Agent | Live | Status |", "|---|---|---|", *(_row(m, continued) for m in shown)]
    parts = [head, "\n".join(rows)]
    first = tasks[0] if tasks else None
    if first is not None:
        parts.append(_shared_facts(TaskFacts.from_marker(first)))
    for member in lost:
        parts.append(f"**{executor_of(member)}**: {member.detail or 'not started'}")
    parts.append(group.render())
    return "\n\n".join(parts)


def _ended_heading(statuses: list[str]) -> str:
    """Every task ended: the one status they share, or how many ended how (worst first)."""
    worst = overall(statuses)
    if len(set(statuses)) == 1:
        return HEADINGS[worst].replace("task", "tasks", 1)
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses), key=SEVERITY.index))
    return f"{STATUS_ICONS[worst]} **Rebyte tasks ended**: {counts}"


def _row(member: Marker, continued: bool) -> str:
    executor = executor_of(member)
    if member.kind in NOT_STARTED:
        if member.task_id:  # a follow-up that did not reach the group's task
            sent = "❌ not sent" if member.kind == "failed" else "⚠️ may have been sent"
            return f"| {executor} | [watch it live]({member.url}) | {sent} (see below) |"
        return f"| {executor} | — | {NOT_STARTED[member.kind]} (see below) |"
    facts = TaskFacts.from_marker(member)
    live = f"[watch it live]({member.url})" if member.url else "—"
    if facts.share_url:
        live += f" · [public link]({facts.share_url})"
    state = member.state
    if state is None:
        status = "💬 sent" if continued else "🚀 started"
    else:
        status = status_text(state)
        if state.ended_at is not None:
            status += f" · ended {when(state.ended_at)}"
            if state.started_at is not None:
                status += f", {duration((state.ended_at - state.started_at).total_seconds())}"
    return f"| {executor} | {live} | {status} |"


def _shared_facts(facts: TaskFacts) -> str:
    rows = [
        ("Model", facts.model or "service default"),
        ("Skills", ", ".join(f"`{s}`" for s in facts.skills) or "none"),
        ("Repository", f"`{facts.repository}` on branch `{facts.branch}`"),
        (
            "Requested by",
            f"@{facts.requested_by}" + (f" ([request]({facts.request_url}))" if facts.request_url else "")
            if facts.requested_by
            else "this workflow",
        ),
    ]
    if facts.run_url:
        rows.append(("Workflow run", f"[{facts.run_url.rsplit('/', 1)[-1]}]({facts.run_url})"))
    return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def group_summary(group: Marker) -> str:
    """The step summary's table of the group: executor, task id, live URL, status."""
    lines = ["| Agent | Task | Live URL | Status |", "|---|---|---|---|"]
    for member in group.members:
        if member.kind == "member":
            continue
        if member.kind in NOT_STARTED:
            lines.append(f"| {executor_of(member)} | — | — | {NOT_STARTED[member.kind]}: {member.detail} |")
            continue
        status = member.status or "running"
        lines.append(f"| {executor_of(member)} | `{member.task_id}` | {member.url} | {status} |")
    return "\n".join(lines)


def group_status_comment(
    tasks: Sequence[tuple[str, Task | None]], asker: str, request_url: str | None, key: str
) -> str:
    """``status`` on a group: each executor's task, its status, prompts and live URL (None: deleted)."""
    lines = [
        f"{addressed(asker, request_url)}: this thread's {len(tasks)} Rebyte tasks",
        "",
        "| Agent | Status | Prompts | Live |",
        "|---|---|---|---|",
    ]
    for executor, task in tasks:
        if task is None:
            lines.append(f"| {executor} | 🚫 deleted on Rebyte | — | — |")
            continue
        state = task.status.value
        done = sum(1 for p in task.prompts if p.completed_at)
        ended = f" · ended {when(task.completed_at)}" if task.completed_at and task.status.is_terminal else ""
        lines.append(
            f"| {executor} | {STATUS_ICONS.get(state, '⚠️')} **{state}**{ended} | "
            f"{len(task.prompts)} sent, {done} finished | [watch it live]({task.url}) |"
        )
    return reply_comment("\n".join(lines), key)


def group_share_comment(
    links: Sequence[tuple[str, str, str]], asker: str, request_url: str | None, key: str
) -> str:
    """``share`` on a group: (executor, share link, task URL) each; ``share link`` empty: refused."""
    lines = [
        f"🔗 {addressed(asker, request_url)}: this thread's Rebyte tasks are public now. Anyone with "
        "a link can watch that task (read-only):",
        "",
    ]
    for executor, share_url, task_url in links:
        lines.append(f"- **{executor}**: {share_url} ([open the task]({task_url}))")
    return reply_comment("\n".join(lines), key)


def group_cancel_comment(
    canceled: Sequence[tuple[str, str, bool]], asker: str, request_url: str | None, key: str
) -> str:
    """``cancel`` on a group: (executor, task URL, gone already) each."""
    lines = [f"🚫 {addressed(asker, request_url)}: this thread's Rebyte tasks are stopped:", ""]
    for executor, url, gone in canceled:
        what = "was gone already (deleted on Rebyte)" if gone else "is canceled"
        lines.append(f"- **{executor}**: [the task]({url}) {what}")
    lines += ["", "The next request in this thread starts a new task."]
    return reply_comment("\n".join(lines), key)
