"""Start a task for a request (or send it to the thread's task), answer with its URL, follow it if asked.

⏳ pending answer  →  POST /v1/tasks (or a follow-up)  →  🚀 started answer  →  [follow]
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from .. import attachments
from ..decide import Plan, Target, describe_rebyte_error, may_have_taken_effect, whose_turn
from ..group import is_group, latest_work
from ..rebyte import LimitExceededError, RebyteClient, RebyteError, TransportError
from ..replies import addressed, reply_comment
from ..report import RUNNING, TaskFacts, ThreadMarker
from ..session import EXIT_OK, Session
from ..track import follow, open_check_run
from . import follow_up, queued, rerun

STALE_PENDING = timedelta(minutes=15)  # a pending answer older than this was abandoned by its run
MAX_PAUSE = 5.0  # seconds between looks while waiting for an earlier request's task


def run(
    session: Session, plan: Plan, target: Target, continue_from: ThreadMarker | None = None, *, fresh: bool
) -> int:
    """Create the task (or continue ``continue_from``'s), answer, and follow it when the step waits.

    A request that would start the thread's first task, and finds (after posting its pending
    answer) an earlier request racing it, waits for that one's task and continues it instead.
    """
    session.answer.pending(continuing=bool(continue_from))
    if continue_from is None and not fresh and session.issue is not None:
        turn = _take_turn(session)
        if turn == "duplicate":
            return rerun.delivered_twice(session)
        if turn is None:
            return session.fail(
                "Not started: an earlier request in this thread is still starting its task",
                f"Another request in this thread was starting a Rebyte task when this one came, so "
                f"this one was to be sent to that task; it did not appear within "
                f"{session.settings.race_seconds:g} seconds. Nothing was started, so that nothing is "
                "paid for twice: ask again once that request is answered.",
            )
        continue_from = turn if isinstance(turn, ThreadMarker) else None
    with session.rebyte() as rebyte:
        creating = False
        try:
            facts = follow_up.send(session, rebyte, plan, continue_from) if continue_from else None
            if facts is None:  # a new task: limits and the queue apply (never to a follow-up)
                creating = True
                held = queued.gate(session, rebyte, plan, target, fresh=fresh)
                if isinstance(held, int):
                    return held
                if held is not None:  # this thread's queued request started just now: join it
                    facts = follow_up.send(session, rebyte, plan, held)
                if facts is None:
                    facts = _create(session, rebyte, plan)
        except LimitExceededError as error:
            if creating and session.limits.queue and session.issue is not None:
                why = f"Rebyte refused to start a task: {error.message}"
                return queued.hold(session, plan, why, target, fresh=fresh)
            return rebyte_failed(session, error)
        except RebyteError as error:
            return rebyte_failed(session, error)
        session.outcome.facts = facts
        session.outcome.status = "running"
        session.outcome.headline = "task continued" if facts.continued else "task started"
        session.workflow.log(
            f"Rebyte task {facts.task_id} {'continued' if facts.continued else 'started'}: {facts.url}"
        )
        if plan.visibility:
            session.outcome.facts = facts = _set_visibility(session, rebyte, facts, plan.visibility)
        settings = session.settings
        following = settings.following
        check_run = None
        if settings.check_run:  # opened before the answer, so that the answer's marker records it
            head_sha = target.head_sha or settings.sha or None
            check_run = open_check_run(
                session.github, session.workflow, facts, head_sha, handed_over=not following
            )
        session.answer.started(facts, state=RUNNING if following or check_run else None, check_run=check_run)
        if not following:
            return EXIT_OK
        return follow(session, rebyte, facts, target, check_run)


def _take_turn(session: Session) -> ThreadMarker | bool | Literal["duplicate"] | None:
    """Re-read the thread (GET its comments) until it is this request's turn: the thread's task to
    continue, True to start one, None when an earlier request's task never came, or "duplicate"
    when another run answers this same request."""
    settings, trigger, github = session.settings, session.trigger, session.github
    assert trigger is not None and github is not None and session.issue is not None
    mine = session.answer.comment_id
    if mine is None:
        return True
    deadline = time.monotonic() + settings.race_seconds
    pause = settings.poll_seconds
    while True:
        markers = github.thread_markers(session.issue)
        if is_group(latest_work(markers)):  # a fan-out answered meanwhile: no single task to join
            return True
        turn = whose_turn(
            markers,
            mine=mine,
            request=trigger.request_key,
            now=datetime.now(UTC),
            stale_after=STALE_PENDING,
        )
        if turn == "start":
            return True
        if turn == "duplicate" or isinstance(turn, ThreadMarker):
            return turn
        if time.monotonic() >= deadline:
            return None
        session.workflow.log("An earlier request in this thread is starting its task: waiting to join it")
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(MAX_PAUSE, pause * 1.5)


def task_facts(
    session: Session,
    plan: Plan,
    task_id: str,
    url: str,
    workspace_id: str,
    *,
    continued: bool,
    asker: tuple[str, str | None] | None = None,
) -> TaskFacts:
    """What the answer says about a task: the plan, who asked, where the request and the run are.

    ``asker`` is (login, request URL) when the request is not this run's trigger (a queued one).
    """
    if asker is None:
        trigger = session.trigger
        assert trigger is not None
        request_url = (
            trigger.comment.url if trigger.comment else (trigger.subject.url if trigger.subject else None)
        )
        asker = (trigger.actor.login, request_url)
    requested_by, request_url = asker
    return TaskFacts(
        task_id=task_id,
        url=url,
        workspace_id=workspace_id,
        branch=plan.branch,
        repository=plan.github_url,
        executor=plan.executor,
        model=plan.model,
        skills=plan.skills,
        requested_by=requested_by,
        request_url=request_url,
        run_url=session.settings.run_url,
        continued=continued,
    )


def rebyte_failed(session: Session, error: RebyteError) -> int:
    """Say why nothing started; when a task may exist anyway, say where to look and send nothing again."""
    what, detail, kind = failure_words(error)
    return session.fail(what, detail, kind=kind)


def failure_words(error: RebyteError) -> tuple[str, str, str]:
    """A failed start in words: (what failed, why and what to do, the marker's kind).

    The kind is "unknown" when the request may have started a task anyway (a re-run then starts
    none), "failed" otherwise.
    """
    if may_have_taken_effect(error):
        what = "Rebyte did not answer clearly"
        detail = (
            "The request reached Rebyte, but the answer was lost or broken, so the task may have "
            "started. It was not sent again, so that nothing is paid for twice: look for it at "
            f"https://app.rebyte.ai before asking again. ({describe_rebyte_error(error)})"
        )
        return what, detail, "unknown"  # a re-run of this request must not send it again either
    if isinstance(error, TransportError):
        return "Could not reach Rebyte", str(error), "failed"
    what = "Rebyte could not start the task"
    return what, describe_rebyte_error(error), "failed"


def _create(
    session: Session,
    rebyte: RebyteClient,
    plan: Plan,
    gathered: attachments.Gathered | None = None,
    *,
    prompt: str | None = None,
    asker: tuple[str, str | None] | None = None,
) -> TaskFacts:
    """POST /v1/tasks, once: a create is never retried after it may have reached Rebyte.

    The request's attachments are fetched and uploaded first (``gathered``, when a fan-out did it
    once for all its tasks), here only: a task is being created. ``prompt`` and ``asker`` are
    given for a request that is not this run's trigger (a queued one: ``drain_create.py``); else
    the prompt is built again with the files named, and the trigger asked.
    """
    gathered = gathered if gathered is not None else attachments.gather(session, rebyte)
    created = rebyte.create_task(
        prompt if prompt is not None else gathered.prompt(session.trigger, plan),
        executor=plan.executor,
        model=plan.model,
        skills=list(plan.skills),
        files=list(gathered.uploads),
        github_url=plan.github_url,
        branch_name=plan.branch,
    )
    facts = task_facts(
        session, plan, created.id, created.url, created.workspace_id, continued=False, asker=asker
    )
    return gathered.named(facts)


def _set_visibility(session: Session, rebyte: RebyteClient, facts: TaskFacts, visibility: str) -> TaskFacts:
    try:
        change = rebyte.set_visibility(facts.task_id, visibility)
    except RebyteError as error:
        problem = f"The task started, but its visibility could not be set to {visibility}"
        session.workflow.warning(f"{problem}: {error}")
        session.outcome.detail = f"{problem}: {describe_rebyte_error(error)}"
        trigger = session.trigger
        assert trigger is not None
        request_url = trigger.comment.url if trigger.comment else None
        phrase = session.settings.trigger_phrase
        hint = f" Ask `{phrase} share` to try again." if visibility == "public" else ""
        # Posted before the answer is edited to "started", which keeps the answer's id as the output.
        session.reply(
            reply_comment(
                f"⚠️ {addressed(trigger.actor.login, request_url)}: the task started, but its visibility "
                f"could not be set to {visibility} ({describe_rebyte_error(error)}).{hint}",
                trigger.request_key,
            )
        )
        return facts
    return replace(facts, share_url=change.share_url) if change.share_url else facts
