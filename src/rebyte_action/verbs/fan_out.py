"""Fan-out: one request, a task per executor side by side; and later requests sent to the group.

    ⏳ pending answer  →  POST /v1/tasks per executor  →  [check run each]  →  group answer  →  [follow all]

A create that fails does not stop the others; its row says why, in the words a single
failure gets. The step fails when any task could not be started (or, when it waits, when
any did not complete). A re-run of the request finds the group's marker and starts none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .. import attachments
from ..decide import Plan, Target
from ..group import (
    as_single,
    asked,
    executor_of,
    failed_member,
    group_of,
    member_of,
    overall,
    started,
    with_member,
)
from ..group_report import check_run_name, group_comment
from ..group_track import follow_group
from ..rebyte import LimitExceededError, RebyteClient, RebyteError
from ..report import RUNNING, Marker, TaskFacts, ThreadMarker
from ..session import EXIT_FAILED, EXIT_OK, Session
from ..track import open_check_run
from . import follow_up, queued
from .start import _create, _set_visibility, failure_words


def start(session: Session, plan: Plan, target: Target, executors: Sequence[str]) -> int:
    """POST /v1/tasks once per executor (same prompt and branch), answer with them side by side.

    The limits count a place per task; when Rebyte refuses every one (429 ``limit_exceeded``) and
    the queue is on, the whole request waits in the queue.
    """
    session.answer.pending(continuing=False, places=len(executors))
    results: list[TaskFacts | RebyteError] = []
    with session.rebyte() as rebyte:
        held = queued.gate(session, rebyte, plan, target, tuple(executors))
        if isinstance(held, int):
            return held
        gathered = attachments.gather(session, rebyte)  # downloaded and uploaded once, for every task
        results = create_each(
            session, plan, executors, lambda one: _create(session, rebyte, one, gathered), rebyte=rebyte
        )
        refused = [r for r in results if isinstance(r, LimitExceededError)]
        if len(refused) == len(executors) and session.limits.queue and session.issue is not None:
            why = f"Rebyte refused to start a task: {refused[0].message}"
            return queued.hold(session, plan, why, target, executors=tuple(executors))
        members = as_members(session, executors, results)
        return _answer(session, rebyte, members, target, continued=False)


def create_each(
    session: Session,
    plan: Plan,
    executors: Sequence[str],
    create: Callable[[Plan], TaskFacts],
    *,
    rebyte: RebyteClient | None = None,
) -> list[TaskFacts | RebyteError]:
    """A task per executor, in order: ``create`` POSTs one (``plan`` with that executor); a create
    that fails gives its :class:`RebyteError` and the others go on (see :func:`as_members`).

    With ``rebyte``, the plan's visibility is set on each task (a failure is a reply in the
    thread, so only for a request that is this run's trigger)."""
    results: list[TaskFacts | RebyteError] = []
    for executor in executors:
        try:
            facts = create(replace(plan, executor=executor))
        except RebyteError as error:
            results.append(error)
            continue
        session.workflow.log(f"Rebyte task {facts.task_id} started ({executor}): {facts.url}")
        if plan.visibility and rebyte is not None:
            facts = _set_visibility(session, rebyte, facts, plan.visibility)
        results.append(facts)
    return results


def as_members(
    session: Session, executors: Sequence[str], results: Sequence[TaskFacts | RebyteError]
) -> list[Marker | TaskFacts]:
    """The group's members from :func:`create_each`'s results: a failed member (its error in the
    log, in the words a single failure gets) for each create that failed."""
    return [
        _failed(session, executor, r, "start") if isinstance(r, RebyteError) else r
        for executor, r in zip(executors, results, strict=True)
    ]


def open_check_runs(
    session: Session, members: Sequence[Marker | TaskFacts], head_sha: str | None, *, following: bool
) -> list[Marker]:
    """The group's members: a check run opened (POST, ``Rebyte (<executor>)``) for each task that
    exists when ``check-run`` is on; a task's row shows "running" when it is followed or has one."""
    done: list[Marker] = []
    for item in members:
        if isinstance(item, Marker):
            done.append(item)
            continue
        check_run = None
        if session.settings.check_run:
            check_run = open_check_run(
                session.github,
                session.workflow,
                item,
                head_sha,
                handed_over=not following,
                name=check_run_name(item.executor or "?"),
            )
        done.append(member_of(item, RUNNING if following or check_run else None, check_run))
    return done


