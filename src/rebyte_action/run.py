"""The flow of one run: load the event, decide, authorise, acknowledge, dispatch, answer, finish.

Each step is a few lines here; the verbs (``verbs/``) do the work, the decisions
(``decide.py``) are pure, and :class:`~rebyte_action.session.Session` reports whatever
happened, so a task that was created is always reported.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from .commands import UsageError
from .decide import Target, bot_allowed, prompt_too_long, read_command
from .events import Skip, parse_event
from .github import GitHub, GitHubError
from .reconcile import reconcile
from .replies import fork_comment, permission_comment, permission_unknown_comment
from .report import summary
from .session import EXIT_FAILED, EXIT_OK, Outcome, Session
from .settings import Permission, Settings
from .track import Cancelled
from .verbs import dispatch, help
from .workflow import Workflow

__all__ = ["EXIT_FAILED", "EXIT_OK", "Outcome", "execute", "main"]

# Events only a user with write access can cause: a schedule has no sender at all.
WRITERS_ONLY_EVENTS = ("workflow_dispatch", "schedule", "push")


def execute(settings: Settings, workflow: Workflow) -> int:
    """One run, start to end: the exit code; outputs and the step summary are always written."""
    session = Session(settings, workflow)
    try:
        if settings.mode == "reconcile":
            return reconcile(session)
        return _flow(session)
    except GitHubError as error:
        return session.fail("GitHub call failed", str(error), comment=False)
    except Cancelled:
        return session.fail(
            "The workflow run was cancelled", "The action stopped; a task it started goes on.", comment=False
        )
    except Exception as error:  # a bug: still say so plainly, and report any task created
        return session.fail(
            "The action failed unexpectedly", session.scrub(f"{type(error).__name__}: {error}")
        )
    finally:
        session.finish()


def _flow(session: Session) -> int:
    settings = session.settings
    # load the event
    payload = _load_event(session)
    if payload is None:
        return EXIT_FAILED
    # decide: is it a request, from whom
    decision = parse_event(
        settings.event_name,
        payload,
        trigger_phrase=settings.trigger_phrase,
        label=settings.label,
        direct_prompt=settings.prompt,
        run_id=settings.run_id,
        job=settings.job,
        step=settings.step,
        fallback_repository=settings.repository,
    )
    if isinstance(decision, Skip):
        return session.skip(decision.reason)
    trigger = session.trigger = decision
    actor = trigger.actor
    if actor.is_bot and not bot_allowed(actor.login, settings.allowed_bots):
        return session.skip(f"{actor.login} is a bot; list it in allowed-bots to let it start tasks")
    github = session.connect()
    if github is None:
        return EXIT_FAILED

    # authorise
    refusal = _authorise(session, github)
    if refusal is not None:
        return refusal
    target = _target(session, github)
    if target.from_fork and not settings.allow_forks:
        session.reply(fork_comment(target.head_repo or "a deleted fork"))
        return session.skip("the pull request comes from a fork, and allow-forks is off")
    # Checked this late so that requests refused above need no secret: GitHub gives
    # none to workflows run for pull requests from forks.
    if not session.ready("rebyte"):
        return EXIT_FAILED

    # acknowledge, at once: creating the task can take minutes. A re-run's 👀 waits for
    # the thread (dispatch): the first attempt has most likely added it already.
    if settings.run_attempt <= 1:
        session.acknowledge()

    # dispatch to the verb; it answers, and ``execute`` finishes (outputs, summary)
    try:
        command = read_command(trigger)
    except UsageError as error:
        session.acknowledge()
        return help.usage_error(session, str(error))
    problem = prompt_too_long(command)
    if problem is not None:
        if trigger.kind == "direct":
            session.workflow_error(f"input 'prompt': the prompt is too long: {problem}")
            return EXIT_FAILED
        session.acknowledge()
        return help.too_long(session, problem)
    return dispatch(session, command, payload, target)


def _load_event(session: Session) -> dict[str, Any] | None:
    """GITHUB_EVENT_PATH's JSON object; None (after an ::error::) when it cannot be read."""
    path = session.settings.event_path
    if not path:
        session.workflow_error("GITHUB_EVENT_PATH is not set: run this action from a GitHub Actions workflow")
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, ValueError) as error:
        session.workflow_error(f"cannot read the event at GITHUB_EVENT_PATH ({path}): {error}")
        return None
    if not isinstance(payload, dict):
        session.workflow_error(f"the event at GITHUB_EVENT_PATH ({path}) is not a JSON object")
        return None
    return payload


def _authorise(session: Session, github: GitHub) -> int | None:
    """A skip (with a reply saying why) when the sender lacks the ``permission`` input's role."""
    trigger = session.trigger
    assert trigger is not None
    actor = trigger.actor
    if actor.is_bot:  # an allowed bot has no role
        return None
    need = session.settings.required_permission
    if trigger.event_name in WRITERS_ONLY_EVENTS and need <= Permission.WRITE:
        return None  # GitHub let only a writer dispatch the workflow or push
    if not actor.login:
        if trigger.kind == "direct":  # a schedule has no sender; the workflow itself asks
            return None
        return session.skip("the event names no sender, so who asked cannot be checked")
    try:
        have = github.permission(actor.login)
    except GitHubError as error:
        if error.status != 403 or error.rate_limited:
            raise
        session.reply(permission_unknown_comment(actor.login, need.name.lower()))
        return session.fail(
            f"Not permitted: could not read @{actor.login}'s permission",
            f"{error}. The job's token must be able to read the repository's collaborators "
            "(a fine-grained token or a GitHub App needs the Metadata: read permission).",
            comment=False,
        )
    if have >= need:
        return None
    session.reply(permission_comment(actor.login, have.name.lower(), need.name.lower()))
    return session.skip(f"@{actor.login} has {have.name.lower()} permission; {need.name.lower()} is needed")


def _target(session: Session, github: GitHub) -> Target:
    """Where the pull request's code lives; a PR comment's payload lacks it, so fetch it once."""
    subject = session.trigger.subject if session.trigger else None
    if subject is None or not subject.is_pull_request:
        return Target()
    head_ref, head_sha, head_repo = subject.head_ref, subject.head_sha, subject.head_repo
    if head_ref is None:
        pull = github.pull(subject.number)
        head_ref, head_sha, head_repo = pull.head_ref, pull.head_sha, pull.head_repo
    return Target(head_ref, head_sha, head_repo, from_fork=head_repo != session.repository)


def main() -> int:
    """The container's entry point: read the inputs, mask the secrets, run once."""
    from .settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        # The settings are what failed, so the runner's files come straight from the environment.
        bootstrap = Workflow(os.environ.get("GITHUB_OUTPUT", ""), os.environ.get("GITHUB_STEP_SUMMARY", ""))
        bootstrap.error(f"{error}. Fix the step's `with:` inputs.")
        bootstrap.set_outputs({**Outcome().outputs(), "skipped": "the step's inputs are invalid"})
        bootstrap.summary(
            summary(None, headline="not started: the step's inputs are invalid", detail=str(error))
        )
        return EXIT_FAILED
    workflow = Workflow(settings.output_path, settings.summary_path)
    for secret in (settings.rebyte_api_key, settings.github_token):
        if secret is not None and secret.get_secret_value():
            workflow.mask(secret.get_secret_value())
    signal.signal(signal.SIGTERM, _cancel)  # PID 1 in a container ignores SIGTERM without a handler
    return execute(settings, workflow)


def _cancel(signum: int, frame: object) -> None:
    raise Cancelled
