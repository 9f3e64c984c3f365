"""The plain skips (``gate.py``): the same reason as the full parse, or no answer; and light.

``plain_skip`` answers before ``events`` is imported, so it must never differ from
``parse_event``: every case here is both, on real payloads and on each of them with one field
removed, nulled or of another type.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from rebyte_action.events import Skip, parse_event
from rebyte_action.gate import plain_skip

from .action_harness import Action, comment_event, load_event, review_comment_event

EVENTS = [
    "issue_comment.created",
    "issues.labeled",
    "pull_request.labeled",
    "pull_request_review_comment.created",
    "workflow_dispatch",
]
BODIES = [
    "LGTM, thanks",
    "LGTM 👍 — merci, ça marche",
    "/rebyte fix the typo",
    "please /rebyte",
    "/re\u200bbyte hidden in a zero-width space",
    "/RE\u00adBYTE a soft hyphen",
    "/rebyte\r\nfix",
    "/re\r\nbyte",
    "@agent \u212aelvin",  # the Kelvin sign folds to k
    "```\n/rebyte in code\n```",
    "<!-- rebyte-action:task {} -->\nan answer of this action's",
    "",
]
PHRASES = ["/rebyte", "@agent", "@\u212aelvin", "/ſtart"]  # the last two fold to ASCII letters
WRONG = [None, "x", 7, True, [], {}]
REMOVED = object()


def decided(event_name: str, payload: dict[str, Any], phrase: str, label: str, prompt: str) -> str | None:
    """The gate's answer, held against the full parse's (which must agree whenever it answers)."""
    answer = plain_skip(event_name, payload, trigger_phrase=phrase, label=label, direct_prompt=prompt)
    full = parse_event(
        event_name, payload, trigger_phrase=phrase, label=label, direct_prompt=prompt, run_id="1"
    )
    if answer is not None:
        assert isinstance(full, Skip), (answer, full)
        assert answer == full.reason
    return answer


def leaves(value: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every path in a payload, parents included (the top-level ones aside)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from leaves(inner, (*path, key))


@contextmanager
def with_field(event: dict[str, Any], path: tuple[str, ...], value: object) -> Iterator[dict[str, Any]]:
    """``event`` with the field at ``path`` set to ``value`` (or removed), put back after."""
    holder = event
    for key in path[:-1]:
        holder = holder[key]
    was = holder[path[-1]]
    if value is REMOVED:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    try:
        yield event
    finally:
        holder[path[-1]] = was


def payloads() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in EVENTS:
        event_name = name.split(".")[0]
        for body in BODIES:
            event = load_event(name)
            if isinstance(event.get("comment"), dict):
                event["comment"]["body"] = body
            for action in ("created", "edited", "labeled", "unlabeled"):
                yield event_name, {**event, "action": action}


@pytest.mark.parametrize("phrase", PHRASES)
def test_the_gate_gives_the_full_parse_s_reason_or_none(phrase: str) -> None:
    answered = 0
    for event_name, payload in payloads():
        for label in ("rebyte", "bug", "BUG"):
            for prompt in ("", "  ", "run the nightly"):
                answered += decided(event_name, payload, phrase, label, prompt) is not None
    assert answered > 100  # it does answer, for most


def test_the_gate_agrees_with_one_field_missing_null_or_of_another_type() -> None:
    answered = 0
    for name in EVENTS:
        event = load_event(name)
        event_name = name.split(".")[0]
        if isinstance(event.get("comment"), dict):
            event["comment"]["body"] = "LGTM"
        for path in list(leaves(event)):
            if path[0] == "repository" and len(path) == 2 and path[1] not in ("full_name", "default_branch"):
                continue  # the repository's 90 other fields are read by no one here
            for value in [*WRONG, REMOVED]:
                with with_field(event, path, value) as payload:
                    answered += decided(event_name, payload, "/rebyte", "bug", "") is not None
                    answered += decided(event_name, payload, "/rebyte", "rebyte", "") is not None
    assert answered > 500


@pytest.mark.parametrize(
    ("event_name", "payload", "reason"),
    [
        ("issue_comment", comment_event("LGTM, thanks"), "the comment has no line starting with /rebyte"),
        (
            "issue_comment",
            comment_event("/rebyte fix", action="edited"),
            "issue_comment 'edited' events are ignored: only new comments are requests",
        ),
        (
            "pull_request_review_comment",
            review_comment_event("nit: a typo"),
            "the comment has no line starting with /rebyte",
        ),
        ("issues", load_event("issues.labeled"), "the label added was 'bug', not 'rebyte'"),
        (
            "issue_comment",
            comment_event("⏳ Starting…\n\n<!-- rebyte-action:pending {} -->"),
            "the comment is one of this action's own answers",
        ),
        (
            "workflow_dispatch",
            load_event("workflow_dispatch"),
            "'workflow_dispatch' events start a task only with the prompt input",
        ),
    ],
)
def test_the_plain_skips(event_name: str, payload: dict[str, Any], reason: str) -> None:
    assert decided(event_name, payload, "/rebyte", "rebyte", "") == reason


@pytest.mark.parametrize(
    ("event_name", "payload", "phrase", "prompt"),
    [
        ("issue_comment", comment_event("/rebyte fix the typo"), "/rebyte", ""),  # a request
        ("issue_comment", comment_event("/re\u200bbyte fix"), "/rebyte", ""),  # a request, once normalised
        ("issue_comment", comment_event("```\n/rebyte in code\n```"), "/rebyte", ""),  # takes the parser
        ("issue_comment", comment_event("LGTM"), "/rébyte", ""),  # a phrase of other letters
        ("issue_comment", comment_event("LGTM"), "/rebyte", "nightly"),  # a direct prompt
        ("issues", {**load_event("issues.labeled"), "label": {"name": "Rebyte"}}, "/rebyte", ""),
    ],
)
def test_what_takes_the_full_parse(
    event_name: str, payload: dict[str, Any], phrase: str, prompt: str
) -> None:
    assert decided(event_name, payload, phrase, "rebyte", prompt) is None


SKIP_IMPORTS_NONE_OF = (
    *("github", "requests", "httpx", "pydantic", "pydantic_settings", "markdown_it"),
    *("dataclasses", "inspect", "typing", "hashlib"),
    *("rebyte_action.events", "rebyte_action.report", "rebyte_action.markdown", "rebyte_action.rebyte"),
)


@pytest.mark.parametrize(
    ("event_name", "event"),
    [
        ("issue_comment", comment_event("LGTM, thanks")),
        ("issue_comment", comment_event("/rebyte fix", action="edited")),
        ("issues", load_event("issues.labeled")),
        ("pull_request_review_comment", review_comment_event("nit: a typo")),
        ("workflow_dispatch", load_event("workflow_dispatch")),
    ],
)
def test_a_plain_skip_imports_nothing_heavy(action: Action, event_name: str, event: dict[str, Any]) -> None:
    """Through the real entry point, every module the run imported (``-X importtime`` names
    each, dotted): a test of what a skip loads, not of how long it takes."""
    result = action.run(event_name, event, raw_env={"PYTHONPROFILEIMPORTTIME": "1"}, fresh=True)
    assert result.returncode == 0, result.log
    assert result.outputs["skipped"] and "Nothing to do: " in result.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "cumulative" not in line
    }
    assert {"json", "rebyte_action.gate", "rebyte_action.outcome"} <= imported  # the lines were read
    assert imported.isdisjoint(SKIP_IMPORTS_NONE_OF), sorted(imported & set(SKIP_IMPORTS_NONE_OF))
