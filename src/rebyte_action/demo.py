"""`make demo`: an end-to-end run on this machine alone, against the local emulator.

It starts the emulator, then uses the `rebyte` CLI exactly as a person would: upload a
file with a new task, follow it to completion, and print the live URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .rebyte.emulator import Emulator, EmulatorConfig

DEMO_KEY = "rbk_demo_key"


def _rebyte(env: dict[str, str], *args: str) -> dict[str, object]:
    command = [sys.executable, "-m", "rebyte_action.cli", *args]
    print(f"$ rebyte {' '.join(args)}", flush=True)
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"demo failed: rebyte {args[0]} exited {result.returncode}")
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def cli_demo(emulator: Emulator) -> None:
    env = {**os.environ, "REBYTE_API_KEY": DEMO_KEY, "REBYTE_BASE_URL": emulator.url}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "sales.csv"
        data.write_text("month,revenue\n2026-09,1200\n2026-10,1350\n2026-11,1610\n")
        task = _rebyte(
            env,
            "create",
            "--prompt",
            "Summarise the revenue trend in sales.csv",
            "--file",
            str(data),
            "--skill",
            "data-analysis",
            "--wait",
            "--interval",
            "0.5",
        )
    print(f"\nThe task {task['status']}. Live URL: {task['url']}\n", flush=True)


def main() -> None:
    print("Starting the Rebyte emulator on loopback…", flush=True)
    with Emulator(EmulatorConfig(task_seconds=1.5)) as emulator:
        print(f"Emulator: {emulator.url}\n", flush=True)
        cli_demo(emulator)


if __name__ == "__main__":
    main()
