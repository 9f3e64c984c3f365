"""GitHub Actions workflow commands: masks, annotations, outputs and the step summary."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: a skip pays for every import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


class Workflow:
    """Talks to the runner through stdout and the files it names; works outside a runner too."""

    def __init__(self, output_path: str = "", summary_path: str = "", stream: TextIO | None = None):
        self.output_path = output_path
        self.summary_path = summary_path
        self.stream = stream or sys.stdout

    def _command(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def log(self, message: str) -> None:
        self._command(message)

    def mask(self, value: str) -> None:
        for line in value.splitlines() or [value]:
            if line.strip():
                self._command(f"::add-mask::{_escape_data(line)}")

    def error(self, message: str, title: str = "rebyte-action") -> None:
        self._command(f"::error title={title}::{_escape_data(message)}")

    def warning(self, message: str, title: str = "rebyte-action") -> None:
        self._command(f"::warning title={title}::{_escape_data(message)}")

    def set_outputs(self, values: Mapping[str, str]) -> None:
        if not self.output_path:
            for name, value in values.items():
                self.log(f"output {name}={value}")
            return
        with open(self.output_path, "a", encoding="utf-8") as handle:
            for name, value in values.items():
                delimiter = f"ghadelimiter_{os.urandom(8).hex()}"  # os, not secrets: hmac costs a skip ms
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def summary(self, markdown: str) -> None:
        if not self.summary_path:
            return
        with open(self.summary_path, "a", encoding="utf-8") as handle:
            handle.write(markdown if markdown.endswith("\n") else markdown + "\n")


def read_input(name: str, default: str = "") -> str:
    """An input as the runner hands it to a Docker action: ``INPUT_TRIGGER-PHRASE``, or
    ``INPUT_TRIGGER_PHRASE``; empty means ``default``. (``settings.py`` reads every input the
    same way; this is for the few a skip needs before it is loaded.)"""
    upper = name.upper()
    for variable in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        value = os.environ.get(variable, "")
        if value:
            return value
    return default


def read_outputs(text: str) -> dict[str, str]:
    """Parse what :meth:`Workflow.set_outputs` wrote (``name<<delimiter``, value lines, delimiter)."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        outputs[name] = "\n".join(value)
    return outputs
