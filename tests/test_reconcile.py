"""The scheduled reconciler end to end: hand-overs closed, every ending shown, idempotent, bounded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.report import RUNNING, TaskFacts, started_comment
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event
from .test_action import R

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
SCHEDULE = {"schedule": "*/10 * * * *"}


def writes(github: FakeGitHub, since: int = 0) -> list[str]:
    return [call for call in github.calls()[since:] if not call.startswith("GET ")]


def seed(
    github: FakeGitHub,
    emulator: Emulator,
    issue: int,
    prompt: str,
    *,
    check: bool = True,
    followed: bool = True,
) -> tuple[str, int, int | None]:
    """A task started earlier by a run that did not wait: the task, its status comment, its check run."""
    created = emulator.state.create_task({"prompt": prompt, "githubUrl": "Codertocat/Hello-World"})
    facts = TaskFacts(
        task_id=created["id"],
        url=created["url"],
        workspace_id=created["workspaceId"],
        branch="master",
        repository="Codertocat/Hello-World",
        executor=None,
        model=None,
        skills=(),
        requested_by="Codertocat",
        request_url=None,
        run_url=None,
    )
    check_run = github.add_check_run(SHA) if check else None
    comment = github.add_comment(
        issue,
        started_comment(
            facts, f"comment:{issue}00", state=RUNNING if followed else None, check_run=check_run
        ),
    )
    return created["id"], comment["id"], check_run


def test_a_handed_over_check_run_is_closed_by_the_reconciler_and_a_second_run_writes_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    started = action.run("issue_comment", comment_event("/rebyte fix"), check_run="true", wait="false")
    assert started.returncode == 0, started.log
    assert emulator.requests("GET") == []  # not followed: the run exited at once
    (run,) = github.check_runs()
    assert run["status"] == "in_progress"
    assert "scheduled reconciler" in run["output"]["summary"]
    (answer,) = github.comments(1)
    assert f'"check":{run["id"]}' in answer["body"] and '"status":"running"' in answer["body"]
    assert started.outputs["status"] == "running"

    time.sleep(0.5)  # the emulator's task takes 0.2 s
    before = len(github.calls())
    result = action.run("schedule", SCHEDULE, mode="reconcile")
    assert result.returncode == 0, result.log
    (run,) = github.check_runs()
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    body = github.comments(1)[0]["body"]
    assert "✅ **Rebyte task completed**" in body and "| Status | ✅ completed |" in body
    assert "| Ended |" in body
    assert [r["content"] for r in github.reactions()] == ["eyes", "rocket"]
    assert writes(github, before) == [
        f"PATCH {R}/issues/comments/{answer['id']}",
        f"PATCH {R}/check-runs/{run['id']}",
        f"POST {R}/issues/comments/492700400/reactions",
    ]
    assert "| ✅ completed | comment, check run, reaction |" in result.summary

    before = len(github.calls())
    again = action.run("schedule", SCHEDULE, mode="reconcile")
    assert again.returncode == 0, again.log
    assert writes(github, before) == []
    assert "No open tasks" in again.summary


def test_the_reconciler_shows_every_ending_fetches_only_finished_tasks_and_is_idempotent(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    running, running_comment, running_check = seed(github, emulator, 1, "go [emulate:hang]")
    done, done_comment, done_check = seed(github, emulator, 2, "go")
    failed, failed_comment, failed_check = seed(github, emulator, 3, "go [emulate:fail]")
    canceled, canceled_comment, _ = seed(github, emulator, 4, "go [emulate:cancel]", check=False)
    deleted, deleted_comment, deleted_check = seed(github, emulator, 5, "go", followed=False)
    emulator.state.delete_task(deleted)
    time.sleep(0.5)
    emulator.state.requests.clear()

    result = action.run("schedule", SCHEDULE, mode="reconcile")
    assert result.returncode == 0, result.log
    # One list page tells which ended; only those (and the deleted one the list no longer shows) are read.
    assert sorted(f"{r.method} {r.path}" for r in emulator.requests()) == sorted(
        ["GET /v1/tasks"] + [f"GET /v1/tasks/{t}" for t in (done, failed, canceled, deleted)]
    )
    bodies = {c["id"]: c["body"] for issue in range(1, 6) for c in github.comments(issue)}
    assert "🚀 **Rebyte task started**" in bodies[running_comment]
    assert "✅ **Rebyte task completed**" in bodies[done_comment]
    assert "❌ **Rebyte task failed**" in bodies[failed_comment]
    assert "🚫 **Rebyte task canceled**" in bodies[canceled_comment]
    assert "🚫 **Rebyte task canceled**" in bodies[deleted_comment]
    assert "deleted on Rebyte" in bodies[deleted_comment]
    runs = {run["id"]: run for run in github.check_runs()}
    assert runs[running_check]["status"] == "in_progress"
    assert runs[done_check]["conclusion"] == "success"
    assert runs[failed_check]["conclusion"] == "failure"
    assert runs[deleted_check]["conclusion"] == "cancelled"
    reactions = {r["on"]: r["content"] for r in github.reactions()}
    assert reactions == {
        "/issues/comments/200": "rocket",
        "/issues/comments/300": "confused",
        "/issues/comments/400": "confused",
        "/issues/comments/500": "confused",
    }
    assert "Requests: GitHub 12 (1 comment listing page(s), 11 write(s)); Rebyte 5." in result.summary

    before = len(github.calls())
    emulator.state.requests.clear()
    again = action.run("schedule", SCHEDULE, mode="reconcile")
    assert again.returncode == 0, again.log
    assert writes(github, before) == []
    assert [f"{r.method} {r.path}" for r in emulator.requests()] == ["GET /v1/tasks"]  # the running one
    assert running[:8] in again.summary


def test_reconcile_max_takes_the_oldest_first_and_old_tasks_are_left_alone(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed(github, emulator, 1, "go", check=False)
    with github.lock:  # asked for 20 days ago, edited (by someone) today
        github.comments(1)[0]["created_at"] = (datetime.now(UTC) - timedelta(days=20)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    for issue in (2, 3):
        seed(github, emulator, issue, "go", check=False)
    newest, _, _ = seed(github, emulator, 4, "go", check=False)
    legacy = emulator.state.create_task({"prompt": "go"})  # an answer from before markers kept facts
    github.add_comment(5, f'🚀 started\n\n<!-- rebyte-action:task {{"task":"{legacy["id"]}"}} -->')
    time.sleep(0.5)
    result = action.run("schedule", SCHEDULE, mode="reconcile", reconcile_max="2")
    assert result.returncode == 0, result.log
    assert "completed" in github.comments(2)[0]["body"] and "completed" in github.comments(3)[0]["body"]
    assert "🚀 **Rebyte task started**" in github.comments(4)[0]["body"]  # the next run's
    assert "🚀 **Rebyte task started**" in github.comments(1)[0]["body"]  # too old: left alone
    assert "1 more open task(s) are left for the next run" in result.summary
    assert "1 open task(s) older than 14 days (reconcile-days) are left alone" in result.summary
    assert not emulator.requests("GET", f"/v1/tasks/{newest}")
    assert github.comments(5)[0]["body"].startswith("🚀 started")  # left as it was


def test_a_task_that_completes_after_its_run_stopped_following_trades_the_confused_reaction_for_a_rocket(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run(
        "issue_comment",
        comment_event("/rebyte fix [emulate:seconds=1]"),
        wait="true",
        timeout_minutes="0.002",
        raw_env={"REBYTE_ACTION_POLL_SECONDS": "0.05"},
    )
    assert result.returncode == 1
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]
    time.sleep(1.2)
    assert action.run("schedule", SCHEDULE, mode="reconcile").returncode == 0
    assert [r["content"] for r in github.reactions()] == ["eyes", "rocket"]
    assert "✅ **Rebyte task completed**" in github.comments(1)[0]["body"]
