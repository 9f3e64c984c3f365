"""The ``rebyte`` command: the Rebyte v1 API from a shell, and the local emulator.

Results are JSON on stdout (pipe them to ``jq``); progress and errors go to stderr.
Exit codes: 0 success, 1 API or network error, 2 usage error, 3 the task ended
``failed`` or ``canceled`` under ``--wait``/``wait``, 4 the wait timed out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__, emulator_command, try_event
from .rebyte import (
    MAX_PROMPT_CHARS,
    RebyteClient,
    RebyteError,
    Task,
    TaskStatus,
    WaitTimeout,
)
from .rebyte.client import check_base_url
from .rebyte.models import KNOWN_EXECUTORS, KNOWN_VISIBILITIES, ApiModel

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_TASK_FAILED, EXIT_TIMEOUT = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
KEY_HELP = (
    "REBYTE_API_KEY is not set. Get a key at https://app.rebyte.ai/settings/api-keys, "
    "then: export REBYTE_API_KEY=rbk_..."
)


class UsageError(Exception):
    """Bad input from the user: exit 2 with this message."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rebyte",
        description="Run Rebyte cloud coding agents: create, follow and share tasks. "
        "The API key comes from REBYTE_API_KEY.",
        epilog="exit codes: 0 ok, 1 API or network error, 2 usage error, "
        "3 task failed or canceled (--wait), 4 wait timed out",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--base-url",
        default=None,
        type=_base_url,
        help="API base URL (default: $REBYTE_BASE_URL or https://api.rebyte.ai)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    create = sub.add_parser("create", help="create a task (and optionally wait for it)")
    _add_prompt(create)
    create.add_argument(
        "--executor", choices=KNOWN_EXECUTORS, help="agent to run (service default: opencode)"
    )
    create.add_argument("--model", help="model tier (service default: lite)")
    _add_skills(create)
    create.add_argument(
        "--file",
        dest="files",
        action="append",
        default=[],
        metavar="PATH",
        help="upload this file and attach it (repeatable); the agent finds it at /code/<name>",
    )
    create.add_argument("--repo", "--github-url", dest="github_url", metavar="OWNER/REPO", type=repository)
    create.add_argument("--branch", dest="branch_name", metavar="NAME")
    create.add_argument("--workspace", dest="workspace_id", metavar="ID", help="reuse this workspace's VM")
    _add_wait(create)

    get = sub.add_parser("get", help="show a task with its status and prompts")
    get.add_argument("task_id", metavar="TASK_ID")

    listing = sub.add_parser("list", help="list tasks, newest first")
    listing.add_argument("--limit", type=int, default=50, help="page size, 1 to 100 (default 50)")
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--all", action="store_true", help="every task, across all pages")

    follow = sub.add_parser("follow-up", help="send another prompt to a task")
    follow.add_argument("task_id", metavar="TASK_ID")
    _add_prompt(follow)
    _add_skills(follow)
    _add_wait(follow)

    visibility = sub.add_parser("visibility", help="set who can see a task")
    visibility.add_argument("task_id", metavar="TASK_ID")
    visibility.add_argument("visibility", choices=KNOWN_VISIBILITIES)

    share = sub.add_parser("share", help="make a task public and print its share URL")
    share.add_argument("task_id", metavar="TASK_ID")

    delete = sub.add_parser("delete", help="delete a task (soft delete)")
    delete.add_argument("task_id", metavar="TASK_ID")

    wait = sub.add_parser("wait", help="wait until a task is completed, failed or canceled")
    wait.add_argument("task_id", metavar="TASK_ID")
    wait.add_argument(
        "--timeout", type=seconds, default=None, metavar="SECONDS", help="give up after this long"
    )
    wait.add_argument("--interval", type=seconds, default=2.0, metavar="SECONDS", help="first poll interval")

    upload = sub.add_parser("upload", help="upload a file; prints its id and uniquified filename")
    upload.add_argument("path", metavar="PATH")
    upload.add_argument("--content-type", default=None)

    emulator_command.add_parser(sub)
    try_event.add_parser(sub)
    return parser


