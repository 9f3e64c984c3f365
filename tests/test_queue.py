"""Limits and the queue through the real entry point, against the emulator and the fake GitHub."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rebyte_action.decide import Plan
from rebyte_action.queue import pack_plan, seal
from rebyte_action.queue_report import claim_comment, queued_comment
from rebyte_action.rebyte import LimitExceededError, RebyteClient
from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.report import RUNNING, TaskFacts, started_comment
from rebyte_action.testing import FakeGitHub

from .action_harness import REBYTE_KEY, Action, comment_event

SCHEDULE = {"schedule": "*/10 * * * *"}
FAST = {"REBYTE_ACTION_POLL_SECONDS": "0.1"}
R = "/repos/Codertocat/Hello-World"


def request(issue: int, comment_id: int, text: str, sender: str = "Codertocat") -> dict[str, Any]:
    event = comment_event(text, sender=sender)
    event["issue"]["number"] = issue
    event["comment"]["id"] = comment_id
    return event


def seed_running(github: FakeGitHub, emulator: Emulator, issue: int, by: str = "Codertocat") -> str:
    """A task an earlier run started and did not follow: the task on Rebyte, its answer in ``issue``."""
    created = emulator.state.create_task({"prompt": "earlier [emulate:hang]"})
    facts = TaskFacts(
        task_id=created["id"],
        url=created["url"],
        workspace_id=created["workspaceId"],
        branch="master",
        repository="Codertocat/Hello-World",
        executor=None,
        model=None,
        skills=(),
        requested_by=by,
        request_url=None,
        run_url=None,
    )
    github.add_comment(issue, started_comment(facts, f"comment:{issue}00", state=RUNNING))
    return str(created["id"])


def post_queued(
    github: FakeGitHub,
    issue: int,
    request_key: str,
    facts: dict[str, Any],
    *,
    created_at: datetime | None = None,
    key: str = REBYTE_KEY,
) -> int:
    """A queued answer in ``issue``, as a run's hold writes it: its marker sealed with the step's
    Rebyte key for its own comment id (``queue.seal``). Its comment id."""
    comment = github.add_comment(issue, "⏸", created_at=created_at)
    sig = seal(facts, request=request_key, comment_id=comment["id"], key=key)
    comment["body"] = queued_comment(
        request_key=request_key,
        facts={**facts, "sig": sig},
        why="full",
        place=1,
        trigger_phrase="/rebyte",
        queue_hours=24,
    )
    return int(comment["id"])


def finish(emulator: Emulator, task_id: str) -> None:
    """The task's agent is done: its prompts end now."""
    with emulator.state.lock:
        for prompt in emulator.state.tasks[task_id].prompts:
            prompt.ends_at = time.time() - 0.01


def answer(github: FakeGitHub, issue: int) -> str:
    bodies = [c["body"] for c in github.comments(issue)]
    assert len(bodies) == 1, bodies
    return bodies[0]


def created_tasks(emulator: Emulator) -> list[str]:
    return [t.prompts[0].text.split("\n")[0] for t in emulator.state.tasks.values()]


