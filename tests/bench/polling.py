"""Following one task that never ends, on an injected clock: requests per simulated time."""

from __future__ import annotations

import contextlib
from typing import Any

from rebyte_action.rebyte import RebyteClient, WaitTimeout
from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.settings import Settings

from ..conftest import FakeTime

MINUTES = (10, 60, 240)
KEY = "rbk_bench"


def follow(emulator: Emulator, task_id: str, minutes: float, **wait: float) -> tuple[int, float, float]:
    """Polls made in ``minutes`` of simulated time, the first poll's time and the longest gap."""
    time = FakeTime()
    before = len(emulator.requests("GET"))
    with (
        RebyteClient(KEY, base_url=emulator.url, sleep=time.sleep, clock=time.clock) as rebyte,
        contextlib.suppress(WaitTimeout),
    ):
        rebyte.wait_for_task(task_id, timeout=minutes * 60, **wait)
    polls = len(emulator.requests("GET")) - before
    # A poll follows each sleep (and maybe comes first, at 0): the last ``polls`` of these moments.
    moments = [0.0]
    for pause in time.sleeps:
        moments.append(moments[-1] + pause)
    at = moments[-polls:]
    gaps = [b - a for a, b in zip([0.0, *at], at, strict=False)]
    return polls, at[0], max(gaps)


def measure() -> tuple[dict[str, Any], list[str]]:
    interval = Settings.model_fields["poll_seconds"].default
    figures: dict[str, Any] = {}
    table = [
        "| simulated minutes | polls (growing 2 s → 30 s) | first poll at | worst notice delay "
        "| fixed 5 s polls |",
        "|---|---|---|---|---|",
    ]
    with Emulator(EmulatorConfig(task_seconds=float("inf"))) as emulator:
        with RebyteClient(KEY, base_url=emulator.url) as rebyte:
            task_id = rebyte.create_task("never ends").id
        for minutes in MINUTES:
            polls, first, worst = follow(emulator, task_id, minutes, interval=interval)
            fixed, _, _ = follow(emulator, task_id, minutes, interval=5.0, max_interval=5.0, growth=1.0)
            figures[f"{minutes} min"] = {
                "polls": polls,
                "first_poll_s": first,
                "worst_delay_s": worst,
                "fixed_5s": fixed,
            }
            table.append(f"| {minutes} | {polls} | {first:g} s | {worst:.1f} s | {fixed} |")
    return figures, table
