"""`make container-figures`: the image's size, start-up and build times, measured here.

Run by tests/container/run.sh with the engine up and the Debian base made. It prints what the
project adds on top of its base, how long a container takes from start to exit (median of 5)
for a skipped event and for a ``/rebyte`` comment, and the build's cold and cached times,
for the Debian base and for the same base without the standard library's bytecode (as
python:3.12-slim ships, whose own image cannot be pulled here).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from ..action_harness import comment_event
from .image import (
    BASE_IMAGE,
    IMAGE,
    ContainerAction,
    Job,
    build,
    docker,
    image_size,
    wheels,
    without_stdlib_bytecode,
)

RUNS = 5


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _start_to_exit(image: str, event: dict[str, object]) -> list[float]:
    with (
        Emulator(EmulatorConfig(task_seconds=60)) as emulator,
        FakeGitHub() as github,
        tempfile.TemporaryDirectory() as folder,
    ):
        github.set_permission("Codertocat", "admin")
        work = Path(folder)
        (work / "workspace").mkdir()
        (work / "home").mkdir()
        action = ContainerAction(image, emulator, github, Job(work / "workspace", work / "home"), work)
        seconds = []
        for _ in range(RUNS):
            started = time.monotonic()
            result = action.run("issue_comment", event)
            seconds.append(time.monotonic() - started)
            if result.returncode != 0:
                raise SystemExit(f"the action exited {result.returncode}:\n{result.log}")
        return seconds


def _figures(base: str, tag: str) -> None:
    print(f"\n== {tag} on {base} ==")
    cold = build(base, tag=tag, no_cache=True)
    cached = build(base, tag=tag)
    base_size, size = image_size(base), image_size(tag)
    print(f"base image:             {_megabytes(base_size)}")
    print(f"image:                  {_megabytes(size)}")
    print(f"the project adds:       {_megabytes(size - base_size)}")
    print("its layers (docker history):")
    history = docker("history", "--format", "{{.Size}}\t{{.CreatedBy}}", "--no-trunc", tag).splitlines()
    for line in history[: len(history) - len(docker("history", "-q", base).splitlines())]:
        layer_size, _, created_by = line.partition("\t")
        print(f"  {layer_size:>8}  {created_by[:90]}")
    print(f"build, cold (no cache): {cold:.1f} s")
    print(f"build, cached:          {cached:.1f} s")
    for label, event in (
        ("a skipped event (an edited comment)", comment_event("/rebyte fix it", action="edited")),
        ("a /rebyte comment", comment_event("/rebyte fix it")),
    ):
        seconds = _start_to_exit(tag, event)
        shown = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"start to exit, {label}: median {statistics.median(seconds):.2f} s ({shown})")


def main() -> None:
    wheels(BASE_IMAGE)  # fetched once, so the build times are the builds'
    _figures(BASE_IMAGE, IMAGE)
    _figures(without_stdlib_bytecode(BASE_IMAGE), f"{IMAGE}-no-stdlib-bytecode")


if __name__ == "__main__":
    main()
