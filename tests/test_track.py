"""Following a task to its end: the status comment, the check run, the step's result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event, load_event
from .test_action import (
    LIST_COMMENTS_1,
    LIST_REPO,
    PERMISSION,
    POST_COMMENT_1,
    REACT_ON_COMMENT,
    R,
    only_task,
)

FAST = {"REBYTE_ACTION_POLL_SECONDS": "0.05"}


def patch_comment(github: FakeGitHub) -> str:
    return f"PATCH {R}/issues/comments/{github.comments(1)[0]['id']}"


def test_wait_follows_the_task_and_marks_the_comment_completed(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run("issue_comment", comment_event("/rebyte fix"), wait="true", raw_env=FAST)
    assert result.returncode == 0, result.log
    assert github.calls() == [
        PERMISSION,
        REACT_ON_COMMENT,
        LIST_COMMENTS_1,
        POST_COMMENT_1,
        LIST_COMMENTS_1,
        LIST_REPO,  # the queue, before the task starts
        patch_comment(github),  # pending -> started, running
        patch_comment(github),  # running -> completed
        REACT_ON_COMMENT,  # 🚀 on the request: it is done
    ]
    started = github.requests()[6].body["body"]
    assert "🚀 **Rebyte task started**" in started and "| Status | ⏳ running |" in started
    (comment,) = github.comments(1)
    assert "✅ **Rebyte task completed**" in comment["body"]
    assert "| Status | ✅ completed |" in comment["body"]
    assert "| Ended | " in comment["body"] and " after it started |" in comment["body"]
    assert [r["content"] for r in github.reactions()] == ["eyes", "rocket"]
    assert '"task":"' in comment["body"]  # the marker survives the edit
    assert result.outputs["status"] == "completed"
    assert "task completed" in result.summary


@pytest.mark.parametrize(
    ("directive", "status", "icon", "conclusion"),
    [("[emulate:fail]", "failed", "❌", "failure"), ("[emulate:cancel]", "canceled", "🚫", "cancelled")],
)
def test_a_task_that_fails_fails_the_step_and_heading_row_reaction_and_check_run_agree(
    action: Action,
    emulator: Emulator,
    github: FakeGitHub,
    directive: str,
    status: str,
    icon: str,
    conclusion: str,
) -> None:
    result = action.run(
        "issue_comment", comment_event(f"/rebyte fix {directive}"), check_run="true", raw_env=FAST
    )
    assert result.returncode == 1
    body = github.comments(1)[0]["body"]
    assert f"{icon} **Rebyte task {status}**" in body and "started**" not in body
    assert f"| Status | {icon} {status} |" in body and "| Ended | " in body
    assert github.check_runs()[0]["conclusion"] == conclusion
    assert len(github.comments(1)) == 1  # the status comment says it; no second comment
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]
    assert f"::error title=rebyte-action::The Rebyte task ended {status}" in result.stdout
    assert result.outputs["status"] == status


def test_following_stops_at_the_timeout_and_the_task_goes_on(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run(
        "issue_comment",
        comment_event("/rebyte forever [emulate:hang]"),
        wait="true",
        timeout_minutes="0.005",
        raw_env=FAST,
    )
    assert result.returncode == 1
    body = github.comments(1)[0]["body"]
    assert "⏱️ **Rebyte task still running, no longer followed**" in body
    assert "| Status | ⏱️ still running after 0.005 minutes; no longer followed here |" in body
    assert '"status":"timed out"' in body  # not final: the reconciler will look again
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]
    assert result.outputs["status"] == "running"
    assert "Stopped following the task" in result.stdout
    assert only_task(emulator).status(emulator.state.now()) == "running"


def test_a_check_run_on_the_pull_requests_head_follows_the_task(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.add_pull(1, head_ref="fix/typo")
    result = action.run(
        "issue_comment", comment_event("/rebyte fix", on_pull=True), check_run="true", raw_env=FAST
    )
    assert result.returncode == 0, result.log
    assert github.calls() == [
        PERMISSION,
        f"GET {R}/pulls/1",
        REACT_ON_COMMENT,
        LIST_COMMENTS_1,
        POST_COMMENT_1,
        LIST_COMMENTS_1,
        LIST_REPO,  # the queue, before the task starts
        f"POST {R}/check-runs",  # before the answer, whose marker records its id
        patch_comment(github),
        patch_comment(github),
        f"PATCH {R}/check-runs/{github.check_runs()[0]['id']}",
        REACT_ON_COMMENT,
    ]
    assert f'"check":{github.check_runs()[0]["id"]}' in github.comments(1)[0]["body"]
    (run,) = github.check_runs()
    task = only_task(emulator)
    assert run["name"] == "Rebyte"
    assert run["head_sha"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert run["details_url"] == f"https://app.rebyte.ai/run/{task.id}"
    assert run["external_id"] == task.id
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert "completed" in run["output"]["title"]


def test_a_check_run_for_an_issue_uses_the_workflow_commit(action: Action, github: FakeGitHub) -> None:
    result = action.run(
        "issue_comment", comment_event("/rebyte fix [emulate:fail]"), check_run="true", raw_env=FAST
    )
    assert result.returncode == 1
    (run,) = github.check_runs()
    assert run["head_sha"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # GITHUB_SHA
    assert run["conclusion"] == "failure"


def test_a_timed_out_check_run_says_timed_out(action: Action, github: FakeGitHub) -> None:
    action.run(
        "issue_comment",
        comment_event("/rebyte x [emulate:hang]"),
        check_run="true",
        timeout_minutes="0.005",
        raw_env=FAST,
    )
    assert github.check_runs()[0]["conclusion"] == "timed_out"


def test_without_checks_permission_the_task_is_still_followed(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fail("POST", f"{R}/check-runs", 403, message="Resource not accessible by integration")
    result = action.run("issue_comment", comment_event("/rebyte fix"), check_run="true", raw_env=FAST)
    assert result.returncode == 0, result.log
    assert "checks: write" in result.stdout
    assert "| Status | ✅ completed |" in github.comments(1)[0]["body"]


def test_a_direct_prompt_can_wait_with_no_issue_to_comment_on(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    event = load_event("workflow_dispatch")
    result = action.run("workflow_dispatch", event, prompt="Do it", wait="true", raw_env=FAST)
    assert result.returncode == 0, result.log
    assert github.calls() == []  # only writers can dispatch: no permission check, nothing to comment on
    assert result.outputs["status"] == "completed"


def test_a_follow_up_is_followed_to_its_own_end(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run("issue_comment", comment_event("/rebyte first"), raw_env=FAST)
    later = comment_event("/rebyte then fail [emulate:fail]")
    later["comment"]["id"] = 9
    result = action.run("issue_comment", later, wait="true", raw_env=FAST)
    assert result.returncode == 1
    assert result.outputs["status"] == "failed"
    assert len(only_task(emulator).prompts) == 2


def test_a_cancelled_run_closes_the_check_run_and_stops_promptly(
    action: Action, emulator: Emulator, github: FakeGitHub, tmp_path
) -> None:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(comment_event("/rebyte wait [emulate:hang]")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(
        {
            "GITHUB_EVENT_NAME": "issue_comment",
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": "Codertocat/Hello-World",
            "GITHUB_API_URL": github.url,
            "GITHUB_SHA": "abc123",
            "INPUT_REBYTE-API-KEY": "rbk_x",
            "INPUT_GITHUB-TOKEN": "ghs_x",
            "INPUT_REBYTE-BASE-URL": emulator.url,
            "INPUT_CHECK-RUN": "true",
            **FAST,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "rebyte_action"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Following task"):
            break
    process.send_signal(signal.SIGTERM)
    rest = process.stdout.read()
    assert process.wait(timeout=10) == 1
    assert "The workflow run was cancelled" in rest
    (run,) = github.check_runs()
    assert run["conclusion"] == "cancelled"
    assert "no longer followed here" in github.comments(1)[0]["body"]


def test_a_re_run_of_a_waiting_run_follows_the_task_it_already_started(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    event = comment_event("/rebyte fix")
    first = action.run("issue_comment", event, raw_env=FAST)  # as if its wait had died
    second = action.run("issue_comment", event, wait="true", raw_env=FAST)
    assert second.returncode == 0, second.log
    assert len(emulator.requests("POST", "/v1/tasks")) == 1
    assert second.outputs["task-id"] == first.outputs["task-id"]
    assert second.outputs["status"] == "completed"
    (answer,) = github.comments(1)
    assert "| Status | ✅ completed |" in answer["body"]
    assert "`Codertocat/Hello-World` on branch `master`" in answer["body"]


def test_losing_track_of_the_task_says_so_in_heading_and_row(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.add_fault(kind="status", status=400, times=-1, match="GET /v1/tasks/")
    result = action.run("issue_comment", comment_event("/rebyte fix"), wait="true", raw_env=FAST)
    assert result.returncode == 1
    body = github.comments(1)[0]["body"]
    assert (
        "⚠️ **Lost track of the Rebyte task**" in body
        and "| Status | ⚠️ unknown: the action lost track" in body
    )
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]
    assert result.outputs["status"] == "unknown"
