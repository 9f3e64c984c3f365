"""``rebyte emulator``: serve the local emulator of the Rebyte API until stopped."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from typing import Any, NoReturn

from .rebyte.emulator import Emulator, EmulatorConfig, Fault

EXIT_OK, EXIT_USAGE = 0, 2


class UsageError(Exception):
    """A bad option: exit 2 with this message."""


def add_parser(sub: Any) -> None:
    """Register ``emulator`` on the ``rebyte`` command's subparsers."""
    emulator: argparse.ArgumentParser = sub.add_parser(
        "emulator", help="serve a local emulator of the Rebyte API"
    )
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=_port, default=8765, help="0 picks a free port (default 8765)")
    emulator.add_argument(
        "--task-seconds", type=float, default=2.0, help="how long a prompt runs (default 2)"
    )
    emulator.add_argument("--provision-seconds", type=float, default=0.0, help="delay of task creation")
    emulator.add_argument("--latency", type=float, default=0.0, help="added to every API request, seconds")
    emulator.add_argument(
        "--error-rate", type=float, default=0.0, help="share of requests answered 500/502/503"
    )
    emulator.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='inject a fault, e.g. \'{"kind": "status", "status": 429, "retry_after": 1}\' (repeatable)',
    )
    emulator.add_argument(
        "--max-running",
        type=int,
        default=0,
        help="the account's limit: creates answer 429 limit_exceeded while this many tasks run (0: none)",
    )
    emulator.add_argument("--key-prefix", default="rbk_", help="keys must start with this (default rbk_)")
    emulator.add_argument("--app-url", default="https://app.rebyte.ai", help="base of task URLs")
    emulator.add_argument("--seed", type=int, default=None, help="seed for --error-rate")
    emulator.add_argument("--verbose", action="store_true", help="log every request to stderr")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, not {text!r}")
    return port


def main(args: argparse.Namespace) -> int:
    """Run ``rebyte emulator`` until Ctrl-C or SIGTERM; 2 with a message when an option is wrong."""
    try:
        return _serve(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return EXIT_USAGE


def _serve(args: argparse.Namespace) -> int:
    try:
        faults = [Fault.from_json(json.loads(text)) for text in args.fault]
    except (ValueError, TypeError) as error:
        raise UsageError(f"--fault: {error}") from None
    if args.max_running < 0:
        raise UsageError("--max-running: must be 0 (no limit) or more")
    if not 0 <= args.error_rate <= 1:
        raise UsageError("--error-rate: must be between 0 and 1")
    config = EmulatorConfig(
        key_prefix=args.key_prefix,
        task_seconds=args.task_seconds,
        provision_seconds=args.provision_seconds,
        latency=args.latency,
        error_rate=args.error_rate,
        seed=args.seed,
        app_url=args.app_url.rstrip("/"),
        faults=faults,
        max_running=args.max_running,
    )
    try:
        emulator = Emulator(config, host=args.host, port=args.port, verbose=args.verbose)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    print(emulator.url, flush=True)
    print(
        f"Rebyte emulator on {emulator.url} (keys starting {config.key_prefix!r}); Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )

    def stop(signum: int, frame: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()
    return EXIT_OK
