"""How many requests a reconcile run makes for N open tasks, on the emulator and the fake GitHub.

    .venv/bin/python -m tests.measure_reconcile [N ...]      (default: 10 100 1000)

For each N it seeds N tasks started by runs that did not wait (a status comment with a
check run each), then runs ``mode: reconcile`` through the real entry point: once while
every task still runs, once after every task finished (default reconcile-max, 200, and
reconcile-max N), and once more right after (nothing left to write).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from .action_harness import Action
from .test_reconcile import SCHEDULE, seed


def _run(action: Action, **inputs: str) -> tuple[int, int, int]:
    github_before, rebyte_before = len(action.github.calls()), len(action.emulator.requests())
    result = action.run("schedule", SCHEDULE, mode="reconcile", **inputs)
    assert result.returncode == 0, result.log
    github_calls = action.github.calls()[github_before:]
    writes = sum(1 for call in github_calls if not call.startswith("GET "))
    return len(github_calls), writes, len(action.emulator.requests()) - rebyte_before


def measure(n: int) -> None:
    with (
        tempfile.TemporaryDirectory() as workdir,
        Emulator(EmulatorConfig(task_seconds=3.0)) as emulator,
        FakeGitHub() as github,
    ):
        for index in range(n):
            seed(github, emulator, 1 + index % 50, "go")
        action = Action(emulator, github, Path(workdir))
        rows = [("all running", _run(action, reconcile_max=str(n)))]
        time.sleep(3.5)
        rows.append(("all finished, reconcile-max 200", _run(action)))
        rows.append((f"the rest, reconcile-max {n}", _run(action, reconcile_max=str(n))))
        rows.append(("right after (nothing open)", _run(action, reconcile_max=str(n))))
    for label, (github_total, writes, rebyte_total) in rows:
        print(f"| {n} | {label} | {github_total} ({writes} writes) | {rebyte_total} |")


if __name__ == "__main__":
    print("| open tasks | run | GitHub requests | Rebyte requests |")
    print("|---|---|---|---|")
    for arg in sys.argv[1:] or ["10", "100", "1000"]:
        measure(int(arg))
