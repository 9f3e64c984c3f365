"""`make demo`: the action end to end on this machine alone.

It starts the Rebyte emulator and the fake GitHub on loopback, feeds the action a real
``issue_comment`` event holding a ``/rebyte`` command, runs the action's entry point as
the container would, prints the comment it posted and its outputs, then follows the task
to the end with the ``rebyte`` CLI, and starts one more task with a file from the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .rebyte.emulator import Emulator, EmulatorConfig
from .testing import FakeGitHub
from .testing.local_action import LOCAL_API_KEY, banner, print_report, run_action

REPOSITORY = "Codertocat/Hello-World"
COMMENT = (
    "Thanks for the report!\n\n"
    "/rebyte --executor claude --skill code-review fix the spelling of 'commit' in README.md"
)


def _event() -> dict[str, object]:
    return {
        "action": "created",
        "issue": {
            "number": 1,
            "title": "Spelling error in the README file",
            "body": "It looks like you accidently spelled 'commit' with two 't's.",
            "html_url": f"https://github.com/{REPOSITORY}/issues/1",
            "user": {"login": "Codertocat", "type": "User"},
        },
        "comment": {
            "id": 492700400,
            "body": COMMENT,
            "html_url": f"https://github.com/{REPOSITORY}/issues/1#issuecomment-492700400",
            "user": {"login": "Codertocat", "type": "User"},
            "author_association": "OWNER",
        },
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
        "sender": {"login": "Codertocat", "type": "User"},
    }


def main() -> None:
    with (
        Emulator(EmulatorConfig(task_seconds=2.0)) as emulator,
        FakeGitHub(REPOSITORY) as github,
        tempfile.TemporaryDirectory() as folder,
    ):
        github.set_permission("Codertocat", "admin")
        work = Path(folder)
        print(f"Rebyte emulator: {emulator.url}\nFake GitHub:     {github.url}")
        banner("The comment on issue #1")
        print(COMMENT)

        banner("The action's log (python -m rebyte_action)")
        run = run_action("issue_comment", _event(), emulator=emulator, github=github, workdir=work)
        if run.returncode != 0:
            raise SystemExit(f"demo failed: the action exited {run.returncode}")
        print_report(run, github, emulator)
        outputs = run.outputs

        task_id = outputs["task-id"]
        cli_env = {**os.environ, "REBYTE_API_KEY": LOCAL_API_KEY, "REBYTE_BASE_URL": emulator.url}
        banner(f"Following the task with the CLI: rebyte wait {task_id}")
        task = _cli(cli_env, "wait", task_id, "--interval", "0.5")
        print(f"\nThe task {task['status']}. Live URL: {task['url']}")

        banner("The same API from the CLI: a task with a file, followed to completion")
        data = work / "sales.csv"
        data.write_text("month,revenue\n2026-09,1200\n2026-10,1350\n2026-11,1610\n")
        print(
            f"$ rebyte create --prompt 'Summarise the revenue trend in sales.csv' --file {data.name} --wait"
        )
        task = _cli(
            cli_env,
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
        print(f"\nThe task {task['status']}. Live URL: {task['url']}")


def _cli(env: dict[str, str], *args: str) -> dict[str, str]:
    """Run the ``rebyte`` CLI; its JSON result (stdout), its messages shown as they come (stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "rebyte_action.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"demo failed: rebyte {args[0]} exited {done.returncode}")
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


if __name__ == "__main__":
    main()
