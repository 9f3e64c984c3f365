"""Starting queued requests (the drain side of the queue) through the real entry point, against the
emulator and the fake GitHub: check runs of drained tasks, queued fan-outs, a cancel racing a drain."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from rebyte_action.decide import Plan
from rebyte_action.queue import pack_plan, read_state, won_claim
from rebyte_action.queue_report import claim_comment, dropped_reply
from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.report import Marker, ThreadMarker
from rebyte_action.testing import FakeGitHub
from rebyte_action.testing.fake_github import GitHubRequest

from .action_harness import Action
from .test_queue import SCHEDULE, answer, finish, post_queued, request, seed_running

R = "/repos/Codertocat/Hello-World"
PUSHED = "0123456789abcdef0123456789abcdef01234567"  # the branch's head after a push while waiting
ASKED_ON = "fedcba9876543210fedcba9876543210fedcba98"  # the commit a request was made on


def queue_directly(
    github: FakeGitHub,
    issue: int,
    prompt: str,
    *,
    executors: tuple[str, ...] = (),
    branch: str = "master",
    **facts: Any,
) -> int:
    """A queued answer in ``issue`` for request ``comment:<issue>00``, as a run's hold writes it
    (the fan-out's ``executors`` included): its comment id."""
    plan = Plan(prompt, None, None, (), branch, "Codertocat/Hello-World", None)
    return post_queued(
        github, issue, f"comment:{issue}00", {**pack_plan(plan, executors), "by": "Codertocat", **facts}
    )


def calls_since(github: FakeGitHub, start: int) -> list[str]:
    return [re.sub(r"\d+", "N", call) for call in github.calls()[start:]]


def task_of(emulator: Emulator, text: str) -> str:
    return next(t.id for t in emulator.state.tasks.values() if t.prompts[0].text.startswith(text))


# -- 1. a drained task gets a check run and its status row ------------------------------


def test_a_drained_task_gets_a_check_run_on_its_branchs_head_and_the_reconciler_completes_it(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    limits = {"max_running": "1", "check_run": "true"}
    first = seed_running(github, emulator, 1)
    queued = action.run("issue_comment", request(2, 200, "/rebyte job 2"), **limits)
    assert queued.returncode == 0 and "⏸" in answer(github, 2), queued.log
    github.set_branch("master", PUSHED)  # a push while the request waited: the task starts from it

    finish(emulator, first)
    before = len(github.calls())
    drained = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert drained.returncode == 0, drained.log
    calls = calls_since(github, before)
    claim = calls.index(f"POST {R}/issues/N/comments")
    # Claim, re-read, (the task is created), the branch's head, the check run, the answer, the claim gone.
    assert calls[claim:] == [
        f"POST {R}/issues/N/comments",
        f"GET {R}/issues/comments",
        f"GET {R}/branches/master",
        f"POST {R}/check-runs",
        f"PATCH {R}/issues/comments/N",
        f"DELETE {R}/issues/comments/N",
    ]
    task = task_of(emulator, "job 2")
    (check,) = [c for c in github.check_runs() if c.get("external_id") == task]
    assert (check["name"], check["head_sha"], check["status"]) == ("Rebyte", PUSHED, "in_progress")
    assert "the scheduled reconciler" in check["output"]["summary"]  # handed over
    started = answer(github, 2)
    assert "🚀 **Rebyte task started**" in started
    assert f'"check":{check["id"]}' in started and '"status":"running"' in started
    assert [r.path for r in emulator.requests("POST")] == ["/v1/tasks"]  # once, nothing else created

    finish(emulator, task)
    closed = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert closed.returncode == 0, closed.log
    check = next(c for c in github.check_runs() if c["id"] == check["id"])
    assert (check["status"], check["conclusion"]) == ("completed", "success")
    assert "✅ **Rebyte task completed**" in answer(github, 2)
    assert ("/issues/comments/200", "rocket") in {(r["on"], r["content"]) for r in github.reactions()}


def test_a_drained_tasks_check_run_falls_back_to_the_commit_the_request_was_made_on(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    queue_directly(github, 2, "job on a branch since deleted", branch="gone", sha=ASKED_ON)
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1", check_run="true")
    assert result.returncode == 0, result.log
    (check,) = github.check_runs()
    assert check["head_sha"] == ASKED_ON
    assert "Could not read the head of branch gone for the check run" in result.log
    assert f"using commit {ASKED_ON[:12]}, the one it was asked on" in result.log
    assert f'"check":{check["id"]}' in answer(github, 2)


def test_without_check_run_a_drain_reads_no_branch_and_opens_no_check_run(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    queue_directly(github, 2, "job 2")
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1")
    assert result.returncode == 0, result.log
    assert github.check_runs() == [] and not any("/branches/" in c for c in github.calls())
    assert "🚀 **Rebyte task started**" in answer(github, 2) and '"check"' not in answer(github, 2)


# -- 2. a queued fan-out drains as a group ----------------------------------------------


def test_a_queued_fan_out_waits_for_a_place_per_task_then_starts_as_a_group_with_its_attachments(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.server_url = github.url  # its host serves the attachments
    notes = github.attachments.file("notes.txt", b"the notes", content_type="text/plain")
    limits = {"max_running": "3", "check_run": "true"}
    seeds = [seed_running(github, emulator, issue) for issue in (1, 4)]
    group = queue_directly(
        github, 2, f"compare these [notes.txt]({notes})", executors=("claude", "codex", "nope")
    )
    queue_directly(github, 3, "single job behind it")

    waiting = action.run("schedule", SCHEDULE, mode="reconcile", **limits)  # 1 place free, 3 wanted
    assert waiting.returncode == 0, waiting.log
    assert len(emulator.state.tasks) == 2  # the group keeps its turn: the single one waits behind it
    assert "⏸" in answer(github, 2) and "⏸" in answer(github, 3)

    for seed in seeds:
        finish(emulator, seed)
    result = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert result.returncode == 0, result.log
    body = answer(github, 2)
    assert "⚠️ **2 of 3 Rebyte tasks started** (claude, codex, nope)" in body
    assert "rebyte-action:group" in body and "executor must be one of" in body  # the failed one says why
    started = [t for t in emulator.state.tasks.values() if t.prompts[0].text.startswith("compare these")]
    assert sorted(t.executor for t in started) == ["claude", "codex"]
    claude, codex = (next(t for t in started if t.executor == e) for e in ("claude", "codex"))
    # The attachment was fetched and uploaded once, and went to both tasks, named in their prompts.
    assert [r.path for r in emulator.requests("POST")].count("/v1/files") == 1
    assert [f["filename"] for f in claude.files] == [f["filename"] for f in codex.files] != []
    assert f"`/code/{claude.files[0]['filename']}`" in claude.prompts[0].text
    assert f"`/code/{claude.files[0]['filename']}`" in body
    runs = {c["name"]: c for c in github.check_runs() if c["name"] != "Rebyte"}  # the single job's
    assert set(runs) == {"Rebyte (claude)", "Rebyte (codex)"}
    assert {c["head_sha"] for c in runs.values()} == {"6dcb09b5b57875f334f61aebed695e2e4193db5e"}
    assert {c["external_id"] for c in runs.values()} == {claude.id, codex.id}
    # One create failed: 😕 on the request, as its own run would set.
    assert ("/issues/comments/200", "confused") in {(r["on"], r["content"]) for r in github.reactions()}
    # The group's two tasks count as running: one place was left, and the single job took it.
    assert "🚀 **Rebyte task started**" in answer(github, 3)
    full = action.run("issue_comment", request(5, 500, "/rebyte one more"), **limits)
    assert full.returncode == 0 and "3 running or starting" in answer(github, 5), full.log
    assert github.comments(2)[0]["id"] == group  # the queued answer became the group's

    # The reconciler closes the group's check runs when its tasks end.
    finish(emulator, claude.id)
    finish(emulator, codex.id)
    closed = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert closed.returncode == 0, closed.log
    assert {c["conclusion"] for c in github.check_runs() if c["name"].startswith("Rebyte (")} == {"success"}


def test_a_queued_fan_out_larger_than_the_limit_lets_later_requests_start(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    queue_directly(github, 2, "too wide", executors=("claude", "codex", "gemini"))
    queue_directly(github, 3, "single job")
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="2")
    assert result.returncode == 0, result.log
    assert [t.prompts[0].text for t in emulator.state.tasks.values()] == ["single job"]
    assert "⏸" in answer(github, 2)


# -- 3. a cancel racing a drain ---------------------------------------------------------


def test_a_cancel_while_a_drain_is_starting_the_request_leaves_it_to_start_and_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    limits = {"max_running": "1", "check_run": "true"}
    queued_id = queue_directly(github, 2, "job 2")
    cancels = []

    def cancel_now(_: GitHubRequest) -> None:  # the drain has claimed and created the task
        cancels.append(action.run("issue_comment", request(2, 201, "/rebyte cancel"), **limits))

    github.before("GET", f"{R}/branches/", cancel_now)
    drained = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert drained.returncode == 0, drained.log
    (cancel,) = cancels
    assert cancel.returncode == 0, cancel.log
    task = task_of(emulator, "job 2")
    assert emulator.requests("DELETE") == []  # the task goes on
    queued_answer, reply = github.comments(2)
    assert queued_answer["id"] == queued_id and "🚀 **Rebyte task started**" in queued_answer["body"]
    assert task in queued_answer["body"]
    assert "no queued request in this thread was dropped" in reply["body"]
    assert "1 queued request(s) of this thread were being started from the queue" in reply["body"]
    assert "`/rebyte cancel` again stops it" in reply["body"]
    assert f'rebyte-action:drop {{"facts":{{"q":[{queued_id}],"by":"Codertocat"}}}}' in reply["body"]
    assert not any(r["content"] == "confused" for r in github.reactions())
    assert "1 queued request(s) were being started by another run: left to start" in cancel.log


def test_a_drain_that_claims_after_a_cancels_drop_does_not_start_it(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    queued_id = queue_directly(github, 2, "job 2")

    def drop_first(_: GitHubRequest) -> None:  # cancel's reply lands between the listing and the claim
        github.add_comment(2, dropped_reply([queued_id], "Codertocat", None, "comment:201", "/rebyte"))

    github.before("POST", f"{R}/issues/2/comments", drop_first, body_has="rebyte-action:claim")
    drained = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1")
    assert drained.returncode == 0, drained.log
    assert emulator.state.tasks == {} and emulator.requests("POST") == []
    assert "Queued request comment:200: not this run's to start" in drained.log
    assert all("rebyte-action:claim" not in c["body"] for c in github.comments(2))  # the claim is gone
    assert "⏸" in github.comments(2)[0]["body"]  # the cancel, going on, edits it (below)

    cancel = action.run("issue_comment", request(2, 202, "/rebyte cancel"), max_running="1")
    assert cancel.returncode == 0, cancel.log
    assert "Not started: dropped from the queue" in github.comments(2)[0]["body"]
    again = action.run("schedule", SCHEDULE, mode="reconcile", max_running="5")
    assert again.returncode == 0 and emulator.state.tasks == {}


def test_a_plain_cancel_of_a_queued_request_posts_its_drop_first_and_reads_the_thread_once_more(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    assert action.run("issue_comment", request(2, 200, "/rebyte fix"), max_running="1").returncode == 0
    before = len(github.calls())
    result = action.run("issue_comment", request(2, 201, "/rebyte cancel"), max_running="1")
    assert result.returncode == 0, result.log
    calls = calls_since(github, before)
    assert calls == [
        f"GET {R}/collaborators/Codertocat/permission",
        f"POST {R}/issues/comments/N/reactions",  # 👀
        f"GET {R}/issues/N/comments",  # the thread, to find the queued answer
        f"POST {R}/issues/N/comments",  # the reply, with the drop
        f"GET {R}/issues/N/comments",  # the thread again: no claim came first
        f"PATCH {R}/issues/comments/N",  # dropped
        f"POST {R}/issues/comments/N/reactions",  # 😕
        f"GET {R}/issues/comments",  # the queue, for the step summary (as every answering run)
    ]
    dropped, reply = (c["body"] for c in github.comments(2))
    assert "Not started: dropped from the queue" in dropped
    assert "1 queued request(s) in this thread dropped" in reply and "being started" not in reply
    assert result.outputs["comment-id"] == str(github.comments(2)[1]["id"])


def test_the_order_of_a_drop_and_a_claim_decides_who_wins() -> None:
    now = datetime.now(UTC)
    queued = Marker("queued", request="comment:200", facts={"by": "ann"})

    def state(*others: tuple[int, Marker]) -> Any:
        found = [ThreadMarker(10, queued, issue=2, created_at=now)]
        found += [ThreadMarker(i, m, issue=2, created_at=now) for i, m in others]
        return read_state(found, now=now, queue_hours=24)

    claim = Marker("claim", facts={"q": 10, "by": "ann"})
    drop = Marker("drop", facts={"q": [10]})
    claim_first = state((11, claim), (12, drop))
    assert won_claim(claim_first, 10, 11) and claim_first.dropped == []
    assert claim_first.tickets == {11: "ann"}  # it takes its place
    drop_first = state((11, drop), (12, claim))
    assert not won_claim(drop_first, 10, 12) and [w.comment_id for w in drop_first.dropped] == [10]
    assert drop_first.queue == [] and drop_first.tickets == {}  # the late claim takes no place
    other = state((11, Marker("drop", facts={"q": [99, True, "10"]})))  # names other answers only
    assert [w.comment_id for w in other.queue] == [10] and other.dropped == []


def test_a_queued_requests_attachments_reach_its_task_when_it_starts(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    action.server_url = github.url  # its host serves the attachments
    log = github.attachments.file("crash.log", b"Traceback ...", content_type="text/plain")
    first = seed_running(github, emulator, 1)
    text = f"/rebyte why does it crash? [crash.log]({log})"
    queued = action.run("issue_comment", request(2, 200, text), max_running="1")
    assert queued.returncode == 0 and "⏸" in answer(github, 2), queued.log
    assert emulator.requests("POST") == []  # nothing fetched or uploaded while it waits

    finish(emulator, first)
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="1")
    assert result.returncode == 0, result.log
    task = emulator.state.tasks[task_of(emulator, "why does it crash?")]
    (name,) = [f["filename"] for f in task.files]
    assert emulator.state.uploads[task.files[0]["id"]].data == b"Traceback ..."
    assert f"`/code/{name}` (linked in the request as {log})" in task.prompts[0].text
    assert f"`/code/{name}`" in answer(github, 2)


def test_a_drop_left_unshown_by_a_cancel_that_stopped_is_shown_by_the_next_reconcile(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    queued_id = queue_directly(github, 2, "job 2")
    github.add_comment(2, dropped_reply([queued_id], "ann", None, "comment:201", "/rebyte"))
    result = action.run("schedule", SCHEDULE, mode="reconcile", max_running="5")
    assert result.returncode == 0, result.log
    body = github.comments(2)[0]["body"]
    assert "Not started: dropped from the queue" in body and "@ann dropped this request" in body
    assert emulator.state.tasks == {} and "Queue: empty." in result.summary


def test_a_claim_on_a_fan_out_records_its_places() -> None:
    from rebyte_action.report import find_markers

    now = datetime.now(UTC)
    wide, single = (find_markers(claim_comment(10, "ann", n))[0] for n in (3, 1))
    assert wide.facts == {"q": 10, "by": "ann", "n": 3} and single.facts == {"q": 10, "by": "ann"}
    state = read_state([ThreadMarker(11, wide, issue=2, created_at=now)], now=now, queue_hours=24)
    assert state.tickets == {11: "ann"} and state.ticket_places == {11: 3}


def test_a_later_requests_run_gives_the_queued_task_it_starts_a_check_run_too(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    seed_running(github, emulator, 1)
    queue_directly(github, 2, "job 2")  # one place of two is free: it waits only for a run to look
    later = action.run("issue_comment", request(3, 300, "/rebyte job 3"), max_running="2", check_run="true")
    assert later.returncode == 0, later.log
    task = task_of(emulator, "job 2")
    (check,) = github.check_runs()
    assert (check["external_id"], check["head_sha"]) == (task, "6dcb09b5b57875f334f61aebed695e2e4193db5e")
    assert f'"check":{check["id"]}' in answer(github, 2)
    assert "⏸" in answer(github, 3)  # its own request waits: the queued one took the last place


def test_a_fan_out_held_by_its_own_run_starts_as_a_group_from_the_reconciler(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    limits = {"max_running": "2", "check_run": "true"}
    first = seed_running(github, emulator, 1)
    held = action.run("issue_comment", request(2, 200, "/rebyte --executor claude,codex compare"), **limits)
    assert held.returncode == 0 and "⏸" in answer(github, 2), held.log
    finish(emulator, first)
    result = action.run("schedule", SCHEDULE, mode="reconcile", **limits)
    assert result.returncode == 0, result.log
    body = answer(github, 2)
    assert "🚀 **2 Rebyte tasks started side by side** (claude, codex)" in body
    started = [t for t in emulator.state.tasks.values() if t.prompts[0].text.startswith("compare")]
    assert sorted(str(t.executor) for t in started) == ["claude", "codex"]
    assert sorted(c["name"] for c in github.check_runs()) == ["Rebyte (claude)", "Rebyte (codex)"]
    assert all(f"`{t.id[:8]}`" in result.summary for t in started)  # the summary names both tasks


def test_a_drain_github_will_not_let_record_its_task_names_the_task_in_the_log_and_never_starts_it_again(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    queue_directly(github, 2, "job 2")
    github.fault("PATCH", f"{R}/issues/comments/", kind="status", status=403, message="Forbidden", times=-1)
    first = action.run("schedule", SCHEDULE, mode="reconcile", max_running="2")
    (task,) = emulator.state.tasks.values()
    assert f"task {task.id} is at" in first.log
    assert "Could not record the task in the claim comment either" in first.log
    assert "Could not start queued request" not in first.log  # it did start
    github.faults.clear()
    again = action.run("schedule", SCHEDULE, mode="reconcile", max_running="2")
    assert again.returncode == 0, again.log
    assert len(emulator.state.tasks) == 1  # the claim left behind keeps it from starting twice
