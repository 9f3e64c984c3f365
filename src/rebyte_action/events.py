"""A GitHub event in, one typed :class:`Trigger` out, or a :class:`Skip` saying why not.

Pure: no I/O. The payload is what the runner wrote to ``GITHUB_EVENT_PATH``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from .gate import COMMENT_EVENTS, LABEL_EVENTS, MARKER_PREFIX
from .gate import DEFAULT_LABEL as DEFAULT_LABEL  # re-exported (settings.py reads them here)
from .gate import DEFAULT_TRIGGER_PHRASE as DEFAULT_TRIGGER_PHRASE
from .markdown import command_after

T = TypeVar("T")
TriggerKind = Literal["comment", "review_comment", "label", "direct"]


@dataclass(frozen=True)
class Actor:
    login: str
    type: str = "User"

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.lower().endswith("[bot]")


@dataclass(frozen=True)
class Subject:
    """The issue or pull request a request is about, as far as the payload tells."""

    number: int
    title: str
    body: str
    url: str
    is_pull_request: bool
    author: str
    head_ref: str | None = None  # known from pull_request payloads; a PR comment needs a fetch
    head_sha: str | None = None
    head_repo: str | None = None
    base_repo: str | None = None


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str
    author_association: str = ""
    # review comments only
    path: str | None = None
    line: int | None = None
    start_line: int | None = None
    side: str | None = None
    diff_hunk: str | None = None


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    event_name: str
    repository: str
    default_branch: str
    actor: Actor
    text: str  # the command after the phrase; the prompt input in direct mode; "" for a label
    request_key: str  # one request, stable across re-runs of the same workflow run
    subject: Subject | None = None
    comment: Comment | None = None
    label: str | None = None


@dataclass(frozen=True)
class Skip:
    reason: str


def find_command(body: str, phrase: str) -> str | None:
    """The command: what follows the first line a reader sees start with ``phrase``, or None.

    Read as GitHub renders the comment (:mod:`rebyte_action.markdown`): a line in code, a
    quote, HTML or a comment does not count, and the phrase must end there (``/rebyte:`` and
    ``/rebyte fix`` are the phrase, ``/rebytes`` and ``/rebyte-x`` are not). The command runs
    to the end of the comment, as written but for what a reader cannot see.
    """
    return command_after(body, phrase)


def parse_event(
    event_name: str,
    payload: dict[str, Any],
    *,
    trigger_phrase: str,
    label: str,
    direct_prompt: str,
    run_id: str,
    job: str = "",
    step: str = "",
    fallback_repository: str = "",
) -> Trigger | Skip:
    """The request ``payload`` makes, or why it makes none.

    A field a trigger needs that is missing, null or of the wrong type is a :class:`Skip`
    naming it (``comment.id``, ``issue.number``, ``sender.login``...), never an exception.
    """
    try:
        return _parse(
            event_name,
            payload,
            trigger_phrase=trigger_phrase,
            label=label,
            direct_prompt=direct_prompt,
            run_id=run_id,
            job=job,
            step=step,
            fallback_repository=fallback_repository,
        )
    except MalformedPayload as error:
        return Skip(f"the {event_name} event's payload is not one GitHub sends: {error}")


class MalformedPayload(ValueError):
    """A field of the payload is missing or of the wrong type; the message names it."""


def _parse(
    event_name: str,
    payload: dict[str, Any],
    *,
    trigger_phrase: str,
    label: str,
    direct_prompt: str,
    run_id: str,
    job: str,
    step: str,
    fallback_repository: str,
) -> Trigger | Skip:
    action = payload.get("action")
    if event_name in COMMENT_EVENTS and action != "created":
        return Skip(f"{event_name} '{action}' events are ignored: only new comments are requests")
    repository = _optional(payload, "repository.full_name", str) or fallback_repository
    default_branch = _optional(payload, "repository.default_branch", str) or "main"
    # Who asked: a comment or a label always has a sender, whose role is checked; only events
    # with none by nature (a schedule) or a direct prompt (the workflow's own) may lack one.
    needs_sender = not direct_prompt.strip() and event_name in COMMENT_EVENTS + LABEL_EVENTS
    login = (_need if needs_sender else _optional)(payload, "sender.login", str) or ""
    actor = Actor(login=login, type=_optional(payload, "sender.type", str) or "User")
    subject = _subject(payload)
    comment = _comment(payload) if event_name in COMMENT_EVENTS else None

    if comment is not None and MARKER_PREFIX in comment.body:
        return Skip("the comment is one of this action's own answers")

    base = Trigger(
        kind="direct",
        event_name=event_name,
        repository=repository,
        default_branch=default_branch,
        actor=actor,
        text=direct_prompt.strip(),
        request_key=direct_request_key(run_id, job, step, direct_prompt),
        subject=subject,
        comment=comment,
    )
    if direct_prompt.strip():
        return base

    if event_name in COMMENT_EVENTS:
        assert comment is not None
        if subject is None:
            return Skip(f"the {event_name} payload has no issue or pull request")
        command = find_command(comment.body, trigger_phrase)
        if command is None:
            return Skip(f"the comment has no line starting with {trigger_phrase}")
        kind: TriggerKind = "comment" if event_name == "issue_comment" else "review_comment"
        return replace(base, kind=kind, text=command, request_key=f"{kind}:{comment.id}")

    if event_name in LABEL_EVENTS:
        if action != "labeled":
            return Skip(f"{event_name} '{action}' events are ignored without the prompt input")
        added = _need(payload, "label.name", str)
        if added.casefold() != label.casefold():
            return Skip(f"the label added was '{added}', not '{label}'")
        if subject is None:
            return Skip(f"the {event_name} payload has no issue or pull request")
        return replace(
            base, kind="label", text="", request_key=f"label:{subject.number}:{run_id}", label=added
        )

    return Skip(f"'{event_name}' events start a task only with the prompt input")


def direct_request_key(run_id: str, job: str, step: str, prompt: str) -> str:
    """A direct prompt's request: ``run:RUN:JOB:STEP:HASH``, one per step and prompt.

    ``job`` and ``step`` are ``GITHUB_JOB`` and ``GITHUB_ACTION`` (the step's id); with the
    prompt's hash they tell apart two direct steps of one run, and stay the same when the run
    is re-run, so a re-run finds its step's task instead of starting another.
    """
    digest = hashlib.sha256(prompt.strip().encode()).hexdigest()[:10]
    return f"run:{run_id}:{job}:{step}:{digest}"


def _subject(payload: dict[str, Any]) -> Subject | None:
    if isinstance(payload.get("pull_request"), dict):
        return Subject(
            number=_need(payload, "pull_request.number", int),
            title=_optional(payload, "pull_request.title", str) or "",
            body=_optional(payload, "pull_request.body", str) or "",
            url=_optional(payload, "pull_request.html_url", str) or "",
            is_pull_request=True,
            author=_optional(payload, "pull_request.user.login", str) or "",
            head_ref=_optional(payload, "pull_request.head.ref", str),
            head_sha=_optional(payload, "pull_request.head.sha", str),
            head_repo=_optional(payload, "pull_request.head.repo.full_name", str),
            base_repo=_optional(payload, "pull_request.base.repo.full_name", str),
        )
    if isinstance(payload.get("issue"), dict):
        return Subject(
            number=_need(payload, "issue.number", int),
            title=_optional(payload, "issue.title", str) or "",
            body=_optional(payload, "issue.body", str) or "",
            url=_optional(payload, "issue.html_url", str) or "",
            is_pull_request=bool(payload["issue"].get("pull_request")),
            author=_optional(payload, "issue.user.login", str) or "",
        )
    return None


def _comment(payload: dict[str, Any]) -> Comment:
    _need(payload, "comment", dict)
    return Comment(
        id=_need(payload, "comment.id", int),
        body=_optional(payload, "comment.body", str) or "",
        url=_optional(payload, "comment.html_url", str) or "",
        author_association=_optional(payload, "comment.author_association", str) or "",
        path=_optional(payload, "comment.path", str),
        line=_optional(payload, "comment.line", int) or _optional(payload, "comment.original_line", int),
        start_line=_optional(payload, "comment.start_line", int)
        or _optional(payload, "comment.original_start_line", int),
        side=_optional(payload, "comment.side", str),
        diff_hunk=_optional(payload, "comment.diff_hunk", str),
    )


_TYPE_NAMES = {int: "a number", str: "a string", dict: "an object"}


def _need(payload: dict[str, Any], path: str, kind: type[T]) -> T:
    """The field at dotted ``path``, of type ``kind``; MalformedPayload naming it otherwise."""
    value = _optional(payload, path, kind)
    if value is None:
        raise MalformedPayload(f"`{path}` is missing")
    return value


def _optional(payload: dict[str, Any], path: str, kind: type[T]) -> T | None:
    """The field at dotted ``path`` (None when it or a parent is missing or null); a value of
    another type than ``kind`` is a MalformedPayload naming it."""
    value: Any = payload
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedPayload(f"`{path}` is {_describe(value)}, not {_TYPE_NAMES.get(kind, kind.__name__)}")
    return value


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
