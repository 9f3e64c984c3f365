"""The action's image in the Docker engine tests/container/run.sh started.

Its wheels are fetched on the host for the base image's Python and served on loopback for
the build, so no wheel lands in a layer; the image is run as GitHub's runner runs a
container action: ``docker run --rm --network host --workdir /github/workspace``, the
event in ``/github/workflow``, the runner's files in ``/github/file_commands``, the
workspace and home mounted, ``GITHUB_*`` variables and one hyphenated ``INPUT_*``
variable per input of action.yml (its defaults, then the step's ``with:``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub
from rebyte_action.workflow import read_outputs

from ..action_harness import GITHUB_TOKEN, REBYTE_KEY, REPO, ActionResult

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("REBYTE_CONTAINER_CACHE", "/var/cache/rebyte-action-test"))
BASE_IMAGE = os.environ.get("REBYTE_BASE_IMAGE", "")
IMAGE = "rebyte-action:test"
# A fixed port: the build argument that names it is part of the layer cache's key.
WHEEL_PORT = 38117
ENTRYPOINT = ["/opt/venv/bin/python", "-m", "rebyte_action"]


def docker(*args: str, timeout: float = 600, stdin: str | None = None) -> str:
    """Run the docker CLI against the test's engine; its stdout, or an error with its output."""
    done = subprocess.run(  # the docker CLI on PATH, as the runner runs it
        ["docker", *args],  # noqa: S607
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"docker {args[0]} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


# -- wheels for the base image's Python, served on loopback --------------------------------


def _target(base: str) -> tuple[str, str, str]:
    """The base image's Python version, machine and glibc version: what its wheels must fit."""
    probe = "import platform as p, sys; print('%d.%d' % sys.version_info[:2], p.machine(), p.libc_ver()[1])"
    version, machine, glibc = docker("run", "--rm", "--network", "none", base, "python3", "-c", probe).split()
    return version, machine, glibc


def _platforms(machine: str, glibc: str) -> list[str]:
    major, minor = (int(part) for part in glibc.split(".")[:2])
    assert major == 2, glibc
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 16, -1)] + [f"manylinux2014_{machine}"]
    if machine in ("x86_64", "i686"):
        tags += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    return tags


def wheels(base: str) -> Path:
    """requirements.txt and the build backend as wheels for the base, fetched once per machine."""
    version, machine, glibc = _target(base)
    requirements = (ROOT / "requirements.txt").read_text()
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    key = hashlib.sha256(json.dumps([requirements, backend, version, machine, glibc]).encode()).hexdigest()
    folder = CACHE / "wheels" / key[:16]
    if (folder / ".complete").exists():
        return folder
    partial_folder = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial_folder, ignore_errors=True)
    fetch = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(partial_folder)]
    fetch += ["--only-binary=:all:", "--implementation", "cp", "--python-version", version]
    for platform_tag in _platforms(machine, glibc):
        fetch += ["--platform", platform_tag]
    subprocess.run([*fetch, "-r", str(ROOT / "requirements.txt")], check=True)
    subprocess.run([*fetch, *backend], check=True)
    (partial_folder / ".complete").touch()
    shutil.rmtree(folder, ignore_errors=True)
    partial_folder.rename(folder)
    return folder


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The folder over HTTP on loopback (a directory listing pip reads as --find-links)."""
    handler = partial(_Quiet, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", WHEEL_PORT), handler)
    except OSError:  # taken: any port works, only the layer cache misses
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def build(base: str, *, tag: str = IMAGE, no_cache: bool = False) -> float:
    """Build the image from the checkout on the base, its wheels handed in; the seconds it took."""
    with serve(wheels(base)) as url:
        started = time.monotonic()
        docker(
            "build", "--network", "host", "--tag", tag, *(["--no-cache"] if no_cache else []),
            "--build-arg", f"BASE_IMAGE={base}",
            "--build-arg", "PIP_NO_INDEX=1",
            "--build-arg", f"PIP_FIND_LINKS={url}",
            str(ROOT),
        )  # fmt: skip
        return time.monotonic() - started


def without_stdlib_bytecode(base: str) -> str:
    """The base with its standard library's bytecode removed, as python:3.12-slim ships."""
    tag = f"{base}-no-stdlib-bytecode"
    recipe = f"FROM {base}\nRUN find /usr/lib/python3* -name __pycache__ -prune -exec rm -rf {{}} +\n"
    docker("build", "--tag", tag, "-", stdin=recipe)
    return tag


def image_size(tag: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag))


