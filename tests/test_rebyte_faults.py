"""Rebyte failing at each phase of a run, through the real entry point, against the emulator.

Every row of the "Rebyte" table in ``tests/README.md`` is one test id here. A fault is
injected with the emulator's own fault injection (``Fault``) on the phase's route and lasts
for the whole run (``times=-1``) unless the row says "once": retries cannot hide it, so
each row shows the run's final answer. For every row: the number of tasks on the emulator
(never two for one request), the exit code, and, for a final failure, what the thread, the
log (an ``::error::``) and the step summary say.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, ActionResult, comment_event
from .test_reconcile import SCHEDULE, seed

TIMEOUT = 1.0  # the client's read timeout in these runs (REBYTE_ACTION_TIMEOUT_SECONDS)
ENV = {
    "REBYTE_ACTION_POLL_SECONDS": "0.1",
    "REBYTE_ACTION_TIMEOUT_SECONDS": f"{TIMEOUT:g}",
    "REBYTE_ACTION_RETRY_BACKOFF_SECONDS": "0.05",  # the retries' doubling waits, a tenth of theirs
}

# The eight faults, as the emulator's Fault fields. "invalid JSON" is a 200 whose body is an
# HTML page; "missing fields" is a 200 whose JSON lacks every field of the answer's shape.
FAULTS: dict[str, dict[str, Any]] = {
    "500": {"kind": "status", "status": 500},
    "502 html": {"kind": "html", "status": 502},
    "503": {"kind": "status", "status": 503},
    "429 retry-after": {"kind": "status", "status": 429, "retry_after": 0.1},
    "read timeout": {"kind": "delay", "seconds": TIMEOUT * 3},
    "dropped": {"kind": "drop", "after": True},
    "invalid json": {"kind": "html", "status": 200},
    "missing fields": {"kind": "corrupt"},
}
AFTER_WORK = ("read timeout", "dropped", "missing fields")  # the request took effect, its answer was lost

MAY_HAVE = "Rebyte did not answer clearly"
LIMIT = "A Rebyte limit was reached"
LOST = "Lost track of the Rebyte task"
SHARE = "Could not share the thread's Rebyte task"
CANCEL = "Could not cancel the thread's Rebyte task"
LISTING = "Could not list Rebyte's tasks"
NOT_PUBLIC = "its visibility could not be set to public"
# What the ::error:: line and the step summary say for what the thread says.
ERRORS = {
    MAY_HAVE: MAY_HAVE,
    LIMIT: "Rebyte could not start the task",
    LOST: "Lost track of the task",
    SHARE: SHARE,
    CANCEL: CANCEL,
}


@dataclass(frozen=True)
class Row:
    phase: str
    fault: str
    exit: int
    says: str  # in the thread's newest comment (none for the reconciler), the log and the summary
    tasks: int = 1
    times: int = -1

    @property
    def id(self) -> str:
        once = " once" if self.times > 0 else ""
        return f"{self.phase}: {self.fault}{once}".replace(" ", "-")


def _create(fault: str) -> Row:
    if fault == "429 retry-after":
        return Row("create", fault, 0, "⏸ **Queued**", tasks=0)  # queue: true, the default
    return Row("create", fault, 1, MAY_HAVE, tasks=1 if fault in AFTER_WORK else 0)


def _follow_up(fault: str) -> Row:
    return Row("follow-up", fault, 1, LIMIT if fault == "429 retry-after" else MAY_HAVE)


def _delete(fault: str) -> Row:
    if fault in AFTER_WORK:  # deleted: a retried DELETE's 404 (or the broken 200) means done
        return Row("delete", fault, 0, "canceled")
    return Row("delete", fault, 1, CANCEL)


ROWS = [
    *(_create(f) for f in FAULTS),
    Row("create", "429 retry-after", 0, "Rebyte task started", times=1),
    *(_follow_up(f) for f in FAULTS),
    *(Row("wait", f, 1, LOST) for f in FAULTS),
    Row("wait", "503", 0, "Rebyte task completed", times=1),
    Row("wait", "read timeout", 0, "Rebyte task completed", times=1),
    Row("wait", "500", 0, "Rebyte task completed", times=1),  # the client does not retry it; the follow does
    Row("wait", "invalid json", 0, "Rebyte task completed", times=1),
    *(Row("visibility", f, 0, NOT_PUBLIC) for f in FAULTS),
    *(Row("share", f, 1, SHARE) for f in FAULTS),
    *(_delete(f) for f in FAULTS),
    *(Row("reconcile list", f, 1, LISTING) for f in FAULTS),
    *(Row("reconcile get", f, 0, "unknown (Rebyte error)") for f in FAULTS),
]

# What each phase does, and the route its fault is set on ({task} is the seeded task's id).
PHASES: dict[str, tuple[str, str]] = {
    "create": ("/rebyte fix the typo", "POST /v1/tasks"),
    "follow-up": ("/rebyte now the tests", "POST /v1/tasks/{task}/prompts"),
    "wait": ("/rebyte fix the typo", "GET /v1/tasks/"),
    "visibility": ("/rebyte --public fix the typo", "PATCH /v1/tasks/"),
    "share": ("/rebyte share", "PATCH /v1/tasks/{task}/visibility"),
    "delete": ("/rebyte cancel", "DELETE /v1/tasks/{task}"),
    "reconcile list": ("", "GET /v1/tasks"),
    "reconcile get": ("", "GET /v1/tasks/{task}"),
}
SEEDED = ("follow-up", "share", "delete", "reconcile list", "reconcile get")


def annotations(result: ActionResult, level: str) -> list[str]:
    """The messages of the run's ``::error ...::`` (or ``::warning``) workflow commands."""
    return [m.group(1) for m in re.finditer(rf"^::{level}(?: [^:]*)?::(.*)$", result.log, re.MULTILINE)]


