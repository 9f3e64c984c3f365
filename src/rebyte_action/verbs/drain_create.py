"""Creating the task(s) of a queued request once its claim won: one task, or a fan-out's group.

    [POST /v1/files + PUT, per attachment]  →  POST /v1/tasks (per executor)
      →  [GET the branch's head, POST a check run per task]  →  the started (or group) answer's body

The request is not this run's trigger: its plan, requester and request URL come from the queued
answer's marker (``queue.unpack_plan``, ``facts.by``, ``facts.req``), and its attachments from the
links in the request's part of the queued prompt. ``drain.py`` claims, writes the body and deletes
the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import attachments
from ..attachments import Gathered, find_attachments
from ..decide import Plan, reaction_target
from ..github import GitHub, GitHubError
from ..group import group_of
from ..group_report import group_comment
from ..prompt import CONTEXT_INTRO, files_note
from ..queue import Waiting, unpack_executors
from ..rebyte import LimitExceededError, RebyteClient
from ..rebyte.limits import MAX_PROMPT_CHARS
from ..report import RUNNING, TaskFacts, ThreadMarker, started_comment
from ..session import Session
from ..track import open_check_run
from . import follow_up
from .fan_out import as_members, create_each, open_check_runs


@dataclass(frozen=True)
class Started:
    """What a drained request became: its answer's new body and the tasks it started (none when
    every create of a fan-out failed; the body then says why, with 😕 on the request)."""

    body: str
    tasks: tuple[tuple[str, str], ...]  # (task id, live URL)


def create_queued(
    session: Session,
    github: GitHub,
    rebyte: RebyteClient,
    waiting: Waiting,
    plan: Plan,
    joined: ThreadMarker | None = None,
) -> Started:
    """Start the queued request ``waiting`` (``plan`` read back from its marker); a fan-out (its facts
    carry ``executors``) starts a task per executor, and one failed create does not stop the others.
    ``joined``: the task its thread has by now (an earlier queued request of the thread started),
    which the request is sent to as a follow-up instead (no VM; a new task if it is gone).

    Raises :class:`LimitExceededError` when Rebyte refused at once and nothing started (it stays
    queued), :class:`RebyteError` when a single task's create failed.
    """
    facts = waiting.found.marker.facts or {}
    executors = unpack_executors(facts)
    asker = (str(facts.get("by") or ""), facts["req"] if isinstance(facts.get("req"), str) else None)
    if not executors:
        task = follow_up.send(session, rebyte, plan, joined, asker) if joined is not None else None
        if task is None:  # files only when a task starts (Rebyte takes none with a follow-up)
            task = _create(session, rebyte, plan, _gather(session, rebyte, plan), asker)
        how = "continued" if task.continued else "started"
        session.workflow.log(
            f"Rebyte task {task.task_id} {how} for queued request {waiting.request}: {task.url}"
        )
        check_run = None
        if session.settings.check_run:
            head = head_sha(session, github, plan, facts)
            check_run = open_check_run(github, session.workflow, task, head, handed_over=True)
        body = started_comment(
            task, waiting.request, state=RUNNING if check_run else None, check_run=check_run
        )
        return Started(body, ((task.task_id, task.url),))
    gathered = _gather(session, rebyte, plan)  # once, for every task
    results = create_each(
        session, plan, executors, lambda one: _create(session, rebyte, one, gathered, asker)
    )
    refused = [r for r in results if isinstance(r, LimitExceededError)]
    if len(refused) == len(executors):
        raise refused[0]  # Rebyte's account limit, before any task: the request keeps waiting
    members = as_members(session, executors, results)
    tasks = [m for m in members if isinstance(m, TaskFacts)]
    session.workflow.log(
        f"{len(tasks)} of {len(executors)} Rebyte tasks started for queued request {waiting.request}"
    )
    head = head_sha(session, github, plan, facts) if tasks and session.settings.check_run else None
    done = open_check_runs(session, members, head, following=False)
    if len(tasks) < len(executors):
        _confused(session, github, waiting)
    return Started(group_comment(group_of(waiting.request, done)), tuple((t.task_id, t.url) for t in tasks))


def head_sha(session: Session, github: GitHub, plan: Plan, facts: dict[str, Any]) -> str | None:
    """The commit to hang a drained task's check run on: the head of the task's branch now (GET),
    the commit the task starts from (and, on a pull request, the one its checks show). When GitHub
    cannot tell (a branch since deleted, a fork the token cannot read), the commit the request was
    made on (``facts.sha``), if the queued answer recorded one."""
    try:
        return github.branch_head(plan.github_url, plan.branch)
    except GitHubError as error:
        stored = facts.get("sha")
        fallback = stored if isinstance(stored, str) and stored else None
        where = f"commit {fallback[:12]}, the one it was asked on" if fallback else "no commit"
        session.workflow.warning(
            f"Could not read the head of branch {plan.branch} for the check run ({error}); using {where}"
        )
        return fallback


def _gather(session: Session, rebyte: RebyteClient, plan: Plan) -> Gathered:
    """The attachments linked in the request's part of the queued prompt, fetched and uploaded once
    (for every task of a fan-out); none when the ``attachments`` input is off."""
    if not session.settings.attachments:
        return Gathered()
    request = plan.prompt.partition(CONTEXT_INTRO)[0]
    links = find_attachments(request, session.settings.server_url)
    return attachments.gather(session, rebyte, links) if links else Gathered()


def _create(
    session: Session,
    rebyte: RebyteClient,
    plan: Plan,
    gathered: Gathered,
    asker: tuple[str, str | None],
) -> TaskFacts:
    """POST /v1/tasks, once, with the files (``start._create``, with the queued prompt and asker)."""
    from .start import _create as create  # start imports the queue's modules

    return create(session, rebyte, plan, gathered, prompt=_prompt(plan.prompt, gathered), asker=asker)


def _prompt(prompt: str, gathered: Gathered) -> str:
    """The queued prompt with the files named right after the request, as a new request's prompt
    names them (the context after it is cut to fit, never the request)."""
    if not (gathered.attached or gathered.not_attached):
        return prompt
    request, intro, context = prompt.partition(CONTEXT_INTRO)
    missing = [(item.link, item.reason) for item in gathered.not_attached]
    return (request + files_note(gathered.attached, missing) + intro + context)[:MAX_PROMPT_CHARS]


def _confused(session: Session, github: GitHub, waiting: Waiting) -> None:
    """😕 on the request of a fan-out whose tasks did not all start (as its own run would)."""
    on_issue, on_comment, review = reaction_target(waiting.request, waiting.issue)
    try:
        github.react("confused", issue=on_issue, comment_id=on_comment, review=review)
    except GitHubError as error:
        session.workflow.warning(f"Could not set the confused reaction: {error}")


__all__ = ["Started", "create_queued", "head_sha"]
