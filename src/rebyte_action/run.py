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
from .config import ConfigError, RepositoryConfig, fetch_config
from .decide import Target, bot_allowed, prompt_too_long
from .events import Skip, Trigger, parse_event
from .github import GitHub, GitHubError
from .presets import find_preset, needs_config, read_request, required_permission, with_defaults
from .reconcile import reconcile
from .replies import fork_comment, permission_comment, permission_unknown_comment
from .report import summary
from .session import EXIT_FAILED, EXIT_OK, Outcome, Session
from .settings import Permission, Settings
from .track import Cancelled
from .verbs import dispatch, help, queued
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
    decision = _decide(settings, payload, settings.label)
    if isinstance(decision, Skip) and decision.label and settings.config_file:
        named = _label_in_file(session, payload, decision)  # a label the config file may name
        if named is None:
            return EXIT_FAILED
        decision = named
    if isinstance(decision, Skip):
        return session.skip(decision.reason)
    trigger = session.trigger = decision
    actor = trigger.actor
    if actor.is_bot and not bot_allowed(actor.login, settings.allowed_bots):
        return session.skip(f"{actor.login} is a bot; list it in allowed-bots to let it start tasks")
    github = session.github or session.connect()
    if github is None:
        return EXIT_FAILED
    # the repository's config file: its preset may ask for another role than the input's
    config_error = None
    if settings.config_file and needs_config(trigger):
        try:
            _read_config(session, github, payload)
        except ConfigError as error:
            config_error = error
    preset = find_preset(trigger, session.config)

    # authorise
    refusal = _authorise(session, github, required_permission(preset, settings.required_permission))
    if refusal is not None:
        return refusal
    if config_error is not None:
        session.acknowledge()
        return help.bad_config(session, config_error)
    if session.config is not None:
        settings = session.settings = with_defaults(settings, session.config.defaults)
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
        command = read_request(trigger, session.config)
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
    code = dispatch(session, command, payload, target)
    queued.show(session)  # every run that answered a request shows the queue
    return code


def _decide(settings: Settings, payload: dict[str, Any], label: str) -> Trigger | Skip:
    return parse_event(
        settings.event_name,
        payload,
        trigger_phrase=settings.trigger_phrase,
        label=label,
        direct_prompt=settings.prompt,
        run_id=settings.run_id,
        job=settings.job,
        step=settings.step,
        fallback_repository=settings.repository,
    )


def _label_in_file(session: Session, payload: dict[str, Any], skip: Skip) -> Trigger | Skip | None:
    """A label other than the ``label`` input triggers when the config file names it; None after an
    ::error:: (no GitHub connection, or an invalid file: nobody is known to have asked, so no reply)."""
    assert skip.label is not None
    github = session.connect()
    if github is None:
        return None
    try:
        config = _read_config(session, github, payload)
    except ConfigError as error:
        session.workflow_error(f"{error}. Fix the file on the default branch.")
        session.outcome.headline = f"not started: {error.path} is invalid"
        session.outcome.detail = str(error)
        return None
    if config.label(skip.label) is None:
        return Skip(f"{skip.reason}, nor a label in {session.settings.config_file}")
    return _decide(session.settings, payload, skip.label)


def _read_config(session: Session, github: GitHub, payload: dict[str, Any]) -> RepositoryConfig:
    """The config file from the default branch (never a pull request's head), read once a run.

    ``GET /repos/{repo}/contents/{path}?ref={repository.default_branch}``; no file is an empty
    config. Raises :class:`ConfigError` when it is not valid (the caller answers it, once).
    """
    if session.config is not None:
        return session.config
    repository = payload.get("repository")
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    path = session.settings.config_file
    session.config = fetch_config(github, path, branch if isinstance(branch, str) and branch else None)
    if session.config.path:
        session.workflow.log(f"Read {path} from the default branch")
    return session.config


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


def _authorise(session: Session, github: GitHub, need: Permission) -> int | None:
    """A skip (with a reply saying why) when the sender lacks the role ``need`` (the ``permission``
    input's, or the preset's)."""
    trigger = session.trigger
    assert trigger is not None
    actor = trigger.actor
    if actor.is_bot:  # an allowed bot has no role
        return None
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