def run_with_fault(
    action: Action, emulator: Emulator, github: FakeGitHub, row: Row
) -> tuple[ActionResult, str]:
    """Arrange the thread for the row's phase, set the fault, run once: the result and the seeded task."""
    text, route = PHASES[row.phase]
    task = ""
    if row.phase in SEEDED:
        task, _, _ = seed(github, emulator, 1, "the earlier request", check=False)
    if row.phase.startswith("reconcile"):
        time.sleep(emulator.config.task_seconds + 0.1)  # the seeded task has ended: the reconciler reads it
    emulator.add_fault(match=route.format(task=task), times=row.times, **FAULTS[row.fault])
    if row.phase.startswith("reconcile"):
        result = action.run("schedule", SCHEDULE, raw_env=ENV, mode="reconcile")
    else:
        inputs = {"wait": "true"} if row.phase == "wait" else {}
        result = action.run("issue_comment", comment_event(text), raw_env=ENV, **inputs)
    if FAULTS[row.fault]["kind"] == "delay":
        answered(emulator, route.format(task=task))
    return result, task


def answered(emulator: Emulator, route: str) -> None:
    """Wait until the emulator has answered a delayed request on ``route`` (its work is done by then)."""
    method, path = route.split(" ")
    deadline = time.monotonic() + 10
    while not any(r.method == method and r.path.startswith(path) for r in emulator.requests()):
        assert time.monotonic() < deadline, f"the emulator never answered {route}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_rebyte_fault_ends_in_a_clear_answer_and_never_a_second_task(
    action: Action, emulator: Emulator, github: FakeGitHub, row: Row
) -> None:
    result, _ = run_with_fault(action, emulator, github, row)
    assert result.returncode == row.exit, result.log
    assert len(emulator.state.tasks) == row.tasks, [t.title for t in emulator.state.tasks.values()]
    assert "Traceback" not in result.log
    comments = [c["body"] for c in github.comments(1)]
    if row.phase.startswith("reconcile"):
        assert row.says.lower() in result.summary.lower(), result.summary
        assert not [call for call in github.calls() if not call.startswith("GET ")]  # nothing written
        if row.exit:
            assert any(e.startswith(row.says) for e in annotations(result, "error")), result.log
        else:
            assert any(w.startswith("Could not read task") for w in annotations(result, "warning"))
        return
    assert row.says in comments[-1], comments
    if row.exit:
        error = ERRORS[row.says]
        assert any(e.startswith(error) for e in annotations(result, "error")), result.log
        assert error.lower() in result.summary.lower(), result.summary
        assert row.phase == "wait" or "😕" in comments[-1]
    if row.phase == "create" and row.exit:
        # The create is never sent twice, whatever the fault: 429 proves it was refused (retried).
        sent = emulator.requests("POST", "/v1/tasks")
        assert len(sent) == (4 if row.fault == "429 retry-after" else 1)
    if row.phase == "follow-up":
        (task,) = emulator.state.tasks.values()
        assert len(task.prompts) == (2 if row.fault in AFTER_WORK else 1)
        assert len(emulator.requests("POST")) == (4 if row.fault == "429 retry-after" else 1)
    if row.phase == "wait" and row.exit:
        assert result.outputs["task-url"] in result.log  # the task is never lost
        assert result.outputs["status"] == "unknown"
    if row.phase == "visibility":
        assert result.outputs["task-url"], result.log
        assert "Rebyte task started" in comments[0]
        assert any(NOT_PUBLIC in w for w in annotations(result, "warning")), result.log
        assert NOT_PUBLIC in result.summary
        assert result.outputs["comment-id"] == str(github.comments(1)[0]["id"])  # still the answer
    if row.phase == "delete":
        (task,) = emulator.state.tasks.values()
        assert task.deleted == (row.exit == 0)


@pytest.mark.slow
@pytest.mark.parametrize("fault", AFTER_WORK, ids=[f.replace(" ", "-") for f in AFTER_WORK])
def test_a_re_run_after_a_lost_create_answer_starts_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub, fault: str
) -> None:
    emulator.add_fault(match="POST /v1/tasks", times=-1, **FAULTS[fault])
    event = comment_event("/rebyte fix the typo")
    first = action.run("issue_comment", event, raw_env=ENV)
    if fault == "read timeout":
        answered(emulator, "POST /v1/tasks")
    assert first.returncode == 1
    assert "may have started" in github.comments(1)[-1]["body"]
    emulator.state.clear_faults()
    again = action.run("issue_comment", event, raw_env={**ENV, "GITHUB_RUN_ATTEMPT": "2"})
    assert again.returncode == 1, again.log
    assert "Not started again" in github.comments(1)[-1]["body"]
    assert len(emulator.state.tasks) == 1
    assert len(emulator.requests("POST", "/v1/tasks")) == 1


def test_the_rebyte_fault_table_lists_every_test() -> None:
    """tests/README.md's Rebyte table has one row per test id here, and no other."""
    text = (Path(__file__).parent / "README.md").read_text(encoding="utf-8")
    section = text.split("## Rebyte", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"\| `(re-run)?\[([^\]]+)\]` \|$", section, re.MULTILINE)
    expected = [("", row.id) for row in ROWS] + [("re-run", f.replace(" ", "-")) for f in AFTER_WORK]
    assert listed == expected
