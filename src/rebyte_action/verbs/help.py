"""``/rebyte help``, and the answer to a command that cannot be read: the usage in the configured phrase."""

from __future__ import annotations

from ..config import ConfigError
from ..presets import presets_help
from ..replies import config_error_comment, prompt_too_long_comment, usage_comment
from ..session import EXIT_FAILED, Session


def run(session: Session) -> int:
    """Reply to the asker with the usage; nothing is started."""
    session.reply(_usage(session, None))
    return session.skip("help was asked for")


def usage_error(session: Session, problem: str) -> int:
    """Reply with what is wrong and the usage; nothing is started (exit 0: the step did its job).

    ``problem`` may quote the request (an unknown executor, say): a secret in it is shown as ``***``."""
    problem = session.scrub_request(problem)
    session.reply(_usage(session, problem))
    return session.skip(f"usage error: {problem}")


def too_long(session: Session, problem: str) -> int:
    """Reply that the prompt is over Rebyte's limit, by how much and what to do; nothing is started."""
    trigger = session.trigger
    assert trigger is not None
    session.reply(
        prompt_too_long_comment(
            problem,
            asker=trigger.actor.login,
            request_url=trigger.comment.url if trigger.comment else None,
            request_key=trigger.request_key,
        )
    )
    return session.skip(f"the prompt is too long: {problem}")


def bad_config(session: Session, error: ConfigError) -> int:
    """The repository's config file is invalid: one reply naming the line and the key, an ::error::,
    no task; the step fails, so that the repository's maintainers see it."""
    trigger = session.trigger
    session.reply(
        config_error_comment(
            str(error),
            asker=trigger.actor.login if trigger else "",
            request_url=trigger.comment.url if trigger and trigger.comment else None,
            request_key=trigger.request_key if trigger else None,
        )
    )
    session.workflow_error(f"{error}. Fix the file on the default branch.")
    session.outcome.headline = f"not started: {error.path} is invalid"
    session.outcome.detail = str(error)
    return EXIT_FAILED


def _usage(session: Session, problem: str | None) -> str:
    trigger = session.trigger
    asker = trigger.actor.login if trigger else ""
    request_url = trigger.comment.url if trigger and trigger.comment else None
    return usage_comment(
        session.settings.trigger_phrase,
        problem,
        asker=asker,
        request_url=request_url,
        request_key=trigger.request_key if trigger else None,
        presets=presets_help(session.config, session.settings.trigger_phrase),
    )
