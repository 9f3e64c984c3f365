"""One task per thread, even when two requests' runs overlap: one starts it, the other joins it."""

from __future__ import annotations

from typing import Any

import pytest

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event

FAST = {"REBYTE_ACTION_POLL_SECONDS": "0.1"}


def request(issue: int, comment_id: int, text: str) -> dict[str, Any]:
    event = comment_event(text)
    event["issue"]["number"] = issue
    event["comment"]["id"] = comment_id
    return event


@pytest.mark.slow
def test_two_requests_started_at_the_same_moment_make_one_task_and_one_follow_up(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.config.latency = 0.3  # creating takes a while, so the runs overlap
    for issue in (11, 12, 13):
        first = action.start("issue_comment", request(issue, issue * 10, "/rebyte one"), raw_env=FAST)
        second = action.start("issue_comment", request(issue, issue * 10 + 1, "/rebyte two"), raw_env=FAST)
        results = [first.result(), second.result()]
        assert [r.returncode for r in results] == [0, 0], [r.log for r in results]
        ids = {r.outputs["task-id"] for r in results}
        assert len(ids) == 1, f"issue {issue}: {len(ids)} tasks"
        task = emulator.state.tasks[ids.pop()]
        assert sorted(p.text.split("\n")[0] for p in task.prompts) == ["one", "two"]
        answers = [c["body"] for c in github.comments(issue)]
        assert len(answers) == 2
        assert sum("🚀 **Rebyte task started**" in body for body in answers) == 1
        assert sum("💬 **Sent to this thread's Rebyte task**" in body for body in answers) == 1
    assert len(emulator.state.tasks) == 3


def test_when_the_earlier_requests_task_never_comes_nothing_starts_and_the_answer_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.add_comment(1, '⏳ Starting…\n\n<!-- rebyte-action:pending {"request":"comment:1"} -->')
    result = action.run(
        "issue_comment",
        comment_event("/rebyte fix"),
        raw_env={**FAST, "REBYTE_ACTION_RACE_SECONDS": "0.5"},
    )
    assert result.returncode == 1
    assert emulator.requests() == []
    answer = github.comments(1)[-1]["body"]
    assert "an earlier request in this thread is still starting its task" in answer
    assert "Nothing was started" in answer


def test_an_abandoned_pending_answer_does_not_hold_a_thread_up(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    from datetime import UTC, datetime, timedelta

    github.add_comment(
        1,
        '<!-- rebyte-action:pending {"request":"comment:1"} -->',
        created_at=datetime.now(UTC) - timedelta(hours=1),
    )
    result = action.run("issue_comment", comment_event("/rebyte fix"), raw_env=FAST)
    assert result.returncode == 0, result.log
    assert len(emulator.state.tasks) == 1