def test_a_request_over_max_running_is_queued_with_why_its_place_and_how_to_drop_it(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    result = action.run("issue_comment", request(2, 200, "/rebyte fix the docs"), max_running="1")
    assert result.returncode == 0, result.log
    body = answer(github, 2)
    assert "⏸ **Queued** for @Codertocat" in body
    assert "limit of 1 running task(s) (`max-running`)" in body
    assert "Place in this repository's queue:** 1" in body
    assert "`/rebyte cancel`" in body
    assert len(emulator.state.tasks) == 1  # no task
    assert [r["content"] for r in github.reactions()] == ["eyes"]  # 👀 stays, nothing else
    assert result.outputs["status"] == "queued" and result.outputs["task-id"] == ""
    assert "Queue: 1 request(s) waiting" in result.summary


def test_the_per_user_limit_queues_that_users_request_and_lets_others_start(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_permission("ann", "write")
    github.set_permission("bob", "write")
    seed_running(github, emulator, 1, by="ann")
    ann = action.run("issue_comment", request(2, 200, "/rebyte more", sender="ann"), max_running_per_user="1")
    bob = action.run(
        "issue_comment", request(3, 300, "/rebyte other", sender="bob"), max_running_per_user="1"
    )
    assert (ann.returncode, bob.returncode) == (0, 0), ann.log + bob.log
    assert "@ann has 1 task(s) running or starting here" in answer(github, 2)
    assert "(`max-running-per-user`) is 1" in answer(github, 2)
    assert "🚀 **Rebyte task started**" in answer(github, 3)
    assert created_tasks(emulator)[1:] == ["other"]


def test_rebytes_limit_exceeded_queues_the_request_with_rebytes_message(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    emulator.config.max_running = 1
    result = action.run("issue_comment", request(2, 200, "/rebyte fix"))
    assert result.returncode == 0, result.log
    body = answer(github, 2)
    assert "⏸ **Queued**" in body
    assert "Rebyte refused to start a task: concurrent task limit reached" in body
    assert len(emulator.state.tasks) == 1
    assert [r.status for r in emulator.requests("POST", "/v1/tasks")][-1] == 429


def test_queue_false_keeps_the_failure_reply_on_rebytes_limit(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    emulator.config.max_running = 1
    result = action.run("issue_comment", request(2, 200, "/rebyte fix"), queue="false")
    assert result.returncode == 1
    body = answer(github, 2)
    assert "Rebyte could not start the task" in body and "A Rebyte limit was reached" in body
    assert "Queued" not in body
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]


def test_queue_false_with_this_actions_limit_fails_saying_which_limit(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    result = action.run("issue_comment", request(2, 200, "/rebyte fix"), max_running="1", queue="false")
    assert result.returncode == 1
    body = answer(github, 2)
    assert "Not started: over a limit" in body and "`max-running`" in body and "(queue: false)" in body
    assert len(emulator.state.tasks) == 1


def test_the_reconciler_starts_queued_requests_in_order_as_places_free(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    first = seed_running(github, emulator, 1)
    limits = {"max_running": "1"}
    for issue in (2, 3):
        queued = action.run("issue_comment", request(issue, issue * 100, f"/rebyte job {issue}"), **limits)
        assert queued.returncode == 0, queued.log
    assert "Place in this repository's queue:** 2" in answer(github, 3)

    idle = action.run("schedule", SCHEDULE, mode="reconcile", **limits)  # nothing ended: nothing starts
    assert idle.returncode == 0, idle.log
    assert len(emulator.state.tasks) == 1 and "Queue: 2 request(s) waiting" in idle.summary

    finish(emulator, first)
    result = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert result.returncode == 0, result.log
    assert created_tasks(emulator)[1:] == ["job 2"]  # the oldest only: one place freed
    started = answer(github, 2)  # the queued answer became the started one; the claim is gone
    assert "🚀 **Rebyte task started**" in started and '"request":"comment:200"' in started
    assert "⏸" in answer(github, 3)
    assert "Started 1 task(s) for queued requests" in result.summary
    assert "Queue: 1 request(s) waiting" in result.summary

    second = next(t.id for t in emulator.state.tasks.values() if t.prompts[0].text.startswith("job 2"))
    finish(emulator, second)
    again = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert again.returncode == 0, again.log
    assert created_tasks(emulator)[1:] == ["job 2", "job 3"]
    assert "🚀 **Rebyte task started**" in answer(github, 3)
    assert "Queue: empty." in again.summary


def test_a_later_requests_run_that_finds_a_free_place_starts_the_oldest_queued_request_first(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    limits = {"max_running": "1"}
    followed = action.start(
        "issue_comment", request(1, 100, "/rebyte long [emulate:hang]"), raw_env=FAST, wait="true", **limits
    )
    deadline = time.monotonic() + 20
    while "Rebyte task started" not in "".join(c["body"] for c in github.comments(1)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert action.run("issue_comment", request(2, 200, "/rebyte second"), **limits).returncode == 0
    assert "⏸" in answer(github, 2)
    finish(emulator, next(iter(emulator.state.tasks)))
    done = followed.result()
    assert done.returncode == 0, done.log  # the followed run showed the end in its marker

    third = action.run("issue_comment", request(3, 300, "/rebyte third"), **limits)
    assert third.returncode == 0, third.log
    assert created_tasks(emulator)[1:] == ["second"]  # the queued one first, in the only free place
    assert "🚀 **Rebyte task started**" in answer(github, 2)
    assert "⏸" in answer(github, 3) and "Place in this repository's queue:** 1" in answer(github, 3)


def test_two_drains_at_once_start_each_queued_request_once(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    limits = {"max_running": "3"}
    first, second = seed_running(github, emulator, 1), seed_running(github, emulator, 4)
    seed_running(github, emulator, 6)
    for issue in (2, 3):
        queued = action.run("issue_comment", request(issue, issue * 100, f"/rebyte job {issue}"), **limits)
        assert queued.returncode == 0, queued.log
    for done in (first, second):  # two places free; ended and gone, so the reconcilers see it at once
        finish(emulator, done)
        emulator.state.tasks[done].deleted = True
    emulator.config.provision_seconds = 1.5  # a create takes a while: the drains overlap
    runs = [action.start("schedule", SCHEDULE, mode="reconcile", **limits) for _ in range(2)]
    runs.append(action.start("issue_comment", request(5, 500, "/rebyte fifth"), **limits))
    results = [run.result() for run in runs]
    assert [r.returncode for r in results] == [0, 0, 0], [r.log for r in results]
    texts = created_tasks(emulator)
    assert texts.count("job 2") == 1 and texts.count("job 3") == 1, texts
    assert "🚀 **Rebyte task started**" in answer(github, 2) and "🚀 **Rebyte task started**" in answer(
        github, 3
    )
    running = sum(1 for t in emulator.state.tasks.values() if not t.deleted)
    assert running <= 3  # the limit held: the fifth started only if a place was left for it
    assert ("fifth" in texts) == ("🚀" in answer(github, 5)) and ("fifth" in texts) != (
        "⏸" in answer(github, 5)
    )
    assert all("rebyte-action:claim" not in c["body"] for i in (1, 2, 3, 4, 5) for c in github.comments(i))


def test_a_queued_request_older_than_queue_hours_expires_and_one_left_claimed_is_never_started_again(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    plan = Plan("old work", None, None, (), "master", "Codertocat/Hello-World", None)
    facts = {**pack_plan(plan), "by": "Codertocat"}
    post_queued(github, 2, "comment:200", facts, created_at=datetime.now(UTC) - timedelta(hours=25))
    # And one whose claimant stopped an hour ago, before saying whether it started a task.
    claimed = post_queued(github, 3, "comment:300", facts)
    github.add_comment(
        3, claim_comment(claimed, "Codertocat"), created_at=datetime.now(UTC) - timedelta(hours=1)
    )
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1")
    assert result.returncode == 0, result.log
    expired = answer(github, 2)
    assert "Not started: expired in the queue" in expired and "`queue-hours` (24 h)" in expired
    assert emulator.state.tasks == {}
    unknown = github.comments(3)[0]["body"]
    assert "Not started from the queue: outcome unknown" in unknown and "rebyte-action:unknown" in unknown
    assert sorted(r["on"] for r in github.reactions()) == ["/issues/comments/200", "/issues/comments/300"]
    assert {r["content"] for r in github.reactions()} == {"confused"}
    assert "1 queued request(s) expired" in result.summary


def test_cancel_drops_a_queued_request_and_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    assert action.run("issue_comment", request(2, 200, "/rebyte fix"), max_running="1").returncode == 0
    result = action.run("issue_comment", request(2, 201, "/rebyte cancel"), max_running="1")
    assert result.returncode == 0, result.log
    dropped, reply = (c["body"] for c in github.comments(2))
    assert "Not started: dropped from the queue" in dropped and "@Codertocat dropped this request" in dropped
    assert (
        "@Codertocat, about [your request]" in reply and "1 queued request(s) in this thread dropped" in reply
    )
    assert "rebyte-action:reply" in reply
    assert "A task already running in this thread goes on" not in reply  # there is none in #2
    assert len(emulator.state.tasks) == 1 and emulator.requests("DELETE") == []
    later = action.run("schedule", SCHEDULE, mode="reconcile", max_running="5")
    assert later.returncode == 0 and len(emulator.state.tasks) == 1  # never started afterwards


def test_a_follow_up_to_a_running_task_is_never_queued(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    result = action.run("issue_comment", request(1, 101, "/rebyte also add tests"), max_running="1")
    assert result.returncode == 0, result.log
    assert "💬 **Sent to this thread's Rebyte task**" in github.comments(1)[-1]["body"]
    assert len(emulator.state.tasks) == 1


def test_the_count_is_kept_from_markers_without_a_request_per_task(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    def calls_of_one_request(issue: int, **inputs: str) -> tuple[list[str], list[str]]:
        github_before, rebyte_before = len(github.calls()), len(emulator.requests())
        result = action.run("issue_comment", request(issue, issue * 100, f"/rebyte job {issue}"), **inputs)
        assert result.returncode == 0, result.log
        return github.calls()[github_before:], [
            f"{r.method} {r.path}" for r in emulator.requests()[rebyte_before:]
        ]

    baseline, _ = calls_of_one_request(20)
    for issue in range(30, 60):  # 30 running tasks
        seed_running(github, emulator, issue)
    limited, rebyte = calls_of_one_request(21, max_running="40")
    shape = [re.sub(r"\d+", "N", call) for call in baseline]
    # The one listing of the repository's comments every run makes, after the pending answer:
    # a limit adds nothing per task (its window is longer, still one page here).
    assert shape[5] == f"GET {R}/issues/comments"
    assert [re.sub(r"\d+", "N", call) for call in limited] == shape
    assert rebyte == ["POST /v1/tasks"]  # nothing asked of Rebyte per task
    # Across runs: the task just started counts too (30 seeded + 2 started = 32).
    assert action.run("issue_comment", request(22, 2200, "/rebyte x"), max_running="32").returncode == 0
    assert "⏸" in answer(github, 22) and "32 running or starting" in answer(github, 22)


def test_the_emulators_account_limit_refuses_creates_while_that_many_tasks_run(
    emulator: Emulator, client: RebyteClient
) -> None:
    emulator.config.max_running = 1
    first = client.create_task("one [emulate:hang]")
    with pytest.raises(LimitExceededError) as refused:
        client.create_task("two")
    assert refused.value.status == 429 and refused.value.code == "limit_exceeded"
    assert "1 tasks running, this account allows 1" in refused.value.message
    finish(emulator, first.id)
    assert client.create_task("three").id  # a place freed


FILE_LIMITS = "limits:\n  max-running: 1\n"
ON = {"config_file": ".github/rebyte.yml"}


def test_the_config_files_limits_win_over_the_inputs_on_a_request_and_in_the_reconciler(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(".github/rebyte.yml", FILE_LIMITS)
    first = seed_running(github, emulator, 1)
    # The inputs set no limit (0); the file's `max-running: 1` queues the request.
    queued = action.run("issue_comment", request(2, 200, "/rebyte job 2"), **ON)
    assert queued.returncode == 0, queued.log
    assert "limit of 1 running task(s) (`max-running`)" in answer(github, 2)
    assert len(emulator.state.tasks) == 1

    # The reconciler reads the same file (from the default branch) and drains one place's worth.
    finish(emulator, first)
    drained = action.run("schedule", SCHEDULE, mode="reconcile", max_running="5", **ON)
    assert drained.returncode == 0, drained.log
    assert created_tasks(emulator)[1:] == ["job 2"]
    reads = [r for r in github.requests() if r.route.endswith("/contents/.github/rebyte.yml")]
    assert len(reads) == 2  # once a run


def test_a_config_file_the_reconciler_cannot_use_starts_no_queued_request_until_it_can(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    running = seed_running(github, emulator, 1)
    assert action.run("issue_comment", request(2, 200, "/rebyte wait"), max_running="1").returncode == 0
    assert "⏸" in answer(github, 2)
    finish(emulator, running)
    emulator.state.tasks[running].deleted = True  # a place is free by the inputs
    github.set_file(".github/rebyte.yml", "limits:\n  max-runing: 1\n")
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1", **ON)
    assert result.returncode == 0, result.log
    assert "::warning title=rebyte-action::Could not use .github/rebyte.yml" in result.log
    assert "max-runing" in result.log
    assert "no queued request is started until its limits can be read" in result.summary
    assert len(emulator.state.tasks) == 1 and "⏸" in answer(github, 2)  # the file may allow fewer
    github.set_file(".github/rebyte.yml", "limits:\n  max-running: 1\n")
    fixed = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1", **ON)
    assert fixed.returncode == 0, fixed.log
    assert "🚀 **Rebyte task started**" in answer(github, 2)
