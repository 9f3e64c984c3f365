"""The action's real entry point on this machine alone, as the container runs it.

``make demo`` and ``rebyte try-event`` share this: it writes the event where
``GITHUB_EVENT_PATH`` points, gives ``python -m rebyte_action`` (a subprocess, with its
log on this process's stdout) the ``GITHUB_*`` and ``INPUT_*`` variables a runner gives a
container, pointed at a running :class:`~rebyte_action.rebyte.emulator.Emulator` and
:class:`~rebyte_action.testing.FakeGitHub`, and reads back the outputs and the step
summary. :func:`print_report` then shows what the run did to both servers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..rebyte.emulator import Emulator
from ..workflow import read_outputs
from .fake_github import FakeGitHub

# Stand-ins the emulator and the fake accept; neither is a real credential.
LOCAL_API_KEY = "rbk_local_demo_key"
LOCAL_GITHUB_TOKEN = "local-github-token"  # noqa: S105 (the fake takes any token)
PLACEHOLDER_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
_POSTED_COMMENT = re.compile(r"/issues/(\d+)/comments")


@dataclass(frozen=True)
class ActionRun:
    """One run of the entry point: its exit code, its outputs (name → value) and its step summary."""

    returncode: int
    outputs: dict[str, str]
    summary: str


def run_action(
    event_name: str,
    event: Mapping[str, Any],
    *,
    emulator: Emulator,
    github: FakeGitHub,
    workdir: Path,
    inputs: Mapping[str, str] | None = None,
    poll_seconds: float = 0.5,
    timeout: float | None = None,
) -> ActionRun:
    """Run ``python -m rebyte_action`` once on ``event`` and wait for it to exit.

    ``inputs`` maps input names as ``action.yml`` spells them (``allow-forks``) to values;
    the key, the token and the base URL are set here to the local servers' and cannot be
    overridden. Files go to ``workdir``, which must exist. ``REBYTE_ACTION_POLL_SECONDS``
    is ``poll_seconds``, so ``wait: true`` follows the emulator's short tasks quickly.
    Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds (None: no limit).
    """
    event_path = workdir / "event.json"
    output_path = workdir / "output"
    summary_path = workdir / "summary.md"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    output_path.write_text("")
    summary_path.write_text("")
    repository = github.repository
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "REBYTE_"))}
    # Attachments live on github.com, which a local run does not reach unless asked to.
    env["INPUT_ATTACHMENTS"] = "false"
    # Nor does it read a config file unless asked to (--input config-file=.github/rebyte.yml).
    env["INPUT_CONFIG-FILE"] = ""
    for name, value in (inputs or {}).items():
        env[f"INPUT_{name.upper()}"] = value  # the runner keeps the hyphens: INPUT_ALLOW-FORKS
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": repository,
            "GITHUB_API_URL": github.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "1",
            "GITHUB_SHA": _sha_of(event),
            "GITHUB_REF": _ref_of(event),
            "GITHUB_OUTPUT": str(output_path),
            "GITHUB_STEP_SUMMARY": str(summary_path),
            "INPUT_REBYTE-API-KEY": LOCAL_API_KEY,
            "INPUT_GITHUB-TOKEN": LOCAL_GITHUB_TOKEN,
            "INPUT_REBYTE-BASE-URL": emulator.url,
            "REBYTE_ACTION_POLL_SECONDS": f"{poll_seconds:g}",
        }
    )
    sys.stdout.flush()
    done = subprocess.run([sys.executable, "-m", "rebyte_action"], env=env, check=False, timeout=timeout)
    sys.stdout.flush()
    return ActionRun(
        returncode=done.returncode,
        outputs=read_outputs(output_path.read_text(encoding="utf-8")),
        summary=summary_path.read_text(encoding="utf-8"),
    )


def banner(text: str) -> None:
    print(f"\n== {text} ==", flush=True)


def print_report(run: ActionRun, github: FakeGitHub, emulator: Emulator) -> None:
    """Print the GitHub requests, the Rebyte API calls, the comments, check runs, outputs and summary."""
    banner("GitHub requests the action made")
    requests = github.requests()
    for request in requests:
        reaction = (request.body or {}).get("content") if "/reactions" in request.route else None
        print(f"{request}  {reaction}" if isinstance(reaction, str) else str(request))
    if not requests:
        print("(none)")

    banner("Rebyte API calls")
    calls = [r for r in emulator.requests() if r.path.startswith("/v1/")]
    for call in calls:
        print(f"{call.method} {call.path} -> {call.status}")
    if not calls:
        print("(none)")

    # What the agent reads, as the emulator got it: the first thing a user wants to check.
    sent = [prompt.text for task in emulator.state.tasks.values() for prompt in task.prompts]
    banner("The prompt sent to Rebyte" if len(sent) < 2 else f"The {len(sent)} prompts sent to Rebyte")
    print("\n\n-----\n\n".join(text.rstrip() for text in sent) if sent else "(none)")

    posted_on = sorted(
        {
            int(match.group(1))
            for r in requests
            if r.method == "POST" and (match := _POSTED_COMMENT.search(r.route))
        }
    )
    for issue in posted_on:
        for comment in github.comments(issue):
            banner(f"The comment it posted on #{issue} (as it reads now)")
            print(comment["body"])
    if not posted_on:
        banner("The comment it posted")
        print("(none)")

    for check_run in github.check_runs():
        banner("Check run")
        print(
            f"{check_run.get('name')}: {check_run.get('status')} {check_run.get('conclusion') or ''}".rstrip()
        )

    banner("Its outputs")
    for name, value in run.outputs.items():
        print(f"{name}={value}")
    banner("Its step summary")
    print(run.summary.rstrip() or "(empty)")


def _sha_of(event: Mapping[str, Any]) -> str:
    after = event.get("after")
    if isinstance(after, str) and after:
        return after
    pull = event.get("pull_request")
    head = pull.get("head") if isinstance(pull, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) and sha else PLACEHOLDER_SHA


def _ref_of(event: Mapping[str, Any]) -> str:
    ref = event.get("ref")
    if isinstance(ref, str) and ref.startswith("refs/"):
        return ref
    if isinstance(ref, str) and ref:  # workflow_dispatch gives a branch name
        return f"refs/heads/{ref}"
    repository = event.get("repository")
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    return f"refs/heads/{branch if isinstance(branch, str) and branch else 'main'}"
