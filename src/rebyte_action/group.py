"""A fan-out group: one request's tasks, one per executor, as plain data and pure decisions.

``/rebyte --executor claude,codex <prompt>`` starts a task per executor. Their answer comment
carries one hidden ``group`` marker (``report.Marker`` with ``members``), a member per executor:

    task     a task this request started or sent its prompt to
    member   a task of the group this request did not go to (``--executor NAME`` picked another);
             kept so that later requests still find the whole group
    failed   a task that could not be started (``detail`` says why; no task id: nothing exists),
             or, with its task id, one the request could not be sent to
    unknown  Rebyte's answer was lost: a task (or a prompt) may have been taken, so it is not
             sent again

Every member keeps its executor in ``facts``, and a started one its task id, workspace, URL,
status and check run, like a single task's marker. Single-task markers stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Literal

from .commands import Command
from .report import FINAL_STATUSES, Marker, TaskFacts, TaskState, ThreadMarker, task_marker

GROUP = "group"
# The group's one status, from its tasks': the worst wins.
SEVERITY = ("failed", "lost track", "canceled", "timed out", "running", "completed")


def executor_of(member: Marker) -> str:
    """The member's executor (every member names one)."""
    value = (member.facts or {}).get("executor")
    return value if isinstance(value, str) else "?"


def is_group(found: ThreadMarker | None) -> bool:
    return found is not None and found.marker.kind == GROUP


def started(group: Marker) -> list[Marker]:
    """The members that are tasks, whether or not this request reached them: the whole group."""
    return [m for m in group.members if m.task_id]


def asked(group: Marker) -> list[Marker]:
    """The members this comment's request went to and that exist: the ones it shows and follows."""
    return [m for m in group.members if m.kind == "task" and m.task_id]


def alive(group: Marker) -> list[Marker]:
    """The started members not canceled: where a later request in the thread goes."""
    return [m for m in started(group) if m.status != "canceled"]


def latest_work(markers: Iterable[ThreadMarker]) -> ThreadMarker | None:
    """The thread's newest answer that names a task: a single task's marker or a group's."""
    candidates = [
        m
        for m in markers
        if (m.marker.kind == "task" and m.marker.task_id) or (m.marker.kind == GROUP and started(m.marker))
    ]
    return max(candidates, key=lambda m: m.comment_id, default=None)


def as_single(found: ThreadMarker, member: Marker) -> ThreadMarker:
    """One member as a single task's thread marker (same comment, the group's request)."""
    return replace(found, marker=replace(member, kind="task", request=found.marker.request, members=()))


def member_of(facts: TaskFacts, state: TaskState | None, check_run: int | None, kind: str = "task") -> Marker:
    """A started member: the task's facts, the state its row shows, its check run."""
    return replace(task_marker(facts, None, state, check_run), kind=kind)


def failed_member(executor: str, why: str, *, kind: str = "failed") -> Marker:
    """A member whose task could not be started (``kind`` "unknown": it may exist)."""
    return Marker(kind, facts={"executor": executor}, detail=why)


def with_member(group: Marker, member: Marker) -> Marker:
    """``group`` with the member for the same task (or executor) replaced by ``member``."""

    def same(old: Marker) -> bool:
        if member.task_id:
            return old.task_id == member.task_id
        return executor_of(old) == executor_of(member)

    return replace(group, members=tuple(member if same(m) else m for m in group.members))


Route = Literal["fresh"] | list[Marker]


def route(command: Command, group: Marker) -> Route:
    """Where a prompt in a thread whose work is ``group`` goes: the members to send it to, or
    "fresh" for a task (or group) of its own.

    ``--executor NAME`` naming a live member picks it alone; a list of executors, ``--new``,
    ``--model``, ``--branch`` or an executor outside the group start anew, as in a thread with
    one task. A group whose tasks were all canceled starts anew too.
    """
    if command.executors or command.new or command.model or command.branch:
        return "fresh"
    live = alive(group)
    if command.executor:
        picked = [m for m in live if executor_of(m) == command.executor]
        return picked or "fresh"
    return live or "fresh"


def overall(statuses: Sequence[str]) -> str:
    """The group's status from its tasks' (``running`` for none): the worst of them."""
    known = [s for s in statuses if s in SEVERITY]
    return min(known, key=SEVERITY.index) if known else "running"


def all_final(members: Sequence[Marker]) -> bool:
    return bool(members) and all(m.status in FINAL_STATUSES for m in members)


def group_of(request: str | None, members: Sequence[Marker]) -> Marker:
    return Marker(GROUP, request=request, members=tuple(members))