# -- the image run as the runner runs a container action ------------------------------------


def action_defaults() -> dict[str, str]:
    """INPUT_* as the runner sets them from action.yml's defaults (hyphens kept, upper case)."""
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    return {f"INPUT_{name.upper()}": spec["default"] for name, spec in inputs.items() if "default" in spec}


@dataclass
class Job:
    """What the runs of one job share: the workspace (a checkout) and home, and how many ran."""

    workspace: Path
    home: Path
    runs: int = 0


@dataclass
class Started:
    """A container started in the background: its name, the docker run process, its files."""

    name: str
    process: subprocess.Popen[str]
    output: Path
    summary: Path


class ContainerAction:
    """The image wired to an emulator and a fake GitHub on host loopback, like tests' Action."""

    def __init__(self, image: str, emulator: Emulator, github: FakeGitHub, job: Job, temp: Path):
        self.image, self.emulator, self.github, self.job = image, emulator, github, job
        self.workflow = temp / "_github_workflow"
        self.file_commands = temp / "_runner_file_commands"
        self.workflow.mkdir(exist_ok=True)
        self.file_commands.mkdir(exist_ok=True)

    def environment(
        self, event_name: str, inputs: dict[str, str], raw_env: dict[str, str] | None
    ) -> tuple[dict[str, str], Path, Path]:
        step = uuid.uuid4()
        output = self.file_commands / f"set_output_{step}"
        summary = self.file_commands / f"step_summary_{step}"
        for path in (output, summary):
            path.write_text("")
        env = {
            "HOME": "/github/home",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_REPOSITORY_OWNER": REPO.split("/")[0],
            "GITHUB_API_URL": self.github.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SHA": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            "GITHUB_REF": "refs/heads/master",
            "GITHUB_REF_NAME": "master",
            "GITHUB_ACTOR": "Codertocat",
            "GITHUB_WORKFLOW": "Rebyte",
            "GITHUB_JOB": "rebyte",
            "GITHUB_ACTION": "rebyte",
            "GITHUB_OUTPUT": f"/github/file_commands/{output.name}",
            "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary.name}",
            "RUNNER_OS": "Linux",
            **action_defaults(),
            "INPUT_REBYTE-API-KEY": REBYTE_KEY,
            "INPUT_GITHUB-TOKEN": GITHUB_TOKEN,
            "INPUT_REBYTE-BASE-URL": self.emulator.url,
        }
        for name, value in inputs.items():
            env[f"INPUT_{name.upper().replace('_', '-')}"] = value
        env.update(raw_env or {})
        assert not [name for name, value in env.items() if "${{" in value], "an expression left unevaluated"
        return env, output, summary

    def command(self, name: str, env: dict[str, str], *, keep: bool = False) -> list[str]:
        """The runner's docker run: variables passed by name only, so no value is on a command line."""
        command = ["docker", "run", "--name", name, *([] if keep else ["--rm"])]
        command += ["--network", "host", "--workdir", "/github/workspace"]
        for variable in env:
            command += ["-e", variable]
        for host, inside in (
            (self.job.home, "/github/home"),
            (self.workflow, "/github/workflow"),
            (self.file_commands, "/github/file_commands"),
            (self.job.workspace, "/github/workspace"),
        ):
            command += ["-v", f"{host}:{inside}"]
        return [*command, self.image]

    def start(
        self,
        event_name: str,
        event: dict[str, Any],
        *,
        raw_env: dict[str, str] | None = None,
        keep: bool = False,
        **inputs: str,
    ) -> Started:
        """Start the container in the background; ``keep``: without --rm, to look at it afterwards."""
        (self.workflow / "event.json").write_text(json.dumps(event))
        env, output, summary = self.environment(event_name, inputs, raw_env)
        name = f"rebyte-action-test-{uuid.uuid4().hex[:12]}"
        self.job.runs += 1
        process = subprocess.Popen(
            self.command(name, env, keep=keep),
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return Started(name, process, output, summary)

    def result(self, started: Started, log: str) -> ActionResult:
        return ActionResult(
            returncode=started.process.returncode,
            stdout=log,
            stderr="",
            outputs=read_outputs(started.output.read_text()),
            summary=started.summary.read_text(),
        )

    def run(
        self, event_name: str, event: dict[str, Any], *, raw_env: dict[str, str] | None = None, **inputs: str
    ) -> ActionResult:
        started = self.start(event_name, event, raw_env=raw_env, **inputs)
        log, _ = started.process.communicate(timeout=120)
        return self.result(started, log)
