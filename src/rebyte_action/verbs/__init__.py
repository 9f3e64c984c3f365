"""What a request asks for, one module per verb, each with one entry function.

``dispatch`` only routes: the command is already read and the sender authorised.

    start      a new task for the request             verbs/start.py
    continue   the request sent to the thread's task  verbs/follow_up.py
    re-run     a request already answered             verbs/rerun.py
    status     the thread's task, read                verbs/status.py
    share      the thread's task made public          verbs/share.py
    cancel     the thread's task stopped              verbs/cancel.py
    help       the usage                              verbs/help.py
    fan-out    a task per executor, and the group's   verbs/fan_out.py, verbs/group_verbs.py
               later requests, status, share, cancel
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from ..commands import Command
from ..decide import Plan, Target, choose_branch, latest, latest_task, make_plan, wants_fresh_task
from ..group import GROUP, is_group, latest_work, route
from ..session import REQUEST_LEAK_WARNING, Session
from . import cancel, fan_out, group_verbs, help, rerun, share, start, status


def dispatch(session: Session, command: Command, payload: dict[str, Any], target: Target) -> int:
    """Run the verb ``command`` asks for; a prompt starts a task or continues the thread's."""
    if command.help:
        session.acknowledge()
        return help.run(session)
    settings, trigger, github = session.settings, session.trigger, session.github
    assert trigger is not None and github is not None
    markers = github.thread_markers(session.issue) if session.issue is not None else []
    earlier = latest(m for m in markers if m.marker.request == trigger.request_key)
    session.acknowledge(answered=earlier is not None)
    work = latest_work(markers)
    if is_group(work) and command.verb in ("status", "share", "cancel"):
        assert work is not None
        if command.verb == "status":
            return group_verbs.status(session, work)
        if command.verb == "share":
            return group_verbs.share(session, work)
        return group_verbs.cancel(session, work, markers)
    if command.verb == "status":
        return status.run(session, latest_task(markers), markers)
    if command.verb == "share":
        return share.run(session, latest_task(markers))
    if command.verb == "cancel":
        return cancel.run(session, latest_task(markers), markers)
    branch = choose_branch(
        command,
        setting=settings.branch,
        target=target,
        event_ref=payload.get("ref"),
        run_ref=settings.ref,
        default=trigger.default_branch,
    )
    github_url = target.head_repo if (target.from_fork and target.head_repo) else session.repository
    plan = make_plan(
        trigger,
        command,
        branch=branch,
        github_url=github_url,
        executor=settings.executor,
        model=settings.model,
        skills=settings.skills,
        visibility=settings.visibility,
    )
    plan = _without_secrets(session, plan)
    if earlier is not None and earlier.marker.kind == "pending" and settings.run_attempt <= 1:
        earlier = rerun.await_other_run(session, earlier, start.STALE_PENDING)  # delivered twice
    if earlier is not None:  # a re-run of this request
        if earlier.marker.kind == GROUP and fan_out.starts_none(earlier):
            return fan_out.rerun(session, earlier, target)
        if earlier.marker.kind == "task" and earlier.marker.task_id:
            return rerun.already_started(session, earlier, plan, target)
        if earlier.marker.kind in ("queued", "dropped"):  # waiting in the queue, or dropped from it
            where = (
                "it waits in the queue"
                if earlier.marker.kind == "queued"
                else "it was dropped from the queue"
            )
            return session.skip(f"this request was answered already: {where}")
        if earlier.marker.kind in ("pending", "unknown"):  # a task may exist: never pay twice
            return rerun.outcome_unknown(session, earlier)
        session.answer.adopt(earlier.comment_id)  # it failed before: try again in the same comment
    if command.executors:
        return fan_out.start(session, plan, target, command.executors)
    if work is not None and is_group(work) and trigger.kind != "direct":
        to = route(command, work.marker)  # the group's tasks (all, or the one named), or a fresh start
        if isinstance(to, list):
            return fan_out.send(session, plan, target, work, to)
    # A direct prompt is a workflow step's own job, not a turn in the thread's conversation:
    # two such steps in one run start a task each.
    fresh = wants_fresh_task(command) or trigger.kind == "direct" or is_group(work)
    continue_from = None if fresh else latest_task(markers)
    if continue_from is not None and continue_from.marker.status == "canceled":
        continue_from = None  # canceled (deleted on Rebyte): the thread starts over
    return start.run(session, plan, target, continue_from, fresh=fresh)


def _without_secrets(session: Session, plan: Plan) -> Plan:
    """``plan`` with the step's Rebyte key and GitHub token replaced by ``***`` wherever the
    request wrote them: they are the asker's words, but never sent to Rebyte or shown back."""
    changes: dict[str, Any] = {}
    for item in fields(plan):
        value = getattr(plan, item.name)
        if isinstance(value, str) and session.scrub(value) != value:
            changes[item.name] = session.scrub(value)
        elif isinstance(value, tuple) and any(session.scrub(v) != v for v in value):
            changes[item.name] = tuple(session.scrub(v) for v in value)
    if not changes:
        return plan
    session.workflow.warning(REQUEST_LEAK_WARNING)
    return replace(plan, **changes)
