"""``status``, ``share`` and ``cancel`` in a thread whose work is a fan-out group: each acts on
every task of the group, and one reply lists them side by side."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ..decide import describe_rebyte_error, reaction_target
from ..github import GitHubError
from ..group import alive, asked, executor_of, member_of, overall, started, with_member
from ..group_report import group_cancel_comment, group_comment, group_share_comment, group_status_comment
from ..group_track import close_check_run
from ..rebyte import NotFoundError, RebyteError, Task
from ..report import FINAL_STATUSES, HEADINGS, Marker, TaskFacts, TaskState, ThreadMarker
from ..session import EXIT_OK, Session


def _asker(session: Session) -> tuple[str, str | None, str]:
    trigger = session.trigger
    assert trigger is not None
    return trigger.actor.login, trigger.comment.url if trigger.comment else None, trigger.request_key


def _report(session: Session, group: Marker) -> None:
    session.outcome.group = group
    tasks = started(group)
    session.outcome.facts = TaskFacts.from_marker(tasks[0]) if tasks else None


def status(session: Session, found: ThreadMarker) -> int:
    """GET /v1/tasks/{id} for each task of the group, and one reply with what they say."""
    asker, request_url, key = _asker(session)
    _report(session, found.marker)
    seen: list[tuple[str, Task | None]] = []
    with session.rebyte() as rebyte:
        for member in started(found.marker):
            assert member.task_id is not None
            try:
                seen.append((executor_of(member), rebyte.get_task(member.task_id)))
            except NotFoundError:
                seen.append((executor_of(member), None))
            except RebyteError as error:
                return session.fail("Could not read the thread's Rebyte tasks", describe_rebyte_error(error))
    statuses = [task.status.value if task else "canceled" for _, task in seen]
    session.outcome.status = overall(statuses) if statuses else ""
    session.outcome.headline = "status: " + ", ".join(
        f"{e} {s}" for (e, _), s in zip(seen, statuses, strict=True)
    )
    session.reply(group_status_comment(seen, asker, request_url, key))
    return EXIT_OK


def share(session: Session, found: ThreadMarker) -> int:
    """PATCH /v1/tasks/{id}/visibility public for each live task; the reply and the group's
    status comment get the links."""
    asker, request_url, key = _asker(session)
    group = found.marker
    _report(session, group)
    links: list[tuple[str, str, str]] = []
    with session.rebyte() as rebyte:
        for member in alive(group):
            assert member.task_id is not None
            facts = TaskFacts.from_marker(member)
            try:
                change = rebyte.set_visibility(member.task_id, "public")
            except NotFoundError:
                session.workflow.warning(
                    f"Task {member.task_id} ({executor_of(member)}) was deleted on Rebyte"
                )
                continue
            except RebyteError as error:
                return session.fail("Could not share the thread's Rebyte tasks", describe_rebyte_error(error))
            share_url = change.share_url or facts.url
            links.append((executor_of(member), share_url, facts.url))
            group = with_member(group, replace(member, facts=replace(facts, share_url=share_url).to_marker()))
    _report(session, group)
    session.outcome.headline = f"{len(links)} tasks shared"
    session.reply(group_share_comment(links, asker, request_url, key))
    github = session.github
    if session.issue is not None and github is not None:
        continued = bool(asked(group)) and TaskFacts.from_marker(asked(group)[0]).continued
        try:
            github.edit_comment(session.issue, found.comment_id, group_comment(group, continued=continued))
        except GitHubError as error:
            session.workflow.warning(f"Could not add the share links to the status comment: {error}")
    return EXIT_OK


def cancel(session: Session, found: ThreadMarker, markers: list[ThreadMarker]) -> int:
    """DELETE /v1/tasks/{id} for each live task; every open group comment showing them (and their
    check runs) ends canceled, with 😕 on the request once all of that comment's tasks ended."""
    asker, request_url, key = _asker(session)
    _report(session, found.marker)
    done: list[tuple[str, str, bool]] = []
    ids: set[str] = set()
    with session.rebyte() as rebyte:
        for member in alive(found.marker):
            assert member.task_id is not None
            gone = False
            try:
                rebyte.delete_task(member.task_id)
            except NotFoundError:
                gone = True
            except RebyteError as error:
                return session.fail(
                    "Could not cancel the thread's Rebyte tasks", describe_rebyte_error(error)
                )
            done.append((executor_of(member), member.url or "", gone))
            ids.add(member.task_id)
    now = datetime.now(UTC)
    for open_one in markers:
        if open_one.marker.kind == "group":
            ended = _end_canceled(session, open_one, ids, asker, now)
            if open_one.comment_id == found.comment_id:
                _report(session, ended)
    session.outcome.status = "canceled"
    session.outcome.headline = f"{len(done)} tasks canceled"
    session.reply(group_cancel_comment(done, asker, request_url, key))
    return EXIT_OK


def _end_canceled(session: Session, found: ThreadMarker, ids: set[str], asker: str, now: datetime) -> Marker:
    """Show the canceled tasks of one group comment as canceled (comment, check runs, reaction);
    the group as it now stands."""
    group = found.marker
    changed = False
    for member in group.members:
        if member.task_id not in ids or member.status in FINAL_STATUSES:
            continue
        started_at = member.state.started_at if member.state else None
        state = TaskState("canceled", f"canceled by @{asker}", started_at, now)
        updated = replace(member_of(TaskFacts.from_marker(member), state, member.check_run), kind=member.kind)
        group = with_member(group, updated)
        changed = True
        if member.kind == "task":
            close_check_run(session, updated, state)
    github = session.github
    if not changed or github is None or session.issue is None:
        return group
    continued = bool(asked(group)) and TaskFacts.from_marker(asked(group)[0]).continued
    try:
        github.edit_comment(session.issue, found.comment_id, group_comment(group, continued=continued))
    except GitHubError as error:
        session.workflow.warning(f"Could not update the status comment: {error}")
    if asked(group) and all(m.status in HEADINGS for m in asked(group)):
        on_issue, on_comment, review = reaction_target(group.request, session.issue)
        try:
            github.react("confused", issue=on_issue, comment_id=on_comment, review=review)
        except GitHubError as error:
            session.workflow.warning(f"Could not set the confused reaction: {error}")
    return group
