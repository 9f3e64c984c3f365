"""The reconciler's part for fan-out groups: close what a group's run that did not wait left open.

A group's status comment shows several tasks, so it is redrawn whole (``group_report``) once
any of them ended, each ended task's check run is completed, and the request gets its final
reaction once all of them ended (🚀 only when every task completed and none failed to start).
As for single tasks, Rebyte's list tells which are still running, and only the others are read.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .decide import reaction_target
from .github import GitHub, GitHubError
from .group import GROUP, asked, member_of, overall, with_member
from .group_report import group_comment
from .group_track import close_check_run
from .rebyte import NotFoundError, RebyteClient, RebyteError
from .report import FINAL_STATUSES, STATUS_ICONS, Marker, TaskFacts, ThreadMarker, deleted_state, state_of

if TYPE_CHECKING:
    from .reconcile import _Row
    from .session import Session


def open_groups(markers: list[ThreadMarker], since: datetime) -> list[ThreadMarker]:
    """The group comments (trusted markers, asked for since ``since``) with a task not shown ended,
    oldest first."""
    found = [
        m
        for m in markers
        if m.marker.kind == GROUP
        and m.issue is not None
        and (m.created_at is None or m.created_at >= since)
        and any(t.status not in FINAL_STATUSES for t in asked(m.marker))
    ]
    return sorted(found, key=lambda m: m.comment_id)


def settle_groups(
    session: Session, github: GitHub, rebyte: RebyteClient, groups: list[ThreadMarker], now: datetime
) -> list[_Row]:
    """For each group comment: the tasks that ended shown ended; a summary row per open task."""
    from .reconcile import _Row, _still_running

    rows: list[_Row] = []
    wanted = {
        t.task_id for g in groups for t in asked(g.marker) if t.task_id and t.status not in FINAL_STATUSES
    }
    oldest = min((g.created_at for g in groups if g.created_at), default=None)
    running = _still_running(rebyte, {t for t in wanted if t}, oldest)
    for found in groups:
        group, ended = found.marker, False
        for member in asked(found.marker):
            if member.status in FINAL_STATUSES or not member.task_id:
                continue
            row = _Row(
                member.task_id, member.url or "", [found], was=member.status or "running (not followed)"
            )
            rows.append(row)
            if member.task_id in running:
                continue
            facts = TaskFacts.from_marker(member)
            try:
                state = state_of(rebyte.get_task(member.task_id), continued=facts.continued)
            except NotFoundError:
                state = deleted_state(now)
            except RebyteError as error:
                session.workflow.warning(f"Could not read task {member.task_id}: {error}")
                row.now = "unknown (Rebyte error)"
                continue
            if not state.is_final:
                continue
            row.now = f"{STATUS_ICONS[state.status]} {state.status}"
            updated = member_of(facts, state, member.check_run)
            group, ended = with_member(group, updated), True
            if member.check_run is not None:
                close_check_run(session, updated, state)
                row.wrote.append("check run")
            row.wrote.append("comment")
        if ended:
            _redraw(session, github, found, group)
    return rows


def _redraw(session: Session, github: GitHub, found: ThreadMarker, group: Marker) -> None:
    assert found.issue is not None
    first = asked(group)[0]
    try:
        github.edit_comment(
            found.issue,
            found.comment_id,
            group_comment(group, continued=TaskFacts.from_marker(first).continued),
        )
    except GitHubError as error:
        session.workflow.warning(f"Could not update the status comment: {error}")
    tasks = asked(group)
    if all(t.status in FINAL_STATUSES for t in tasks):
        complete = overall([t.status or "" for t in tasks]) == "completed" and not any(
            m.kind in ("failed", "unknown") for m in group.members
        )
        on_issue, on_comment, review = reaction_target(group.request, found.issue)
        try:
            github.react(
                "rocket" if complete else "confused", issue=on_issue, comment_id=on_comment, review=review
            )
        except GitHubError as error:
            session.workflow.warning(f"Could not set the final reaction: {error}")