def _add_prompt(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--prompt", "-p", help="the instructions for the agent")
    group.add_argument("--prompt-file", metavar="PATH", help="read the prompt from a file ('-' for stdin)")


def _add_skills(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skill", dest="skill", action="append", default=[], metavar="SLUG", help="repeatable"
    )
    parser.add_argument("--skills", default="", metavar="A,B", help="comma-separated skill slugs")


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait", action="store_true", help="wait for the task to finish; print the final task"
    )
    parser.add_argument(
        "--timeout", type=seconds, default=None, metavar="SECONDS", help="with --wait: give up"
    )
    parser.add_argument(
        "--interval", type=seconds, default=2.0, metavar="SECONDS", help="with --wait: first poll"
    )


def seconds(text: str) -> float:
    """An option's number of seconds, > 0 (argparse's ``type``: a bad one is a usage error, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
    return value


def repository(text: str) -> str:
    """``--repo``: ``owner/repo``, or a repository's web address (``https://github.com/owner/repo``,
    ``.git`` allowed) read as one; anything else is a usage error naming the option (exit 2)."""
    value = text.strip()
    match = re.fullmatch(r"(?:https?://[^/\s]+/)?([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?", value)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected OWNER/REPO (or the repository's address), not {text!r}")
    return match.group(1)


def _base_url(text: str) -> str:
    try:
        return check_base_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}, not {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "emulator":
            return emulator_command.main(args)
        if args.command == "try-event":
            return try_event.main(args)
        return run_api_command(args)
    except UsageError as error:
        _say(f"error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED


def run_api_command(args: argparse.Namespace) -> int:
    if not os.environ.get("REBYTE_API_KEY", "").strip():
        raise UsageError(KEY_HELP)
    from_env = os.environ.get("REBYTE_BASE_URL", "").strip()
    if args.base_url is None and from_env:
        try:
            check_base_url(from_env)
        except ValueError as error:
            raise UsageError(f"REBYTE_BASE_URL: {error}, not {from_env!r}") from None
    tty = sys.stderr.isatty()
    try:
        with RebyteClient(base_url=args.base_url, sleep=_spinner_sleep if tty else time.sleep) as client:
            handler = COMMANDS[args.command]
            return handler(client, args)
    except ValueError as error:
        raise UsageError(str(error)) from None
    except RebyteError as error:
        _say(f"error: {error}")
        return EXIT_API


def _cmd_create(client: RebyteClient, args: argparse.Namespace) -> int:
    prompt = _read_prompt(args)
    skills = _skills(args)
    for path in args.files:
        _check_file(path, "--file: ")
    uploads = []
    for path in args.files:
        upload = client.upload_file(path)
        _say(f"uploaded {path} as {upload.filename}")
        uploads.append(upload)
    created = client.create_task(
        prompt,
        executor=args.executor,
        model=args.model,
        skills=skills,
        files=uploads,
        github_url=args.github_url,
        branch_name=args.branch_name,
        workspace_id=args.workspace_id,
    )
    _say(f"task {created.id} is running; watch it live: {created.url}")
    if not args.wait:
        _emit(created)
        return EXIT_OK
    return _wait_and_emit(client, created.id, args.timeout, args.interval)


def _cmd_get(client: RebyteClient, args: argparse.Namespace) -> int:
    _emit(client.get_task(args.task_id))
    return EXIT_OK


def _cmd_list(client: RebyteClient, args: argparse.Namespace) -> int:
    if args.all:
        rows = [task.to_json_dict() for task in client.iter_tasks()]
        _emit_json({"data": rows, "total": len(rows)})
    else:
        _emit(client.list_tasks(limit=args.limit, offset=args.offset))
    return EXIT_OK


def _cmd_follow_up(client: RebyteClient, args: argparse.Namespace) -> int:
    answer = client.follow_up(args.task_id, _read_prompt(args), skills=_skills(args))
    _say(f"prompt {answer.prompt_id} sent to task {args.task_id}")
    if not args.wait:
        _emit(answer)
        return EXIT_OK
    return _wait_and_emit(client, args.task_id, args.timeout, args.interval)


def _cmd_visibility(client: RebyteClient, args: argparse.Namespace) -> int:
    _emit(client.set_visibility(args.task_id, args.visibility))
    return EXIT_OK


def _cmd_share(client: RebyteClient, args: argparse.Namespace) -> int:
    change = client.set_visibility(args.task_id, "public")
    _say(f"anyone with this link can watch the task: {change.share_url}")
    _emit(change)
    return EXIT_OK


def _cmd_delete(client: RebyteClient, args: argparse.Namespace) -> int:
    client.delete_task(args.task_id)
    _say(f"task {args.task_id} deleted")
    _emit_json({"id": args.task_id, "deleted": True})
    return EXIT_OK


def _cmd_wait(client: RebyteClient, args: argparse.Namespace) -> int:
    return _wait_and_emit(client, args.task_id, args.timeout, args.interval)


def _cmd_upload(client: RebyteClient, args: argparse.Namespace) -> int:
    _check_file(args.path)
    upload = client.upload_file(args.path, content_type=args.content_type)
    _emit_json({"id": upload.id, "filename": upload.filename})
    return EXIT_OK


COMMANDS: dict[str, Callable[[RebyteClient, argparse.Namespace], int]] = {
    "create": _cmd_create,
    "get": _cmd_get,
    "list": _cmd_list,
    "follow-up": _cmd_follow_up,
    "visibility": _cmd_visibility,
    "share": _cmd_share,
    "delete": _cmd_delete,
    "wait": _cmd_wait,
    "upload": _cmd_upload,
}


def _check_file(path: str, option: str = "") -> None:
    """UsageError unless ``path`` is a file: there is nothing there, or a directory."""
    if os.path.isdir(path):
        raise UsageError(f"{option}{path} is a directory, not a file")
    if not os.path.isfile(path):
        raise UsageError(f"{option}no such file: {path}")


def _wait_and_emit(client: RebyteClient, task_id: str, timeout: float | None, interval: float) -> int:
    def on_change(task: Task) -> None:
        _clear_spinner()
        _say(f"task {task.id}: {task.status.value}")

    try:
        task = client.wait_for_task(task_id, timeout=timeout, interval=interval, on_change=on_change)
    except KeyboardInterrupt:
        _clear_spinner()
        _say(f"\nstopped waiting: task {task_id} goes on; follow it again with: rebyte wait {task_id}")
        return EXIT_INTERRUPTED
    except WaitTimeout as timed_out:
        _clear_spinner()
        _say(f"error: {timed_out}; it goes on running: {timed_out.task.url}")
        _emit(timed_out.task)
        return EXIT_TIMEOUT
    _clear_spinner()
    _emit(task)
    if task.status is TaskStatus.COMPLETED:
        return EXIT_OK
    _say(f"task ended {task.status.value}: {task.url}")
    return EXIT_TASK_FAILED


def _read_prompt(args: argparse.Namespace) -> str:
    if args.prompt_file is None:
        prompt: str = args.prompt
    elif args.prompt_file == "-":
        prompt = sys.stdin.read()
    else:
        try:
            with open(args.prompt_file, encoding="utf-8") as handle:
                prompt = handle.read()
        except OSError as error:
            raise UsageError(f"--prompt-file: {error.strerror}: {args.prompt_file}") from None
    if not prompt.strip():
        raise UsageError("the prompt is empty; say what the agent should do with --prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UsageError(f"the prompt has {len(prompt):,} characters; the limit is {MAX_PROMPT_CHARS:,}")
    return prompt


def _skills(args: argparse.Namespace) -> list[str]:
    listed = [s.strip() for s in args.skills.split(",") if s.strip()]
    return [*args.skill, *listed]


def _emit(model: ApiModel) -> None:
    _emit_json(model.to_json_dict())


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


_SPINNER = itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
_spinner_started: float | None = None


def _spinner_sleep(seconds: float) -> None:
    """Sleep, drawing a spinner with the time waited so far on a terminal's stderr."""
    global _spinner_started
    if _spinner_started is None:
        _spinner_started = time.monotonic()
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        waited = time.monotonic() - _spinner_started
        sys.stderr.write(f"\r{next(_SPINNER)} waiting… {waited:4.0f}s")
        sys.stderr.flush()
        time.sleep(min(0.1, left))


def _clear_spinner() -> None:
    if _spinner_started is not None and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
