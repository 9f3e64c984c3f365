"""Fan-out end to end: `--executor a,b` starts a task per executor, answered side by side, and
the group is found again by later requests, verbs, re-runs and the reconciler. Its pure parts
(grammar, group decisions, rendering) are in test_group.py."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from rebyte_action.group import GROUP
from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.report import Marker, find_markers
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event
from .test_action import LIST_COMMENTS_1, LIST_REPO, PERMISSION, POST_COMMENT_1, REACT_ON_COMMENT, edit_answer
from .test_verbs import later

FAST = {"REBYTE_ACTION_POLL_SECONDS": "0.05"}


def tasks_by_executor(emulator: Emulator) -> dict[str, Any]:
    return {task.executor: task for task in emulator.state.tasks.values()}


def group_marker(body: str) -> Marker:
    (marker,) = [m for m in find_markers(body) if m.kind == GROUP]
    return marker


def test_two_executors_start_a_task_each_on_the_same_branch_and_prompt_answered_side_by_side(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run("issue_comment", comment_event("/rebyte --executor claude,codex fix the typo"))
    assert result.returncode == 0, result.log
    assert github.calls() == [
        PERMISSION,
        REACT_ON_COMMENT,
        LIST_COMMENTS_1,
        POST_COMMENT_1,
        LIST_REPO,  # the queue, before the task starts (verbs/queued.gate)
        edit_answer(github),
    ]
    tasks = tasks_by_executor(emulator)
    assert sorted(tasks) == ["claude", "codex"]
    claude, codex = tasks["claude"], tasks["codex"]
    assert (claude.branch_name, claude.github_url) == (codex.branch_name, codex.github_url)
    assert claude.prompts[0].text == codex.prompts[0].text
    assert claude.prompts[0].text.startswith("fix the typo\n")
    (answer,) = github.comments(1)
    body = answer["body"]
    assert "🚀 **2 Rebyte tasks started side by side** (claude, codex)" in body
    assert f"| claude | [watch it live]({task_url(claude)}) | 🚀 started |" in body
    assert f"| codex | [watch it live]({task_url(codex)}) | 🚀 started |" in body
    marker = group_marker(body)
    assert marker.request == "comment:492700400"
    assert [(m.task_id, m.workspace_id) for m in marker.members] == [
        (claude.id, claude.workspace_id),
        (codex.id, codex.workspace_id),
    ]
    assert result.outputs["task-id"] == claude.id and result.outputs["task-url"] == task_url(claude)
    assert json.loads(result.outputs["task-ids"]) == [claude.id, codex.id]
    assert json.loads(result.outputs["task-urls"]) == [task_url(claude), task_url(codex)]
    assert result.outputs["status"] == "running"
    assert claude.id in result.summary and codex.id in result.summary


def task_url(task: Any) -> str:
    return f"https://app.rebyte.ai/run/{task.id}"


def test_four_executors_start_four_tasks_and_duplicates_count_once(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run(
        "issue_comment", comment_event("/rebyte --executor claude,codex,gemini,CLAUDE,opencode go")
    )
    assert result.returncode == 0, result.log
    assert sorted(tasks_by_executor(emulator)) == ["claude", "codex", "gemini", "opencode"]
    assert len(emulator.requests("POST", "/v1/tasks")) == 4
    assert len(json.loads(result.outputs["task-ids"])) == 4
    assert (
        "4 Rebyte tasks started side by side** (claude, codex, gemini, opencode)"
        in github.comments(1)[0]["body"]
    )


def test_one_executor_named_twice_is_a_single_task_answered_as_ever(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run("issue_comment", comment_event("/rebyte --executor codex,codex go"))
    assert result.returncode == 0, result.log
    (task,) = emulator.state.tasks.values()
    assert task.executor == "codex"
    assert "🚀 **Rebyte task started**" in github.comments(1)[0]["body"]
    assert "task-ids" not in result.outputs


@pytest.mark.parametrize(
    ("executors", "problem"),
    [("claude,codex,gemini,opencode,aider", "at most 4 run side by side"), ("claude,aider", "`aider`")],
)
def test_more_than_four_or_an_unknown_executor_starts_nothing_and_the_reply_says_why(
    action: Action, emulator: Emulator, github: FakeGitHub, executors: str, problem: str
) -> None:
    result = action.run("issue_comment", comment_event(f"/rebyte --executor {executors} go"))
    assert result.returncode == 0, result.log
    assert emulator.requests() == []
    (reply,) = github.comments(1)
    assert "I could not read that command" in reply["body"] and problem in reply["body"]
    assert "--executor A,B" in reply["body"]  # the usage shows the fan-out


def test_one_create_failing_leaves_the_other_running_and_the_answer_says_which_failed_and_why(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.add_fault(kind="status", status=400, match="POST /v1/tasks", times=1)
    result = action.run("issue_comment", comment_event("/rebyte --executor claude,codex go"))
    assert result.returncode == 1
    (codex,) = emulator.state.tasks.values()
    assert codex.executor == "codex"
    body = github.comments(1)[0]["body"]
    assert "⚠️ **1 of 2 Rebyte tasks started** (claude, codex)" in body
    assert "| claude | — | ❌ not started (see below) |" in body
    assert (
        "**claude**: Rebyte could not start the task: Rebyte answered `validation_error` (HTTP 400)" in body
    )
    assert f"| codex | [watch it live]({task_url(codex)}) | 🚀 started |" in body
    assert result.outputs["task-id"] == codex.id and json.loads(result.outputs["task-ids"]) == [codex.id]
    assert "::claude: Rebyte could not start the task" in result.stdout
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]
    again = action.run("issue_comment", comment_event("/rebyte --executor claude,codex go"))
    assert again.returncode == 0, again.log  # the re-run reports the group and starts none
    assert len(emulator.state.tasks) == 1


def test_a_later_request_goes_to_every_task_of_the_group_and_executor_picks_one(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run("issue_comment", comment_event("/rebyte --executor claude,codex go"))
    tasks = tasks_by_executor(emulator)
    both = action.run("issue_comment", later("/rebyte now add a test"))
    assert both.returncode == 0, both.log
    assert len(emulator.state.tasks) == 2
    assert [len(tasks["claude"].prompts), len(tasks["codex"].prompts)] == [2, 2]
    body = github.comments(1)[-1]["body"]
    assert "💬 **Sent to 2 of this thread's Rebyte tasks** (claude, codex)" in body
    assert "| claude | " in body and "💬 sent" in body
    assert json.loads(both.outputs["task-ids"]) == [tasks["claude"].id, tasks["codex"].id]

    one = action.run("issue_comment", later("/rebyte --executor codex only you", 700))
    assert one.returncode == 0, one.log
    assert len(emulator.state.tasks) == 2  # no fresh task: codex is in the group
    assert [len(tasks["claude"].prompts), len(tasks["codex"].prompts)] == [2, 3]
    assert tasks["codex"].prompts[-1].text.startswith("only you\n")
    body = github.comments(1)[-1]["body"]
    assert "Sent to 1 of this thread's Rebyte tasks** (codex)" in body and "| claude |" not in body
    assert one.outputs["task-id"] == tasks["codex"].id

    again = action.run("issue_comment", later("/rebyte and both again", 800))
    assert again.returncode == 0, again.log  # the picked follow-up kept the whole group
    assert [len(tasks["claude"].prompts), len(tasks["codex"].prompts)] == [3, 4]


def test_status_reads_every_task_of_the_group_and_answers_in_one_reply(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run("issue_comment", comment_event("/rebyte --executor claude,codex go"))
    tasks = tasks_by_executor(emulator)
    emulator.state.requests.clear()
    result = action.run("issue_comment", later("/rebyte status"))
    assert result.returncode == 0, result.log
    assert sorted(f"{r.method} {r.path}" for r in emulator.requests()) == sorted(
        f"GET /v1/tasks/{t.id}" for t in tasks.values()
    )
    reply = github.comments(1)[-1]["body"]
    assert "this thread's 2 Rebyte tasks" in reply and "| Agent | Status | Prompts | Live |" in reply
    for name, task in tasks.items():
        assert f"| {name} | " in reply and f"[watch it live]({task_url(task)})" in reply
    assert len(tasks["claude"].prompts) == 1


def test_share_makes_every_task_public_and_the_reply_and_the_group_comment_carry_the_links(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run("issue_comment", comment_event("/rebyte --executor claude,codex go"))
    result = action.run("issue_comment", later("/rebyte share"))
    assert result.returncode == 0, result.log
    status_comment, reply = github.comments(1)
    for task in emulator.state.tasks.values():
        assert task.visibility == "public"
        link = f"https://app.rebyte.ai/share/{task.id}"
        assert f"**{task.executor}**: {link}" in reply["body"]
        assert f"[public link]({link})" in status_comment["body"]


def test_cancel_stops_every_task_ends_rows_and_check_runs_canceled_and_the_next_request_starts_anew(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.run(
        "issue_comment",
        comment_event("/rebyte --executor claude,codex go [emulate:hang]"),
        check_run="true",
        wait="false",
    )
    assert sorted(r["name"] for r in github.check_runs()) == ["Rebyte (claude)", "Rebyte (codex)"]
    result = action.run("issue_comment", later("/rebyte cancel"))
    assert result.returncode == 0, result.log
    assert all(task.deleted for task in emulator.state.tasks.values())
    assert len(emulator.requests("DELETE")) == 2
    status_comment, reply = github.comments(1)
    assert "🚫 **Rebyte tasks canceled**" in status_comment["body"]
    assert status_comment["body"].count("🚫 canceled by @Codertocat") == 2
    assert "**claude**" in reply["body"] and "**codex**" in reply["body"] and "is canceled" in reply["body"]
    assert [(r["status"], r["conclusion"]) for r in github.check_runs()] == [("completed", "cancelled")] * 2
    assert [r["content"] for r in github.reactions()] == ["eyes", "eyes", "confused"]
    assert result.outputs["status"] == "canceled"
    fresh = action.run("issue_comment", later("/rebyte start over", 700))
    assert fresh.returncode == 0, fresh.log
    assert len(emulator.state.tasks) == 3 and "🚀 **Rebyte task started**" in github.comments(1)[-1]["body"]


def test_a_re_run_of_the_request_starts_none_and_reports_the_group(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    event = comment_event("/rebyte --executor claude,codex go")
    first = action.run("issue_comment", event)
    emulator.state.requests.clear()
    before = len(github.calls())
    result = action.run("issue_comment", event, raw_env={"GITHUB_RUN_ATTEMPT": "2"})
    assert result.returncode == 0, result.log
    assert emulator.requests() == []
    assert github.calls()[before:] == [PERMISSION, LIST_COMMENTS_1, LIST_REPO]  # and the queue
    assert result.outputs["task-ids"] == first.outputs["task-ids"]
    assert result.outputs["comment-id"] == first.outputs["comment-id"]
    assert len(github.comments(1)) == 1


def test_wait_follows_every_task_to_its_end_with_a_check_run_each(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    result = action.run(
        "issue_comment",
        comment_event("/rebyte --executor claude,codex go"),
        check_run="true",
        wait="true",
        raw_env=FAST,
    )
    assert result.returncode == 0, result.log
    runs = {r["name"]: r for r in github.check_runs()}
    assert sorted(runs) == ["Rebyte (claude)", "Rebyte (codex)"]
    assert {(r["status"], r["conclusion"]) for r in runs.values()} == {("completed", "success")}
    tasks = tasks_by_executor(emulator)
    assert runs["Rebyte (codex)"]["external_id"] == tasks["codex"].id
    body = github.comments(1)[0]["body"]
    assert "✅ **Rebyte tasks completed**" in body and body.count("✅ completed · ended") == 2
    assert [r["content"] for r in github.reactions()] == ["eyes", "rocket"]
    assert result.outputs["status"] == "completed"
    assert all(m.status == "completed" for m in group_marker(body).members)


def test_wait_with_one_create_failed_fails_the_step_though_the_other_task_completed(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.add_fault(kind="status", status=400, match="POST /v1/tasks", times=1)
    result = action.run(
        "issue_comment",
        comment_event("/rebyte --executor claude,codex go"),
        check_run="true",
        wait="true",
        raw_env=FAST,
    )
    assert result.returncode == 1
    (run,) = github.check_runs()
    assert (run["name"], run["conclusion"]) == ("Rebyte (codex)", "success")
    body = github.comments(1)[0]["body"]
    assert "1 of 2 Rebyte tasks started" in body and "| codex | " in body and "✅ completed" in body
    assert [r["content"] for r in github.reactions()] == ["eyes", "confused"]
    assert result.outputs["status"] == "completed"


def test_a_group_handed_over_to_the_reconciler_is_closed_whole_and_a_second_run_writes_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    started = action.run(
        "issue_comment", comment_event("/rebyte --executor claude,codex go"), check_run="true", wait="false"
    )
    assert started.returncode == 0, started.log
    assert {r["status"] for r in github.check_runs()} == {"in_progress"}
    time.sleep(0.5)  # the emulator's tasks take 0.2 s
    result = action.run("schedule", {"schedule": "*/10 * * * *"}, mode="reconcile")
    assert result.returncode == 0, result.log
    assert {(r["status"], r["conclusion"]) for r in github.check_runs()} == {("completed", "success")}
    (comment,) = github.comments(1)
    assert "✅ **Rebyte tasks completed**" in comment["body"]
    assert all(m.status == "completed" for m in group_marker(comment["body"]).members)
    assert [r["content"] for r in github.reactions()] == ["eyes", "rocket"]
    assert result.summary.count("| ✅ completed | check run, comment |") == 2
    before = len(github.calls())
    again = action.run("schedule", {"schedule": "*/10 * * * *"}, mode="reconcile")
    assert again.returncode == 0, again.log
    assert [c for c in github.calls()[before:] if not c.startswith("GET ")] == []


def test_a_create_whose_answer_was_lost_is_not_sent_again_and_a_re_run_starts_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.add_fault(kind="drop", after=True, match="POST /v1/tasks", times=1)
    event = comment_event("/rebyte --executor claude,codex go")
    result = action.run("issue_comment", event)
    assert result.returncode == 1
    assert len(emulator.requests("POST", "/v1/tasks")) == 2  # each sent once, the lost one not again
    body = github.comments(1)[0]["body"]
    assert "| claude | — | ⚠️ may have started (see below) |" in body
    assert "**claude**: Rebyte did not answer clearly: The request reached Rebyte" in body
    assert "look for it at https://app.rebyte.ai" in body
    again = action.run("issue_comment", event, raw_env={"GITHUB_RUN_ATTEMPT": "2"})
    assert again.returncode == 0, again.log
    assert len(emulator.requests("POST", "/v1/tasks")) == 2
