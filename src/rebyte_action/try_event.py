"""``rebyte try-event EVENT.json``: the action on your own event, on this machine alone.

It reads a webhook payload (what a runner writes to ``GITHUB_EVENT_PATH``: a step
``run: cat "$GITHUB_EVENT_PATH"`` prints one), tells which event it is from its shape
unless ``--event-name`` says, starts the Rebyte emulator and the fake GitHub on loopback,
seeds the fake with the payload's repository, pull request and sender (with the role
``--permission`` gives), runs the action's real entry point with the ``--input`` values,
and prints the GitHub requests it made, the Rebyte calls, the comment it would post, its
outputs and its step summary. The exit code is the action's (``2`` when the file or an
option is wrong).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import AliasChoices

from .rebyte.emulator import Emulator, EmulatorConfig
from .settings import Settings
from .testing import FakeGitHub
from .testing.local_action import banner, print_report, run_action

EXIT_USAGE = 2
ROLES = ("none", "read", "triage", "write", "maintain", "admin")
# try-event points these at its own servers; taking them from the user would reach the real ones.
RESERVED_INPUTS = ("rebyte-api-key", "github-token", "rebyte-base-url")
EVENT_NAME = re.compile(r"[a-z_]+")


class EventFileError(Exception):
    """The event file or an option is wrong; the message names the file or option and the problem."""


def load_event(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``. Raises :class:`EventFileError` saying what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EventFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EventFileError(f"{path}: is a directory, not an event file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EventFileError(f"{path}: cannot be read: {error}") from None
    if not text.strip():
        raise EventFileError(f"{path}: is empty; it should hold a webhook payload (a JSON object)")
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise EventFileError(f"{path}: is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise EventFileError(
            f"{path}: holds a JSON {type(payload).__name__}, not an object; "
            'a webhook payload is an object such as {"action": "created", "comment": {...}, ...}'
        )
    repository = payload.get("repository")
    if not isinstance(repository, dict) or not isinstance(repository.get("full_name"), str):
        raise EventFileError(
            f'{path}: has no repository.full_name (such as "octo-org/octo-repo"); every payload '
            "GitHub sends a workflow carries its repository"
        )
    return payload


def infer_event_name(payload: Mapping[str, Any]) -> str:
    """The event a payload belongs to, from the objects it holds (``GITHUB_EVENT_NAME`` is not in it).

    ``comment`` with ``pull_request`` is ``pull_request_review_comment``, with ``issue``
    ``issue_comment``; otherwise ``pull_request``, ``issues``, ``workflow_dispatch``,
    ``schedule`` or ``push``. ``pull_request_target`` has ``pull_request``'s shape: pass
    ``--event-name`` for it. Raises :class:`EventFileError` for any other shape.
    """
    if isinstance(payload.get("comment"), dict):
        if isinstance(payload.get("pull_request"), dict):
            return "pull_request_review_comment"
        if isinstance(payload.get("issue"), dict):
            return "issue_comment"
        if isinstance(payload.get("discussion"), dict):
            return "discussion_comment"
    if isinstance(payload.get("review"), dict) and isinstance(payload.get("pull_request"), dict):
        return "pull_request_review"
    if isinstance(payload.get("pull_request"), dict):
        return "pull_request"
    if isinstance(payload.get("issue"), dict):
        return "issues"
    if "workflow" in payload and "inputs" in payload:
        return "workflow_dispatch"
    if "schedule" in payload:
        return "schedule"
    if isinstance(payload.get("ref"), str) and ("commits" in payload or "head_commit" in payload):
        return "push"
    keys = ", ".join(sorted(payload)) or "none"
    raise EventFileError(
        f"cannot tell which event this payload is from its keys ({keys}); "
        "pass --event-name, e.g. --event-name issue_comment"
    )


def action_inputs() -> tuple[str, ...]:
    """The action's input names as ``action.yml`` spells them (``allow-forks``), from the settings."""
    names = []
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            first = alias.choices[0]
            if isinstance(first, str) and first.startswith("INPUT_"):
                names.append(first.removeprefix("INPUT_").lower())
    return tuple(names)


def parse_inputs(pairs: Sequence[str]) -> dict[str, str]:
    """``["wait=true", "skills=a,b"]`` → ``{"wait": "true", "skills": "a,b"}``.

    Names may use ``_`` for ``-``. Raises :class:`EventFileError` for a pair without ``=``,
    an unknown name, or one that try-event sets itself (the key, the token, the base URL).
    """
    known = action_inputs()
    inputs: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        name = name.strip().lower().replace("_", "-")
        if not equals or not name:
            raise EventFileError(f"--input {pair!r}: write it as name=value, e.g. --input wait=true")
        if name in RESERVED_INPUTS:
            raise EventFileError(
                f"--input {name}: try-event sets it to its local emulator and fake GitHub, "
                "so that nothing reaches the real services"
            )
        if name not in known:
            choices = ", ".join(n for n in known if n not in RESERVED_INPUTS)
            raise EventFileError(f"--input {name}: the action has no such input; it has {choices}")
        inputs[name] = value
    return inputs


