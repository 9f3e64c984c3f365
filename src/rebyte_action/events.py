"""A GitHub event in, one typed :class:`Trigger` out, or a :class:`Skip` saying why not.

Pure: no I/O. The payload is what the runner wrote to ``GITHUB_EVENT_PATH``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from .prompt import strip_hidden
from .report import MARKER_PREFIX

TriggerKind = Literal["comment", "review_comment", "label", "direct"]
COMMENT_EVENTS = ("issue_comment", "pull_request_review_comment")
LABEL_EVENTS = ("issues", "pull_request", "pull_request_target")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
QUOTE = re.compile(r"^ {0,3}>")


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
    """The text after the first line that starts with ``phrase``, to the end of the body.

    A line inside a fenced or indented code block or a quote does not count, nor does hidden text
    (an HTML comment). The phrase must stand alone: ``/rebyte-x`` is not ``/rebyte``.
    """
    visible = strip_hidden(body)
    lines = visible.splitlines(keepends=True)
    fence: str | None = None
    # Up to three spaces of indent, as Markdown allows; four make an indented code block.
    pattern = re.compile(rf"^ {{0,3}}{re.escape(phrase)}(?=\s|$)", re.IGNORECASE)
    for index, line in enumerate(lines):
        opener = FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            continue
        if QUOTE.match(line):
            continue
        found = pattern.match(line)
        if found:
            rest = line[found.end() :] + "".join(lines[index + 1 :])
            return rest.strip()
    return None


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
    action = payload.get("action")
    repo = payload.get("repository") or {}
    repository = repo.get("full_name") or fallback_repository
    default_branch = repo.get("default_branch") or "main"
    sender = payload.get("sender") or {}
    actor = Actor(login=sender.get("login", ""), type=sender.get("type", "User"))
    subject = _subject(payload)
    comment = _comment(payload) if event_name in COMMENT_EVENTS else None

    if event_name in COMMENT_EVENTS and action != "created":
        return Skip(f"{event_name} '{action}' events are ignored: only new comments are requests")
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
        added = (payload.get("label") or {}).get("name", "")
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
    pull = payload.get("pull_request")
    if isinstance(pull, dict) and pull.get("number") is not None:
        head = pull.get("head") or {}
        base = pull.get("base") or {}
        return Subject(
            number=int(pull["number"]),
            title=pull.get("title") or "",
            body=pull.get("body") or "",
            url=pull.get("html_url") or "",
            is_pull_request=True,
            author=(pull.get("user") or {}).get("login", ""),
            head_ref=head.get("ref"),
            head_sha=head.get("sha"),
            head_repo=(head.get("repo") or {}).get("full_name"),
            base_repo=(base.get("repo") or {}).get("full_name"),
        )
    issue = payload.get("issue")
    if isinstance(issue, dict) and issue.get("number") is not None:
        return Subject(
            number=int(issue["number"]),
            title=issue.get("title") or "",
            body=issue.get("body") or "",
            url=issue.get("html_url") or "",
            is_pull_request=bool(issue.get("pull_request")),
            author=(issue.get("user") or {}).get("login", ""),
        )
    return None


def _comment(payload: dict[str, Any]) -> Comment | None:
    raw = payload.get("comment")
    if not isinstance(raw, dict):
        return None
    return Comment(
        id=int(raw["id"]),
        body=raw.get("body") or "",
        url=raw.get("html_url") or "",
        author_association=raw.get("author_association") or "",
        path=raw.get("path"),
        line=raw.get("line") or raw.get("original_line"),
        start_line=raw.get("start_line") or raw.get("original_start_line"),
        side=raw.get("side"),
        diff_hunk=raw.get("diff_hunk"),
    )
