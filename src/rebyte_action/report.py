"""What the action writes for people: comments, the step summary, and the hidden marker.

Every comment the action posts carries a marker, an HTML comment a reader never sees:
later runs find the task a thread started, a re-run finds the task it already started,
and the action never mistakes its own comment for a request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .commands import USAGE

MARKER_PREFIX = "<!-- rebyte-action:"
MARKER = re.compile(r"<!-- rebyte-action:(\w+) (\{.*?\}) -->")
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


@dataclass(frozen=True)
class Marker:
    # "pending" while a task is being started, "task" once it is, "failed" when starting
    # failed; "reply" on help and refusals.
    kind: str
    task_id: str | None = None
    workspace_id: str | None = None
    request: str | None = None
    url: str | None = None

    def render(self) -> str:
        data = {
            "task": self.task_id,
            "workspace": self.workspace_id,
            "request": self.request,
            "url": self.url,
        }
        compact = json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))
        return f"{MARKER_PREFIX}{self.kind} {compact} -->"


@dataclass(frozen=True)
class ThreadMarker:
    """A marker found in a thread, with the id of the comment that carries it."""

    comment_id: int
    marker: Marker


def find_markers(body: str) -> list[Marker]:
    found = []
    for kind, raw in MARKER.findall(body or ""):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        found.append(
            Marker(
                kind=kind,
                task_id=_text(data.get("task")),
                workspace_id=_text(data.get("workspace")),
                request=_text(data.get("request")),
                url=_text(data.get("url")),
            )
        )
    return found


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


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


STATUS_ICONS = {"running": "⏳", "completed": "✅", "failed": "❌", "canceled": "🚫"}


def status_text(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '⚠️')} {status}"


def _facts_table(facts: TaskFacts, status: str | None = None) -> str:
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
    if status is not None:
        rows.insert(0, ("Status", status_text(status)))
    if facts.share_url:
        rows.append(("Public link", facts.share_url))
    if facts.run_url:
        rows.append(("Workflow run", f"[{facts.run_url.rsplit('/', 1)[-1]}]({facts.run_url})"))
    lines = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    return "\n".join(lines)


def started_comment(facts: TaskFacts, request_key: str, *, status: str | None = None) -> str:
    """The answer; with ``status`` (when the run follows the task) a status row kept up to date."""
    if facts.continued:
        head = f"💬 **Sent to this thread's Rebyte task**: [watch it live]({facts.url})"
    else:
        head = f"🚀 **Rebyte task started**: [watch it live]({facts.url})"
    marker = Marker("task", facts.task_id, facts.workspace_id, request_key, facts.url)
    return f"{head}\n\n{_facts_table(facts, status)}\n\n{marker.render()}"


def check_run_text(facts: TaskFacts, status: str) -> tuple[str, str]:
    """The check run's title and summary."""
    title = f"Rebyte task {status}"[:200]
    summary = f"[Watch the task live]({facts.url})\n\n{_facts_table(facts, status)}"
    return title, summary


def pending_comment(requested_by: str, request_key: str, *, continuing: bool) -> str:
    """The answer's first form, posted before the (slow) start, so a re-run can tell it began."""
    what = "Sending this to the thread's Rebyte task" if continuing else "Starting a Rebyte task"
    who = f" for @{requested_by}" if requested_by else ""
    return f"⏳ **{what}**{who}…\n\n{Marker('pending', request=request_key).render()}"


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


def reply_comment(text: str) -> str:
    return f"{text}\n\n{Marker('reply').render()}"


def usage_comment(problem: str | None) -> str:
    head = f"⚠️ I could not read that command: {problem}.\n\n" if problem else ""
    return reply_comment(f"{head}Usage:\n\n```text\n{USAGE}\n```")


def permission_comment(login: str, have: str, need: str) -> str:
    return reply_comment(
        f"@{login}, starting a Rebyte task here needs **{need}** permission on this repository, "
        f"and you have **{have}**. A maintainer can start it for you."
    )


def fork_comment(head_repo: str) -> str:
    return reply_comment(
        f"This pull request comes from the fork `{head_repo}`, and this workflow does not start "
        "Rebyte tasks for pull requests from forks (its `allow-forks` input is off), so that code "
        "from outside the repository never runs on this repository's account."
    )


def summary(facts: TaskFacts | None, *, headline: str, detail: str = "") -> str:
    parts = [f"### Rebyte: {headline}"]
    if facts is not None:
        parts.append(f"Live URL: {facts.url}\n\n{_facts_table(facts)}")
    if detail:
        parts.append(detail)
    return "\n\n".join(parts) + "\n"
