"""Thread commands end to end: status, share, cancel and help, answered in place, never prompting a task."""

from __future__ import annotations

from typing import Any

import pytest

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event
from .test_action import (
    LIST_COMMENTS_1,
    LIST_REPO,
    PERMISSION,
    POST_COMMENT_1,
    REACT_ON_COMMENT,
    R,
    only_task,
)

FIRST_REQUEST = "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400"


def later(body: str, comment_id: int = 600) -> dict[str, Any]:
    """Another comment in the same thread (issue 1), with its own id and URL."""
    event = comment_event(body)
    event["comment"]["id"] = comment_id
    event["comment"]["html_url"] = (
        f"https://github.com/Codertocat/Hello-World/issues/1#issuecomment-{comment_id}"
    )
    return event


def react_on(comment_id: int) -> str:
    return f"POST {R}/issues/comments/{comment_id}/reactions"


def test_status_answers_with_the_task_its_prompts_and_the_live_url_using_only_gets(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    first = action.run("issue_comment", comment_event("/rebyte fix the typo"))
    before = len(github.calls())
    emulator.state.requests.clear()
    result = action.run("issue_comment", later("/rebyte status"))
    assert result.returncode == 0, result.log
    assert github.calls()[before:] == [
        PERMISSION,
        react_on(600),
        LIST_COMMENTS_1,
        POST_COMMENT_1,
        LIST_REPO,  # the queue, for the step summary
    ]
    assert {r.method for r in emulator.requests()} == {"GET"}
    task = only_task(emulator)
    assert len(task.prompts) == 1  # not sent to the task as a prompt
    reply = github.comments(1)[-1]["body"]
    assert "@Codertocat" in reply and "issuecomment-600" in reply
    assert f"[watch it live]({first.outputs['task-url']})" in reply
    assert "| 1 | " in reply and "| Prompt | Status | Sent | Finished |" in reply
    assert result.outputs["task-id"] == task.id and result.outputs["status"] in ("running", "completed")


@pytest.mark.parametrize("verb", ["status", "share", "cancel"])
def test_a_verb_in_a_thread_without_a_task_says_so_and_calls_rebyte_not_at_all(
    action: Action, emulator: Emulator, github: FakeGitHub, verb: str
) -> None:
    result = action.run("issue_comment", comment_event(f"/rebyte {verb}"))
    assert result.returncode == 0, result.log
    assert github.calls() == [PERMISSION, REACT_ON_COMMENT, LIST_COMMENTS_1, POST_COMMENT_1]
    assert emulator.requests() == []
    reply = github.comments(1)[0]["body"]
    assert f"`/rebyte {verb}` acts on this thread's Rebyte task" in reply and "has none yet" in reply
    assert "@Codertocat" in reply and FIRST_REQUEST in reply
    assert "no task" in result.outputs["skipped"]


def test_below_the_permission_bar_a_verb_does_nothing_and_the_reply_says_why(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run("issue_comment", comment_event("/rebyte fix"))
    github.set_permission("mallory", "read")
    emulator.state.requests.clear()
    result = action.run("issue_comment", {**later("/rebyte cancel"), "sender": {"login": "mallory"}})
    assert result.returncode == 0, result.log
    assert emulator.requests() == []
    assert "needs **write** permission" in github.comments(1)[-1]["body"]
    assert only_task(emulator).status(emulator.state.now()) in ("running", "completed")


def test_share_makes_the_task_public_and_both_the_reply_and_the_status_comment_carry_the_link(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run("issue_comment", comment_event("/rebyte fix"))
    emulator.state.requests.clear()
    result = action.run("issue_comment", later("/rebyte share"))
    assert result.returncode == 0, result.log
    task = only_task(emulator)
    assert task.visibility == "public"
    assert [f"{r.method} {r.path}" for r in emulator.requests()] == [f"PATCH /v1/tasks/{task.id}/visibility"]
    link = f"https://app.rebyte.ai/share/{task.id}"
    status_comment, reply = github.comments(1)
    assert f"| Public link | {link} |" in status_comment["body"]
    assert link in reply["body"] and "@Codertocat" in reply["body"]
    assert len(task.prompts) == 1


def test_cancel_deletes_the_task_ends_its_comment_canceled_and_the_next_request_starts_a_new_task(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    first = action.run(
        "issue_comment", comment_event("/rebyte fix [emulate:hang]"), check_run="true", wait="false"
    )
    result = action.run("issue_comment", later("/rebyte cancel"))
    assert result.returncode == 0, result.log
    task = only_task(emulator)
    assert task.deleted
    assert emulator.requests("DELETE")
    status_comment, reply = github.comments(1)
    assert "🚫 **Rebyte task canceled**" in status_comment["body"]
    assert "| Status | 🚫 canceled by @Codertocat |" in status_comment["body"]
    assert '"status":"canceled"' in status_comment["body"]
    assert "is canceled" in reply["body"] and "issuecomment-600" in reply["body"]
    # 👀 on each request; 😕 on the request whose task ended canceled
    assert [(r["content"], r["on"]) for r in github.reactions()] == [
        ("eyes", "/issues/comments/492700400"),
        ("eyes", "/issues/comments/600"),
        ("confused", "/issues/comments/492700400"),
    ]
    (run,) = github.check_runs()
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    assert result.outputs["status"] == "canceled"
    again = action.run("issue_comment", later("/rebyte try again", 700))
    assert again.returncode == 0, again.log
    assert len(emulator.state.tasks) == 2 and again.outputs["task-id"] != first.outputs["task-id"]
    assert not emulator.requests("GET", f"/v1/tasks/{task.id}")  # the marker said canceled: no GET


def test_double_dash_sends_a_prompt_that_starts_with_a_verb_and_without_it_the_reply_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    refused = action.run("issue_comment", comment_event("/rebyte status of the migration?"))
    assert refused.returncode == 0
    assert emulator.requests() == []
    assert "put `--` before it" in github.comments(1)[0]["body"]
    result = action.run("issue_comment", later("/rebyte -- status of the migration?"))
    assert result.returncode == 0, result.log
    assert only_task(emulator).prompts[0].text.startswith("status of the migration?\n")


def test_help_uses_the_configured_phrase_mentions_the_asker_and_links_the_request(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run("issue_comment", comment_event("/agent help"), trigger_phrase="/agent")
    assert result.returncode == 0, result.log
    body = github.comments(1)[0]["body"]
    assert "/agent status" in body and "/agent cancel" in body and "/agent [options]" in body
    assert "/rebyte" not in body
    assert "@Codertocat" in body and FIRST_REQUEST in body
    assert emulator.requests() == []
