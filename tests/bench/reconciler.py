"""The scheduled reconciler over N open tasks of which 5% have ended (seeded as its tests do)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from ..action_harness import Action
from ..measure_reconcile import _run
from ..test_reconcile import seed

ENDED_SHARE = 0.05


def one(n: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as workdir,
        Emulator(EmulatorConfig(task_seconds=3600.0)) as emulator,
        FakeGitHub() as github,
    ):
        tasks = [seed(github, emulator, 1 + index % 50, "go")[0] for index in range(n)]
        for task_id in tasks[:: round(1 / ENDED_SHARE)]:  # these ended an hour ago
            emulator.state.tasks[task_id].prompts[-1].ends_at = time.time() - 3600
        action = Action(emulator, github, Path(workdir))
        started = time.perf_counter()
        github_total, writes, rebyte_total = _run(action, reconcile_max=str(n))
        seconds = time.perf_counter() - started
        _, writes_again, _ = _run(action, reconcile_max=str(n))
    return {
        "open": n,
        "ended": len(tasks[:: round(1 / ENDED_SHARE)]),
        "github": github_total,
        "writes": writes,
        "rebyte": rebyte_total,
        "seconds": round(seconds, 2),
        "second_run_writes": writes_again,
    }


def measure(sizes: list[int]) -> tuple[dict[str, Any], list[str]]:
    figures = [one(n) for n in sizes]
    table = [
        "| open tasks | ended | GitHub requests (writes) | Rebyte requests | wall time "
        "| a second run's writes |",
        "|---|---|---|---|---|---|",
        *(
            f"| {f['open']} | {f['ended']} | {f['github']} ({f['writes']}) | {f['rebyte']} | "
            f"{f['seconds']:.1f} s | {f['second_run_writes']} |"
            for f in figures
        ),
    ]
    return {str(f["open"]): f for f in figures}, table
