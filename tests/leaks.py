"""A watch over everything the action emitted in one test, for the step's secrets.

``conftest.py``'s autouse fixture resets :data:`WATCH` before each test and fails the test
when :meth:`SecretWatch.leaks` finds a secret afterwards. The ``github`` and ``emulator``
fixtures and every :class:`~tests.action_harness.Action` run register with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

if TYPE_CHECKING:
    from .action_harness import ActionResult

# Distinctive test secrets: no 8 characters of them in a row occur in the project's own text.
REBYTE_KEY = "rbk_Zq7Xv2Lm9Kp4Wt8NqRd"
GITHUB_TOKEN = "ghs_Jw3Rt6Yb9Hd2Qs5Fk8PmXc"
CLIENT_KEY = "rbk_Vc4Nx7Gh2Mb5Ld8SyTe"  # the in-process client's (tests/conftest.py)
SECRETS = (REBYTE_KEY, GITHUB_TOKEN, CLIENT_KEY)
FRAGMENT = 8  # "in part": any run of this many consecutive characters of a secret
MASK_COMMAND = "::add-mask::"  # the runner's command to mask a value: it must name the secret


def fragments(secret: str, size: int = FRAGMENT) -> set[str]:
    """Every run of ``size`` consecutive characters of ``secret`` (the whole of a shorter one)."""
    if len(secret) <= size:
        return {secret}
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def find_leaks(emitted: Iterable[tuple[str, str]], secrets: Iterable[str] = SECRETS) -> list[str]:
    """For each ``(where, text)`` holding a secret whole or in part: ``"where: fragment"``.

    A line of a log that is the runner's ``::add-mask::`` command is not a leak: the runner
    reads it and never shows it.
    """
    pieces = [(secret, fragments(secret)) for secret in secrets]
    found = []
    for where, text in emitted:
        visible = "\n".join(line for line in text.splitlines() if not line.startswith(MASK_COMMAND))
        for secret, parts in pieces:
            hit = secret if secret in visible else next((p for p in sorted(parts) if p in visible), None)
            if hit is not None:
                found.append(f"{where}: {hit!r} (of {secret[:4]}…)")
    return found


@dataclass
class SecretWatch:
    """What a test's servers and runs saw; :meth:`leaks` searches it for the secrets."""

    secrets: tuple[str, ...] = SECRETS
    github: list[FakeGitHub] = field(default_factory=list)
    emulators: list[Emulator] = field(default_factory=list)
    results: list[ActionResult] = field(default_factory=list)

    def reset(self) -> None:
        self.github.clear()
        self.emulators.clear()
        self.results.clear()

    def emitted(self) -> Iterator[tuple[str, str]]:
        """``(where, text)`` for everything recorded: each GitHub request's path, query, headers
        (Authorization aside: the token belongs there) and body; each comment; each prompt
        and title the emulator holds; each run's stdout, stderr, outputs and step summary."""
        for fake in self.github:
            for request in fake.requests():
                where = f"GitHub request {request.method} {request.path}"
                query = json.dumps(request.query)
                yield where, f"{request.path} {query} {json.dumps(request.headers)}"
                yield where + " body", json.dumps(request.body, ensure_ascii=False)
            with fake.lock:
                comments = [c for thread in fake.state.comments.values() for c in thread]
            for comment in comments:
                yield f"GitHub comment {comment['id']}", str(comment["body"])
        for emulator in self.emulators:
            with emulator.state.lock:
                tasks = list(emulator.state.tasks.values())
            for task in tasks:
                yield f"Rebyte task {task.id} title", task.title
                for prompt in task.prompts:
                    yield f"Rebyte task {task.id} prompt", prompt.text
        for n, result in enumerate(self.results, 1):
            yield f"run {n} stdout", result.stdout
            yield f"run {n} stderr", result.stderr
            yield f"run {n} outputs", json.dumps(result.outputs, ensure_ascii=False)
            yield f"run {n} step summary", result.summary

    def leaks(self) -> list[str]:
        return find_leaks(self.emitted(), self.secrets)


WATCH = SecretWatch()
