"""Whole-process time, paired in one run: each figure beside the floor it is compared with."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from ..action_harness import Action, comment_event

IMPORT_FLOOR = "import github, httpx, pydantic_settings"


def _seconds(argv: list[str], env: dict[str, str] | None = None, cpu: list[float] | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (user + system) appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def _skip_env(workdir: Path) -> dict[str, str]:
    """A comment without the phrase, as the runner hands it over."""
    event = workdir / "skipped.json"
    event.write_text(json.dumps(comment_event("LGTM, thanks")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(
        {
            "GITHUB_EVENT_NAME": "issue_comment",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_OUTPUT": str(workdir / "output"),
            "GITHUB_STEP_SUMMARY": str(workdir / "summary"),
            "INPUT_REBYTE-API-KEY": "rbk_bench",
        }
    )
    return env


def _answer_seconds(workdir: Path) -> float:
    """Process start to the answer comment (the edit that carries the task's URL) reaching GitHub."""
    with Emulator(EmulatorConfig(task_seconds=30.0)) as emulator, FakeGitHub() as github:
        github.set_permission("Codertocat", "admin")
        action = Action(emulator, github, workdir)
        started = time.perf_counter()
        run = action.start("issue_comment", comment_event("/rebyte fix the typo"))
        while not any(r.method == "PATCH" for r in github.requests()):
            if run.process.poll() is not None and not any(r.method == "PATCH" for r in github.requests()):
                raise RuntimeError(f"no answer comment:\n{run.result().log}")
            time.sleep(0.0005)
        arrived = time.perf_counter() - started
        run.result()
        return arrived


def top_imports(stderr: str, top: int = 8) -> tuple[int, list[tuple[str, float]]]:
    """From ``-X importtime`` output: how many modules were imported, and the entries with the most
    cumulative time (ms)."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        entries.append((name.strip(), int(cumulative) / 1000))
    return len(entries), sorted(entries, key=lambda entry: -entry[1])[:top]


def _answer_imports(workdir: Path) -> str:
    with Emulator(EmulatorConfig(task_seconds=30.0)) as emulator, FakeGitHub() as github:
        github.set_permission("Codertocat", "admin")
        action = Action(emulator, github, workdir)
        result = action.run(
            "issue_comment", comment_event("/rebyte fix it"), raw_env={"PYTHONPROFILEIMPORTTIME": "1"}
        )
        return result.stderr


def measure(runs: int = 15) -> tuple[dict[str, Any], list[str]]:
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = _skip_env(workdir)
        skipped, bare, answered, floor = [], [], [], []
        skipped_cpu: list[float] = []
        bare_cpu: list[float] = []
        for _ in range(runs):
            bare.append(_seconds([python, "-c", "pass"], cpu=bare_cpu))
            skipped.append(_seconds([python, "-m", "rebyte_action"], env, cpu=skipped_cpu))
            floor.append(_seconds([python, "-c", IMPORT_FLOOR]))
            answered.append(_answer_seconds(workdir))
        skip_stderr = subprocess.run(
            [python, "-X", "importtime", "-m", "rebyte_action"], env=env, capture_output=True, text=True
        ).stderr
        answer_stderr = _answer_imports(workdir)
    skip_modules, skip_top = top_imports(skip_stderr)
    answer_modules, answer_top = top_imports(answer_stderr)
    ms = {
        name: statistics.median(values) * 1000
        for name, values in (("skipped", skipped), ("bare", bare), ("answered", answered), ("floor", floor))
    }
    cpu_ms = {
        name: statistics.median(values) * 1000
        for name, values in (("skipped", skipped_cpu), ("bare", bare_cpu))
    }
    figures = {
        "runs": runs,
        "median_ms": ms,
        "skip_over_bare_ms": ms["skipped"] - ms["bare"],
        "cpu_median_ms": cpu_ms,
        "skip_cpu_over_bare_ms": cpu_ms["skipped"] - cpu_ms["bare"],
        "answer_over_floor_ms": ms["answered"] - ms["floor"],
        "skip_modules": skip_modules,
        "skip_importtime_ms": dict(skip_top),
        "answer_modules": answer_modules,
        "answer_importtime_ms": dict(answer_top),
    }
    table = [
        f"medians of {runs} runs, paired",
        "",
        "| run | median | floor | floor's median | over the floor | target |",
        "|---|---|---|---|---|---|",
        f"| a skipped event (no phrase) | {ms['skipped']:.0f} ms | `python -c pass` | {ms['bare']:.0f} ms | "
        f"{figures['skip_over_bare_ms']:.0f} ms | ≤ 60 ms |",
        f"| `/rebyte` on an issue, to the answer comment | {ms['answered']:.0f} ms | `{IMPORT_FLOOR}` | "
        f"{ms['floor']:.0f} ms | {figures['answer_over_floor_ms']:.0f} ms | ≤ 150 ms |",
        "",
        f"CPU (user + system), medians of the same runs: a skipped event {cpu_ms['skipped']:.0f} ms, "
        f"`python -c pass` {cpu_ms['bare']:.0f} ms, {figures['skip_cpu_over_bare_ms']:.0f} ms over "
        "(less swayed than wall time by a machine that is busy with other work)",
        "",
        f"`python -X importtime`, top cumulative: a skipped event ({skip_modules} modules) | "
        f"`/rebyte` ({answer_modules} modules)",
        "",
        *(
            f"    {a[1]:7.1f} ms  {a[0]:<34} {b[1]:7.1f} ms  {b[0]}"
            for a, b in zip(skip_top + [("", 0.0)] * 8, answer_top, strict=False)
        ),
    ]
    return figures, table
