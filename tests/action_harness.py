"""Run the action's entry point as a subprocess, exactly as the container would.

In the suite (the ``action`` fixture) a run is forked from a server that has already imported
the action (tests/fork_server.py): the same ``python -m rebyte_action``, without a second of
imports each time. ``start(..., fresh=True)``, a ``PYTHON*``/``LANG``/``LC_*`` variable of its own
or ``REBYTE_TEST_SUBPROCESS=1`` gives a run a new interpreter instead.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub
from rebyte_action.workflow import read_outputs

from .fork_server import ForkedProcess, ForkServer, needs_fresh_interpreter
from .leaks import GITHUB_TOKEN, REBYTE_KEY, WATCH

__all__ = [
    "GITHUB_TOKEN",
    "REBYTE_KEY",
    "Action",
    "ActionResult",
    "Started",
    "comment_event",
    "load_event",
    "review_comment_event",
]

EVENTS = Path(__file__).parent / "fixtures" / "events"
REPO = "Codertocat/Hello-World"
FORK_SERVER = ForkServer()  # this process's, started on its first forked run


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


def comment_event(
    body: str,
    *,
    on_pull: bool = False,
    action: str = "created",
    sender: str = "Codertocat",
    sender_type: str = "User",
) -> dict[str, Any]:
    event = load_event("issue_comment.created")
    event["action"] = action
    event["comment"]["body"] = body
    event["sender"]["login"] = sender
    event["sender"]["type"] = sender_type
    event["comment"]["user"]["login"] = sender
    if on_pull:
        event["issue"]["pull_request"] = {
            "url": f"https://api.github.com/repos/{REPO}/pulls/1",
            "html_url": f"https://github.com/{REPO}/pull/1",
        }
    return event


def review_comment_event(body: str) -> dict[str, Any]:
    event = load_event("pull_request_review_comment.created")
    event["comment"]["body"] = body
    return event


@dataclass
class ActionResult:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


class Action:
    """The action wired to an emulator and a fake GitHub, with per-test inputs.

    With ``fork_server``, runs are forked from it (tests/fork_server.py) unless a run needs a
    new interpreter; without, each is a plain subprocess (the benchmarks measure those).
    """

    def __init__(
        self, emulator: Emulator, github: FakeGitHub, workdir: Path, *, fork_server: ForkServer | None = None
    ):
        self.emulator = emulator
        self.fork_server = fork_server
        self.github = github
        self.workdir = workdir
        self.api_url = github.url
        self.server_url = "https://github.com"  # GITHUB_SERVER_URL; the fake's own URL serves attachments
        self.runs = 0

    def run(
        self,
        event_name: str,
        event: dict[str, Any],
        *,
        raw_env: dict[str, str] | None = None,
        fresh: bool = False,
        **inputs: str,
    ) -> ActionResult:
        return self.start(event_name, event, raw_env=raw_env, fresh=fresh, **inputs).result()

    def start(
        self,
        event_name: str,
        event: dict[str, Any],
        *,
        raw_env: dict[str, str] | None = None,
        fresh: bool = False,
        **inputs: str,
    ) -> Started:
        """Start the entry point and return at once; ``.result()`` waits for it.

        ``fresh``: in a new interpreter, never forked (a test of what the run imports needs one).
        """
        self.runs += 1
        event_path = self.workdir / f"event-{self.runs}.json"
        event_path.write_text(json.dumps(event))
        output_path = self.workdir / f"output-{self.runs}.txt"
        summary_path = self.workdir / f"summary-{self.runs}.md"
        output_path.write_text("")
        summary_path.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "REBYTE_"))}
        env.update(
            {
                "GITHUB_EVENT_NAME": event_name,
                "GITHUB_EVENT_PATH": str(event_path),
                "GITHUB_REPOSITORY": REPO,
                "GITHUB_API_URL": self.api_url,
                "GITHUB_SERVER_URL": self.server_url,
                "GITHUB_RUN_ID": "4242",
                "GITHUB_SHA": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                "GITHUB_REF_NAME": "master",
                "GITHUB_OUTPUT": str(output_path),
                "GITHUB_STEP_SUMMARY": str(summary_path),
                # What action.yml's defaults give every run.
                "INPUT_REBYTE-API-KEY": REBYTE_KEY,
                "INPUT_GITHUB-TOKEN": GITHUB_TOKEN,
                "INPUT_REBYTE-BASE-URL": self.emulator.url,
                "INPUT_TRIGGER-PHRASE": "/rebyte",
                "INPUT_LABEL": "rebyte",
                "INPUT_PERMISSION": "write",
                "INPUT_ALLOW-FORKS": "false",
                # Off unless a test turns it on (test_config.py): the calls other tests count
                # stay those of a repository without the file.
                "INPUT_CONFIG-FILE": "",
                # Not inputs: the client's retries wait a tenth of their usual time.
                "REBYTE_ACTION_RETRY_BACKOFF_SECONDS": "0.05",
            }
        )
        for name, value in inputs.items():
            env[f"INPUT_{name.upper().replace('_', '-')}"] = value
        env.update(raw_env or {})
        server = self.fork_server
        if not (
            fresh
            or server is None
            or os.environ.get("REBYTE_TEST_SUBPROCESS", "") not in ("", "0")
            or needs_fresh_interpreter(env, server.startup_env())
        ):
            return Started(server.start(env, os.getcwd()), output_path, summary_path)
        process = subprocess.Popen(
            [sys.executable, "-m", "rebyte_action"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        return Started(process, output_path, summary_path)


@dataclass
class Started:
    """A run of the entry point in progress."""

    process: subprocess.Popen[str] | ForkedProcess
    output_path: Path
    summary_path: Path

    def result(self, timeout: float = 60) -> ActionResult:
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        result = ActionResult(
            returncode=self.process.returncode,
            stdout=stdout,
            stderr=stderr,
            outputs=read_outputs(self.output_path.read_text()),
            summary=self.summary_path.read_text(),
        )
        WATCH.results.append(result)  # searched for the secrets after the test (conftest.py)
        return result
