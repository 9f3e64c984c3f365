"""The decisions of a run, as pure functions of plain data: no I/O, no PyGithub, no httpx.

Given the trigger, the settings and what the thread's markers say, they settle which
verb to run, with which prompt and options, on which branch, and which task it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .commands import Command, UsageError, parse_command
from .events import Trigger
from .prompt import build_prompt
from .rebyte.errors import (
    APIError,
    LimitExceededError,
    RebyteError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnexpectedResponse,
)
from .rebyte.limits import MAX_PROMPT_CHARS
from .report import ThreadMarker


@dataclass(frozen=True)
class Target:
    """Where a pull request's code lives (empty for an issue or an event without one)."""

    head_ref: str | None = None
    head_sha: str | None = None
    head_repo: str | None = None
    from_fork: bool = False


@dataclass(frozen=True)
class Plan:
    """What to ask Rebyte for, settled before any call."""

    prompt: str
    executor: str | None
    model: str | None
    skills: tuple[str, ...]
    branch: str
    github_url: str
    visibility: str | None
    request: str = ""  # the command's prompt, before the context: the prompt is built again with files


def bot_allowed(login: str, allowed_bots: Iterable[str]) -> bool:
    """Whether ``login`` (``x`` or ``x[bot]``) is in ``allowed-bots``; ``*`` allows every bot."""
    allowed = {b.lower().removesuffix("[bot]") for b in allowed_bots}
    return "*" in allowed or login.lower().removesuffix("[bot]") in allowed


def read_command(trigger: Trigger) -> Command:
    """The command a trigger carries: a label asks for its issue, a direct prompt is taken as is.

    Raises :class:`UsageError` for a comment whose command is malformed.
    """
    if trigger.kind == "label":
        subject = trigger.subject
        assert subject is not None
        kind = "pull request" if subject.is_pull_request else "issue"
        title = subject.title.strip()
        return Command(
            prompt=f"Work on {kind} #{subject.number}: {title}\n\nDo what it asks; it is described below."
        )
    if trigger.kind == "direct":
        return Command(prompt=trigger.text)
    return parse_command(trigger.text)


def prompt_too_long(command: Command) -> str | None:
    """Why the prompt cannot be sent (over the contract's limit), or None when it fits."""
    if len(command.prompt) <= MAX_PROMPT_CHARS:
        return None
    size = len(command.prompt)
    return (
        f"it has {size:,} characters, {size - MAX_PROMPT_CHARS:,} over Rebyte's limit of {MAX_PROMPT_CHARS:,}"
    )


def choose_branch(
    command: Command, *, setting: str | None, target: Target, event_ref: object, run_ref: str, default: str
) -> str:
    """The branch to work on: the command's (``--branch``), a pull request's head, the ``branch``
    input (or the config file's ``defaults.branch``), the pushed or dispatched ref, the default.

    A request about a pull request is about its code, so its head beats a configured branch,
    which is where work on issues and direct prompts starts."""
    return (
        command.branch or target.head_ref or setting or branch_of(event_ref) or branch_of(run_ref) or default
    )


def make_plan(
    trigger: Trigger,
    command: Command,
    *,
    branch: str,
    github_url: str,
    executor: str | None,
    model: str | None,
    skills: Iterable[str],
    visibility: str | None,
) -> Plan:
    """The command's options over the step's inputs, and the prompt built for the agent."""
    return Plan(
        prompt=build_prompt(
            trigger, command.prompt, branch=branch, preset=command.preset, repository=github_url
        ),
        executor=command.executor or executor,
        model=command.model or model,
        skills=tuple(dict.fromkeys(command.skills or skills)),
        branch=branch,
        github_url=github_url,
        visibility="public" if command.public else visibility,
        request=command.prompt,
    )


def wants_fresh_task(command: Command) -> bool:
    """``--new`` or options that a running task cannot take start a new task."""
    return bool(command.new or command.executor or command.model or command.branch)


