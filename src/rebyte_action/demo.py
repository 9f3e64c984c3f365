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
from .workflow import read_outputs

DEMO_KEY = "rbk_demo_key"
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


def _banner(text: str) -> None:
    print(f"\n== {text} ==", flush=True)


def main() -> None:
    with (
        Emulator(EmulatorConfig(task_seconds=2.0)) as emulator,
        FakeGitHub(REPOSITORY) as github,
        tempfile.TemporaryDirectory() as folder,
    ):
        github.set_permission("Codertocat", "admin")
        work = Path(folder)
        (work / "event.json").write_text(json.dumps(_event()))
        (work / "output").write_text("")
        (work / "summary.md").write_text("")
        print(f"Rebyte emulator: {emulator.url}\nFake GitHub:     {github.url}")
        _banner("The comment on issue #1")
        print(COMMENT)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
        env.update(
            {
                "GITHUB_EVENT_NAME": "issue_comment",
                "GITHUB_EVENT_PATH": str(work / "event.json"),
                "GITHUB_REPOSITORY": REPOSITORY,
                "GITHUB_API_URL": github.url,
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_RUN_ID": "1",
                "GITHUB_OUTPUT": str(work / "output"),
                "GITHUB_STEP_SUMMARY": str(work / "summary.md"),
                "INPUT_REBYTE-API-KEY": DEMO_KEY,
                "INPUT_GITHUB-TOKEN": "demo-token",
                "INPUT_REBYTE-BASE-URL": emulator.url,
            }
        )
        _banner("The action's log (python -m rebyte_action)")
        run = subprocess.run([sys.executable, "-m", "rebyte_action"], env=env, check=False)
        if run.returncode != 0:
            raise SystemExit(f"demo failed: the action exited {run.returncode}")

        _banner("GitHub requests the action made")
        for call in github.calls():
            print(call)
        _banner("The comment it posted")
        print(github.comments(1)[-1]["body"])
        _banner("Its outputs")
        outputs = read_outputs((work / "output").read_text())
        for name, value in outputs.items():
            print(f"{name}={value}")

        task_id = outputs["task-id"]
        cli_env = {**os.environ, "REBYTE_API_KEY": DEMO_KEY, "REBYTE_BASE_URL": emulator.url}
        _banner(f"Following the task with the CLI: rebyte wait {task_id}")
        task = _cli(cli_env, "wait", task_id, "--interval", "0.5")
        print(f"\nThe task {task['status']}. Live URL: {task['url']}")

        _banner("The same API from the CLI: a task with a file, followed to completion")
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