def send(session: Session, plan: Plan, target: Target, found: ThreadMarker, to: Sequence[Marker]) -> int:
    """POST the prompt to each task of the thread's group in ``to``; the others stay in the group."""
    session.answer.pending(continuing=True)
    chosen = {m.task_id for m in to}
    members: list[Marker | TaskFacts] = []
    with session.rebyte() as rebyte:
        for member in started(found.marker):
            executor = executor_of(member)
            if member.task_id not in chosen:
                members.append(replace(member, kind="member"))
                continue
            try:
                facts = follow_up.send(session, rebyte, plan, as_single(found, member))
            except RebyteError as error:
                members.append(
                    replace(
                        _failed(session, executor, error, "send"),
                        task_id=member.task_id,
                        url=member.url,
                        workspace_id=member.workspace_id,
                        facts=member.facts,
                    )
                )
                continue
            if facts is None:  # 404: deleted on Rebyte
                why = "not sent: the task was deleted on Rebyte"
                members.append(replace(member, kind="failed", status="canceled", detail=why))
                continue
            session.workflow.log(f"Rebyte task {facts.task_id} continued ({executor}): {facts.url}")
            if plan.visibility:  # as for one task: the request's visibility applies to each
                facts = _set_visibility(session, rebyte, facts, plan.visibility)
            members.append(facts)
        return _answer(session, rebyte, members, target, continued=True)


def _failed(session: Session, executor: str, error: RebyteError, doing: str) -> Marker:
    what, detail, kind = failure_words(error)
    if doing == "send":
        what = what.replace("start the task", "take the prompt")
    elif isinstance(error, LimitExceededError):  # the others started: this one is not queued
        phrase = session.settings.trigger_phrase
        detail += f" Ask for it again once a task ends: `{phrase} --new --executor {executor} <prompt>`."
    session.workflow.error(f"{executor}: {what}: {detail}")
    return failed_member(executor, f"{what}: {detail}", kind=kind)


def _answer(
    session: Session,
    rebyte: RebyteClient,
    members: Sequence[Marker | TaskFacts],
    target: Target,
    *,
    continued: bool,
) -> int:
    """Check runs for the tasks that exist, the group answer, then follow them when the step waits."""
    settings, trigger, outcome = session.settings, session.trigger, session.outcome
    assert trigger is not None
    following = settings.following
    done = open_check_runs(session, members, target.head_sha or settings.sha or None, following=following)
    group = group_of(trigger.request_key, done)
    outcome.group = group
    first = next((m for m in asked(group)), None)
    outcome.facts = TaskFacts.from_marker(first) if first else None
    outcome.status = "running" if first else ""
    failed = [m for m in group.members if m.kind in ("failed", "unknown")]
    verb = "continued" if continued else "started"
    outcome.headline = f"{len(asked(group))} of {len(asked(group)) + len(failed)} tasks {verb}"
    session.answer.write(group_comment(group, continued=continued))
    if first is None:
        outcome.failed = True
        session.react("confused")
        return EXIT_FAILED
    if following:
        code = follow_group(session, rebyte, group, continued=continued)
        return EXIT_FAILED if failed else code
    if failed:
        outcome.failed = True
        session.react("confused")
        return EXIT_FAILED
    return EXIT_OK


def starts_none(found: ThreadMarker) -> bool:
    """Whether a re-run of the request that answered with ``found``'s group must start nothing:
    true unless every create failed outright (then it tries again, in the same comment)."""
    return any(m.task_id or m.kind == "unknown" for m in found.marker.members)


def rerun(session: Session, found: ThreadMarker, target: Target) -> int:
    """The request already has its group: report it as its answer last showed it, start nothing,
    and follow its tasks (GET each) when the step waits."""
    group = found.marker
    session.workflow.log(f"This request already started its tasks (comment {found.comment_id})")
    session.answer.adopt(found.comment_id)
    outcome, settings = session.outcome, session.settings
    outcome.group = group
    tasks = asked(group)
    outcome.facts = TaskFacts.from_marker(tasks[0]) if tasks else None
    outcome.headline = "already started by an earlier attempt of this run; nothing new started"
    continued = bool(outcome.facts and outcome.facts.continued)
    if not settings.following or not tasks:
        outcome.status = overall([m.status or "running" for m in tasks])
        outcome.detail = "Statuses as last reported in the answer; not read again."
        return EXIT_OK
    if settings.check_run:
        for member in tasks:
            if member.check_run is None:
                check_run = open_check_run(
                    session.github,
                    session.workflow,
                    TaskFacts.from_marker(member),
                    target.head_sha or settings.sha or None,
                    handed_over=False,
                    name=check_run_name(executor_of(member)),
                )
                group = with_member(group, replace(member, check_run=check_run))
    with session.rebyte() as rebyte:
        return follow_group(session, rebyte, group, continued=continued)
