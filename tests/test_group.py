"""A fan-out's pure parts as plain data: the executor-list grammar, the group's decisions,
its marker and its comment."""

from __future__ import annotations

import pytest

from rebyte_action.commands import Command, UsageError, executor_list, parse_command
from rebyte_action.group import GROUP, failed_member, group_of, latest_work, overall, route
from rebyte_action.group_report import group_comment
from rebyte_action.report import Marker, ThreadMarker, find_markers


def group_marker(body: str) -> Marker:
    (marker,) = [m for m in find_markers(body) if m.kind == GROUP]
    return marker


# -- the grammar and the group's decisions, as plain data -------------------------------


def test_a_comma_list_of_executors_is_a_fan_out_deduplicated_in_order_and_one_name_stays_single() -> None:
    assert parse_command("--executor claude,Codex,claude fix it") == Command(
        prompt="fix it", executors=("claude", "codex")
    )
    assert parse_command("executor=claude,claude fix it") == Command(prompt="fix it", executor="claude")
    assert parse_command("--executor codex fix it") == Command(prompt="fix it", executor="codex")
    assert executor_list(["gemini", "opencode"]) == ("gemini", "opencode")  # a preset's list


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("claude,codex,gemini,opencode,aider", "names 5 agents; at most 4 run side by side"),
        ("claude,aider", "unknown executor `aider`; choose one of"),
        (",", "`--executor` needs a name"),
    ],
)
def test_a_bad_executor_list_is_a_usage_error_naming_what_is_wrong(value: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem.replace("(", r"\(")):
        parse_command(f"--executor {value} fix it")


def _task(executor: str, task_id: str, status: str | None = None) -> Marker:
    return Marker("task", task_id, url=f"https://x/{task_id}", status=status, facts={"executor": executor})


GROUP_OF_TWO = group_of("comment:1", [_task("claude", "t1"), _task("codex", "t2")])


def test_a_later_prompt_goes_to_every_task_unless_one_executor_is_named_and_new_options_start_anew() -> None:
    assert route(Command(prompt="go"), GROUP_OF_TWO) == list(GROUP_OF_TWO.members)
    assert route(Command(prompt="go", executor="codex"), GROUP_OF_TWO) == [GROUP_OF_TWO.members[1]]
    for fresh in (
        Command(prompt="go", executor="gemini"),
        Command(prompt="go", executors=("claude", "codex")),
        Command(prompt="go", new=True),
        Command(prompt="go", model="pro"),
        Command(prompt="go", branch="dev"),
    ):
        assert route(fresh, GROUP_OF_TWO) == "fresh"
    canceled = group_of("comment:1", [_task("claude", "t1", "canceled"), _task("codex", "t2", "canceled")])
    assert route(Command(prompt="go"), canceled) == "fresh"


def test_the_group_status_is_its_worst_task_status() -> None:
    assert overall(["completed", "completed"]) == "completed"
    assert overall(["completed", "failed", "canceled"]) == "failed"
    assert overall(["running", "completed"]) == "running"
    assert overall([]) == "running"


def test_a_group_marker_round_trips_and_old_single_task_markers_still_read_the_same() -> None:
    group = group_of("comment:9", [_task("claude", "t1", "running"), failed_member("codex", "no <VM> -->")])
    (back,) = find_markers(f"text {group.render()} more")
    assert back == group
    old = '<!-- rebyte-action:task {"task":"t0","workspace":"w0","request":"comment:3","url":"u"} -->'
    assert find_markers(old) == [Marker("task", "t0", "w0", "comment:3", "u")]
    thread = [ThreadMarker(5, find_markers(old)[0]), ThreadMarker(7, group), ThreadMarker(8, Marker("reply"))]
    assert latest_work(thread) == thread[1]
    assert latest_work(thread[:1]) == thread[0]


def test_the_group_comment_heading_agrees_with_its_rows_as_plain_data() -> None:
    running = group_comment(GROUP_OF_TWO)
    assert running.startswith("🚀 **2 Rebyte tasks started side by side** (claude, codex)")
    ended = group_of("comment:1", [_task("claude", "t1", "completed"), _task("codex", "t2", "failed")])
    body = group_comment(ended)
    assert body.startswith("❌ **Rebyte tasks ended**: 1 failed, 1 completed")
    assert "| claude | [watch it live](https://x/t1) | ✅ completed |" in body
    both = group_of("comment:1", [_task("claude", "t1", "completed"), _task("codex", "t2", "completed")])
    assert group_comment(both).startswith("✅ **Rebyte tasks completed**")
    lost = group_of("comment:1", [_task("claude", "t1"), failed_member("codex", "why", kind="unknown")])
    body = group_comment(lost)
    assert body.startswith("⚠️ **1 of 2 Rebyte tasks started**")
    assert "| codex | — | ⚠️ may have started (see below) |" in body and "**codex**: why" in body
    assert group_marker(body) == lost
