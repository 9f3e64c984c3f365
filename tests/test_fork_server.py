"""The harness's fork server (tests/fork_server.py): a forked run is the run a new interpreter makes."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from .action_harness import FORK_SERVER, Action, ActionResult, comment_event, load_event
from .fork_server import ForkedProcess, needs_fresh_interpreter

PLAIN = os.environ.get("REBYTE_TEST_SUBPROCESS", "") not in ("", "0")


def _run_twice(
    tmp_path: Path, event_name: str, event: dict[str, Any], **inputs: str
) -> list[tuple[ActionResult, list[str]]]:
    """The same run, forked and in a new interpreter, each on servers of its own; with GitHub's calls."""
    results = []
    for fresh in (False, True):
        with Emulator(EmulatorConfig(task_seconds=0.2)) as emulator, FakeGitHub() as github:
            github.set_permission("Codertocat", "admin")
            workdir = tmp_path / f"fresh-{fresh}"
            workdir.mkdir()
            action = Action(emulator, github, workdir, fork_server=FORK_SERVER)
            started = action.start(event_name, event, fresh=fresh, **inputs)
            assert isinstance(started.process, ForkedProcess) is not (fresh or PLAIN)
            results.append((started.result(), github.calls()))
    return results


@pytest.mark.parametrize(
    ("event_name", "event", "inputs"),
    [
        ("issue_comment", comment_event("/rebyte fix the typo"), {}),
        ("issue_comment", comment_event("LGTM"), {}),
        ("issues", load_event("issues.labeled"), {}),
        ("issue_comment", comment_event("/rebyte fix the typo"), {"rebyte-api-key": ""}),
        ("issue_comment", comment_event("/rebyte fix the typo"), {"mode": "nonsense"}),
    ],
    ids=["request", "skip", "label", "no-key", "bad-mode"],
)
def test_a_forked_run_does_what_a_new_interpreter_does(
    tmp_path: Path, event_name: str, event: dict[str, Any], inputs: dict[str, str]
) -> None:
    (forked, forked_calls), (fresh, fresh_calls) = _run_twice(tmp_path, event_name, event, **inputs)
    assert forked.returncode == fresh.returncode
    assert forked.stderr == fresh.stderr
    assert len(forked.stdout.splitlines()) == len(fresh.stdout.splitlines())
    assert forked.outputs.keys() == fresh.outputs.keys()
    assert forked_calls == fresh_calls


@pytest.mark.parametrize("fresh", [False, True], ids=["forked", "new-interpreter"])
def test_a_run_past_its_timeout_is_killed(github: FakeGitHub, tmp_path: Path, fresh: bool) -> None:
    with Emulator(EmulatorConfig(task_seconds=120)) as emulator:
        action = Action(emulator, github, tmp_path, fork_server=FORK_SERVER)
        started = action.start("issue_comment", comment_event("/rebyte fix"), fresh=fresh, wait="true")
        assert started.process.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            started.result(timeout=3)
        assert started.process.wait(timeout=10) == -signal.SIGKILL


def test_a_run_sees_only_its_own_environment(action: Action, emulator: Emulator) -> None:
    skipped = action.run("issue_comment", comment_event("/rebyte fix"), trigger_phrase="@agent")
    assert skipped.returncode == 0 and skipped.outputs["skipped"], skipped.log
    started = action.run("issue_comment", comment_event("/rebyte fix"))
    assert started.returncode == 0 and started.outputs["task-id"], started.log
    assert len(emulator.state.tasks) == 1


def test_a_variable_read_at_start_up_asks_for_a_new_interpreter() -> None:
    server = {"PATH": "/bin", "LANG": "C.UTF-8", "INPUT_X": "1"}
    assert not needs_fresh_interpreter({**server, "INPUT_X": "2", "GITHUB_RUN_ATTEMPT": "2"}, server)
    assert needs_fresh_interpreter({**server, "PYTHONPROFILEIMPORTTIME": "1"}, server)
    assert needs_fresh_interpreter({**server, "LC_ALL": "C"}, server)
    assert needs_fresh_interpreter({**server, "LANG": "C"}, server)
    assert needs_fresh_interpreter({k: v for k, v in server.items() if k != "LANG"}, server)