def seed(github: FakeGitHub, payload: Mapping[str, Any], role: str) -> list[str]:
    """Give the fake GitHub what the payload implies: the sender's role and the pull request.

    Returns one line per thing seeded, for the user to read. A comment on a pull request's
    conversation does not carry the head branch, which the action fetches: the fake
    serves one named ``pr-<number>`` in the same repository.
    """
    notes = []
    sender = payload.get("sender")
    login = sender.get("login") if isinstance(sender, dict) else None
    if role == "none":
        github.state.default_permission = None  # the permission API answers 404, as for a stranger
    if isinstance(login, str) and login:
        if role != "none":
            github.set_permission(login, role)
        notes.append(f"sender @{login} has the {role} role on {github.repository}")
    pull = payload.get("pull_request")
    issue = payload.get("issue")
    if isinstance(pull, dict) and isinstance(pull.get("number"), int):
        head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
        head_repo = (head.get("repo") or {}).get("full_name") if isinstance(head, dict) else None
        ref = head.get("ref") if isinstance(head, dict) else None
        github.add_pull(pull["number"], head_ref=ref or f"pr-{pull['number']}", head_repo=head_repo or None)
    elif isinstance(issue, dict) and isinstance(issue.get("number"), int) and issue.get("pull_request"):
        number = issue["number"]
        github.add_pull(number, head_ref=f"pr-{number}", title=str(issue.get("title") or "A change"))
        notes.append(
            f"pull request #{number}: head branch pr-{number} in {github.repository} "
            "(a conversation comment's payload does not say; the action asks GitHub)"
        )
    return notes


def _infer(path: Path, payload: Mapping[str, Any]) -> str:
    try:
        return infer_event_name(payload)
    except EventFileError as error:
        raise EventFileError(f"{path}: {error}") from None


def add_parser(sub: Any) -> None:
    """Register ``try-event`` on the ``rebyte`` command's subparsers."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "try-event",
        help="run the action on your own event file, against the local emulator and a fake GitHub",
        description="Run the action's entry point on EVENT.json (a webhook payload, as a runner "
        'writes to GITHUB_EVENT_PATH: a step `run: cat "$GITHUB_EVENT_PATH"` prints one) against '
        "the local Rebyte emulator and a fake GitHub seeded from it, and print the GitHub requests "
        "it made, the Rebyte calls, the comment it would post, its outputs and its step summary. "
        "Exit code: the action's, or 2 when the file or an option is wrong.",
    )
    parser.add_argument("event", metavar="EVENT.json", type=Path, help="a webhook payload")
    parser.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an input of the action, e.g. --input trigger-phrase=/agent (repeatable)",
    )
    parser.add_argument(
        "--event-name",
        metavar="NAME",
        help="the event (GITHUB_EVENT_NAME); default: told from the payload's shape",
    )
    parser.add_argument(
        "--permission",
        choices=ROLES,
        default="write",
        metavar="ROLE",
        help="the sender's role on the repository in the fake GitHub: "
        f"{', '.join(ROLES)} (default write). The action's own 'permission' input, "
        "the least role it asks for, is --input permission=ROLE",
    )
    parser.add_argument(
        "--task-seconds",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long the emulator's tasks run (default 1)",
    )


def seed_config(github: FakeGitHub, path: str | None) -> list[str]:
    """With ``--input config-file=PATH``: the fake GitHub serves the local file at PATH (relative to
    the current directory, as in a checkout) on the default branch; no such file reads as none."""
    if not path:
        return []
    local = Path(path)
    if not local.is_file():
        return [f"no {path} here ({Path.cwd()}): the action reads it as no config file"]
    github.set_file(path, local.read_bytes())
    return [f"{path} from this directory, as the default branch's"]


def main(args: argparse.Namespace) -> int:
    """Run ``rebyte try-event``; the action's exit code, or 2 with a message when the input is wrong."""
    try:
        payload = load_event(args.event)
        inputs = parse_inputs(args.inputs)
        if args.event_name is not None and not EVENT_NAME.fullmatch(args.event_name):
            raise EventFileError(f"--event-name {args.event_name!r}: event names are like issue_comment")
        event_name = args.event_name or _infer(args.event, payload)
    except EventFileError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    how = "as given" if args.event_name else "told from the payload's shape"
    repository = payload["repository"]["full_name"]
    with (
        Emulator(EmulatorConfig(task_seconds=args.task_seconds)) as emulator,
        FakeGitHub(repository) as github,
        tempfile.TemporaryDirectory(prefix="rebyte-try-") as folder,
    ):
        print(f"Event:           {event_name} ({how}), action {payload.get('action') or '-'}")
        print(f"Rebyte emulator: {emulator.url}\nFake GitHub:     {github.url}")
        for note in seed(github, payload, args.permission) + seed_config(github, inputs.get("config-file")):
            print(f"Seeded:          {note}")
        for name, value in inputs.items():
            print(f"Input:           {name}={value}")
        banner("The action's log (python -m rebyte_action)")
        run = run_action(
            event_name, payload, emulator=emulator, github=github, workdir=Path(folder), inputs=inputs
        )
        print_report(run, github, emulator)
        print(f"\nThe action exited {run.returncode}.", flush=True)
        return run.returncode