def latest(markers: Iterable[ThreadMarker]) -> ThreadMarker | None:
    """The newest of ``markers`` (comment ids grow with time), or None."""
    return max(markers, key=lambda m: m.comment_id, default=None)


def latest_task(markers: Iterable[ThreadMarker]) -> ThreadMarker | None:
    """The newest marker that names a task: the thread's task."""
    return latest(m for m in markers if m.marker.kind == "task" and m.marker.task_id)


def whose_turn(
    markers: Iterable[ThreadMarker], *, mine: int, request: str, now: datetime, stale_after: timedelta
) -> ThreadMarker | Literal["start", "wait", "duplicate"]:
    """After posting its pending answer (comment ``mine``), may this request start the thread's task?

    GitHub's comment ids grow with time, so among requests racing in one thread the one
    whose pending answer came first starts the task; the others wait for it, then continue it.
    Returns "duplicate" when an earlier answer of this same request is there (GitHub
    delivered it twice, and another run answers it), the thread's task once there is one
    (not canceled), "wait" while an earlier pending answer of another request (younger than
    ``stale_after``: older ones are abandoned) has no task yet, and "start" otherwise.
    """
    markers = list(markers)
    answered = ("pending", "task", "unknown")
    if any(
        m.marker.request == request and m.comment_id < mine and m.marker.kind in answered for m in markers
    ):
        return "duplicate"
    task = latest_task(markers)
    if task is not None and task.marker.status != "canceled":
        return task
    for found in markers:
        if (
            found.marker.kind == "pending"
            and found.comment_id < mine
            and found.marker.request != request
            and (found.created_at is None or now - found.created_at < stale_after)
        ):
            return "wait"
    return "start"


def reaction_target(request_key: str | None, issue: int) -> tuple[int, int | None, bool]:
    """Where a request's reaction goes, from its key: (issue, comment id or None, review comment?).

    ``comment:ID`` and ``review_comment:ID`` are comments; a label or a direct prompt
    (``label:N:run``, ``run:ID``) reacts on the issue or pull request itself.
    """
    kind, _, rest = (request_key or "").partition(":")
    if kind in ("comment", "review_comment") and rest.isdigit():
        return issue, int(rest), kind == "review_comment"
    return issue, None, False


def branch_of(ref: object) -> str | None:
    """``refs/heads/x`` is branch ``x``; a tag or anything else is no branch."""
    if isinstance(ref, str) and ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None


def may_have_taken_effect(error: RebyteError) -> bool:
    """Whether a failed create or follow-up may still have started work (so must not be resent)."""
    if isinstance(error, TransportError):
        return error.maybe_delivered
    return isinstance(error, UnexpectedResponse | ServerError)


def describe_rebyte_error(error: RebyteError) -> str:
    """A Rebyte error in words for the thread, with what to do where there is something."""
    if isinstance(error, UnauthorizedError):
        return (
            f"Rebyte refused the API key (`{error.code}`: {error.message}). Check the `REBYTE_API_KEY` "
            "secret: keys start with `rbk_` and come from https://app.rebyte.ai/settings/api-keys."
        )
    if isinstance(error, LimitExceededError):
        wait = f" Try again in {error.retry_after:g} seconds." if error.retry_after else ""
        return f"A Rebyte limit was reached (`{error.code}`: {error.message}).{wait}"
    if isinstance(error, APIError):
        return f"Rebyte answered `{error.code}` (HTTP {error.status}): {error.message}"
    return str(error)


__all__ = [
    "Plan",
    "Target",
    "UsageError",
    "bot_allowed",
    "branch_of",
    "choose_branch",
    "describe_rebyte_error",
    "latest",
    "latest_task",
    "make_plan",
    "may_have_taken_effect",
    "prompt_too_long",
    "reaction_target",
    "read_command",
    "wants_fresh_task",
    "whose_turn",
]
