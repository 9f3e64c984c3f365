"""`make demo` runs the action end to end and shows what it did."""

from __future__ import annotations

import subprocess
import sys


def test_the_demo_runs_the_action_and_follows_the_task_to_completion() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rebyte_action.demo"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "POST /repos/Codertocat/Hello-World/issues/1/comments" in out
    assert "🚀 **Rebyte task started**: [watch it live](https://app.rebyte.ai/run/" in out
    assert "task-url=https://app.rebyte.ai/run/" in out
    assert out.count("The task completed. Live URL: https://app.rebyte.ai/run/") == 2
    assert "uploaded" in result.stderr and "sales-" in result.stderr  # the CLI's file upload
