"""Trigger detection: a GitHub event in, a Trigger or a Skip out, with no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from rebyte_action.events import Skip, Trigger, find_command, parse_event

from .action_harness import comment_event, load_event, review_comment_event


def parse(
    event_name: str, payload: dict[str, Any], prompt: str = "", label: str = "rebyte"
) -> Trigger | Skip:
    return parse_event(
        event_name, payload, trigger_phrase="/rebyte", label=label, direct_prompt=prompt, run_id="77"
    )


@pytest.mark.parametrize(
    ("body", "command"),
    [
        ("/rebyte fix it", "fix it"),
        ("Thanks!\n\n/rebyte fix it\nand add a test", "fix it\nand add a test"),
        ("  /rebyte   indented", "indented"),
        ("text\n\n    /rebyte in an indented code block", None),
        ("\t/rebyte after a tab", None),
        ("/REBYTE shouting", "shouting"),
        ("/rebyte", ""),
        ("```\n/rebyte in code\n```\n/rebyte outside", "outside"),
        ("~~~~\n/rebyte in tilde code\n~~~~", None),
        ("> /rebyte quoted\n", None),
        ("> quoted\n\n/rebyte after quote", "after quote"),
        ("> quoted\n/rebyte lazily continues the quote", None),
        ("please run /rebyte fix", None),
        ("/rebyte-other fix", None),
        ("/rebytefix", None),
        ("<!-- /rebyte hidden -->\nvisible text", None),
        ("<!--\n/rebyte hidden\n-->", None),
        ("\u200b/rebyte zero width", "zero width"),
        ("```python\nx = 1\n```\n", None),
        ("/rebyte: fix the flaky test", "fix the flaky test"),
        ("/rebyte, please fix it", "please fix it"),
        ("/rebytes fix it", None),
        ("```md\n```text\n/rebyte fix it\n```\n```", None),
        ("````\n```\n/rebyte in the longer fence\n````", None),
        ("```\n/rebyte in a fence never closed\n\nmore", None),
        ("`<!--` is how a comment opens\n/rebyte fix it", "fix it"),
        ("<pre>\n/rebyte in a pre block\n</pre>", None),
        ("<div>\n/rebyte in an HTML block\n</div>", None),
        ("text <!-- a comment\n/rebyte inside it -->", None),
        ("text <!-- never closed\n\n/rebyte after it", None),
        ("`a code span\n/rebyte inside it`", None),
        ("- a list item\n  /rebyte on its next line", "on its next line"),
        ("/rebyte<!-- hidden --> fix it", "fix it"),
        (
            "/rebyte fix ![ignore that](https://example.invalid/i.png)",
            "fix ![](https://example.invalid/i.png)",
        ),
    ],
)
def test_the_phrase_counts_only_at_the_start_of_a_visible_line(body: str, command: str | None) -> None:
    assert find_command(body, "/rebyte") == command


def test_a_custom_phrase_is_matched_literally() -> None:
    assert find_command("@bot.run do it", "@bot.run") == "do it"
    assert find_command("@botXrun do it", "@bot.run") is None


def test_an_issue_comment_is_a_comment_trigger_keyed_by_the_comment() -> None:
    trigger = parse("issue_comment", comment_event("/rebyte fix the typo"))
    assert isinstance(trigger, Trigger)
    assert (trigger.kind, trigger.text, trigger.request_key) == (
        "comment",
        "fix the typo",
        "comment:492700400",
    )
    assert trigger.subject is not None and not trigger.subject.is_pull_request
    assert trigger.default_branch == "master"
    assert trigger.actor.login == "Codertocat"


def test_a_comment_on_a_pull_request_knows_it_is_a_pull_request_but_not_its_branch() -> None:
    trigger = parse("issue_comment", comment_event("/rebyte go", on_pull=True))
    assert isinstance(trigger, Trigger) and trigger.subject is not None
    assert trigger.subject.is_pull_request
    assert trigger.subject.head_ref is None


def test_a_review_comment_carries_its_path_lines_and_hunk() -> None:
    payload = review_comment_event("/rebyte use more emoji")
    payload["comment"]["start_line"] = 260
    trigger = parse("pull_request_review_comment", payload)
    assert isinstance(trigger, Trigger) and trigger.comment is not None and trigger.subject is not None
    assert trigger.kind == "review_comment"
    assert (trigger.comment.path, trigger.comment.start_line, trigger.comment.line) == ("README.md", 260, 265)
    assert trigger.comment.diff_hunk == "@@ -1 +1 @@\n-# Hello-World"
    assert trigger.subject.head_ref == "changes"


@pytest.mark.parametrize("action", ["edited", "deleted"])
def test_edited_and_deleted_comments_are_skipped(action: str) -> None:
    decision = parse("issue_comment", comment_event("/rebyte fix", action=action))
    assert isinstance(decision, Skip)
    assert action in decision.reason


def test_an_edited_comment_is_skipped_even_in_direct_mode() -> None:
    assert isinstance(parse("issue_comment", comment_event("x", action="edited"), prompt="review"), Skip)


def test_a_comment_without_the_phrase_is_skipped() -> None:
    decision = parse("issue_comment", comment_event("Looks good to me"))
    assert isinstance(decision, Skip)
    assert "/rebyte" in decision.reason


def test_the_actions_own_answer_is_never_a_request() -> None:
    body = "/rebyte fix\n<!-- rebyte-action:reply {} -->"
    assert isinstance(parse("issue_comment", comment_event(body)), Skip)


def test_the_configured_label_on_an_issue_is_a_request() -> None:
    payload = load_event("issues.labeled")
    payload["label"]["name"] = "Rebyte"
    trigger = parse("issues", payload)
    assert isinstance(trigger, Trigger)
    assert (trigger.kind, trigger.label, trigger.request_key) == ("label", "Rebyte", "label:1:77")


@pytest.mark.parametrize("event_name", ["pull_request", "pull_request_target"])
def test_the_configured_label_on_a_pull_request_is_a_request(event_name: str) -> None:
    payload = load_event("pull_request.labeled")
    payload["label"]["name"] = "rebyte"
    trigger = parse(event_name, payload)
    assert isinstance(trigger, Trigger) and trigger.subject is not None
    assert trigger.subject.is_pull_request
    assert (trigger.subject.head_ref, trigger.subject.head_repo) == ("changes", "Codertocat/Hello-World")


def test_another_label_is_skipped() -> None:
    decision = parse("issues", load_event("issues.labeled"))
    assert isinstance(decision, Skip)
    assert "'bug'" in decision.reason


def test_a_dispatch_without_a_prompt_is_skipped_and_with_one_is_direct() -> None:
    payload = load_event("workflow_dispatch")
    assert isinstance(parse("workflow_dispatch", payload), Skip)
    trigger = parse("workflow_dispatch", payload, prompt="  update the changelog  ")
    assert isinstance(trigger, Trigger)
    assert (trigger.kind, trigger.text, trigger.subject) == ("direct", "update the changelog", None)
    assert trigger.request_key.startswith("run:77:")
    assert trigger.repository == "octo-org/octo-repo"


def test_direct_mode_on_a_pull_request_event_answers_on_the_pull_request() -> None:
    payload = load_event("pull_request.labeled")
    payload["action"] = "synchronize"
    trigger = parse("pull_request", payload, prompt="review this change")
    assert isinstance(trigger, Trigger) and trigger.subject is not None
    assert trigger.subject.number == 2


def test_a_schedule_event_without_a_sender_works_in_direct_mode() -> None:
    trigger = parse("schedule", {"schedule": "0 3 * * *"}, prompt="nightly triage")
    assert isinstance(trigger, Trigger)
    assert trigger.actor.login == ""


def test_other_events_are_skipped() -> None:
    decision = parse("push", {"ref": "refs/heads/main"})
    assert isinstance(decision, Skip)
    assert "prompt input" in decision.reason


def test_bots_are_recognised_by_type_or_login() -> None:
    trigger = parse("issue_comment", comment_event("/rebyte x", sender="renovate[bot]"))
    assert isinstance(trigger, Trigger) and trigger.actor.is_bot
    trigger = parse("issue_comment", comment_event("/rebyte x", sender="ci", sender_type="Bot"))
    assert isinstance(trigger, Trigger) and trigger.actor.is_bot
