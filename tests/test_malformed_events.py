"""Payloads that are not what GitHub sends: skipped with the field named, nothing requested.

Each case is a fixture in ``tests/fixtures/events/``, made a valid request first, then one
field removed, nulled or given the wrong type.
"""

from __future__ import annotations

from typing import Any

import pytest

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event, load_event, review_comment_event

REMOVED = object()


def labeled(name: str) -> dict[str, Any]:
    event = load_event(name)
    event["label"]["name"] = "rebyte"
    return event


def with_field(event: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    *parents, last = path.split(".")
    holder = event
    for key in parents:
        holder = holder[key]
    if value is REMOVED:
        del holder[last]
    else:
        holder[last] = value
    return event


CASES = [
    ("issue_comment", comment_event("/rebyte fix"), "comment.id", REMOVED, "`comment.id` is missing"),
    ("issue_comment", comment_event("/rebyte fix"), "comment.id", "492700400", "`comment.id` is the string"),
    ("issue_comment", comment_event("/rebyte fix"), "comment", None, "`comment` is missing"),
    ("issue_comment", comment_event("/rebyte fix"), "comment.body", 42, "`comment.body` is a number"),
    (
        "issue_comment",
        comment_event("/rebyte fix"),
        "issue.number",
        "abc",
        "`issue.number` is the string 'abc'",
    ),
    ("issue_comment", comment_event("/rebyte fix"), "issue.number", None, "`issue.number` is missing"),
    ("issue_comment", comment_event("/rebyte fix"), "sender", REMOVED, "`sender.login` is missing"),
    ("issue_comment", comment_event("/rebyte fix"), "sender", None, "`sender.login` is missing"),
    (
        "pull_request_review_comment",
        review_comment_event("/rebyte fix"),
        "pull_request.number",
        [2],
        "`pull_request.number` is a list",
    ),
    (
        "pull_request_review_comment",
        review_comment_event("/rebyte fix"),
        "comment.line",
        "7",
        "`comment.line`",
    ),
    ("issues", labeled("issues.labeled"), "label.name", REMOVED, "`label.name` is missing"),
    ("issues", labeled("issues.labeled"), "issue.number", True, "`issue.number` is a boolean"),
    ("issues", labeled("issues.labeled"), "sender.login", None, "`sender.login` is missing"),
    ("pull_request", labeled("pull_request.labeled"), "sender.login", 7, "`sender.login` is a number"),
    ("pull_request", labeled("pull_request.labeled"), "pull_request.number", "2", "`pull_request.number`"),
]


@pytest.mark.parametrize(
    ("event_name", "event", "path", "value", "words"),
    CASES,
    ids=[f"{name}-{path}={'removed' if value is REMOVED else value!r}" for name, _, path, value, _ in CASES],
)
def test_a_payload_missing_what_its_trigger_needs_is_skipped_naming_the_field(
    action: Action,
    emulator: Emulator,
    github: FakeGitHub,
    event_name: str,
    event: dict[str, Any],
    path: str,
    value: object,
    words: str,
) -> None:
    result = action.run(event_name, with_field(event, path, value))
    assert result.returncode == 0, result.log
    assert "Traceback" not in result.log and "KeyError" not in result.log
    assert words in result.outputs["skipped"]
    assert words in result.summary and words in result.stdout
    assert emulator.requests() == [] and github.calls() == []
