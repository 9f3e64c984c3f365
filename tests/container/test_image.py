"""The action's real image in a real Docker engine, run as GitHub's runner runs it.

Run by ``make container-test`` (tests/container/run.sh starts the engine and makes the base
image); ``make test`` does not collect this folder. The tests run in file order: the last one
checks what all the runs before it left in the mounted workspace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub

from ..action_harness import comment_event
from ..test_action import (
    LIST_COMMENTS_1,
    PERMISSION,
    POST_COMMENT_1,
    REACT_ON_COMMENT,
    assert_no_secrets,
    only_task,
)
from ..test_track import FAST
from .image import (
    BASE_IMAGE,
    ENTRYPOINT,
    IMAGE,
    ContainerAction,
    Job,
    build,
    docker,
    image_size,
    without_stdlib_bytecode,
)

pytestmark = pytest.mark.skipif(not BASE_IMAGE, reason="run by make container-test, which starts the engine")

CHECKOUT = {"README.md": "# Hello-World\n", "src/app.py": "print('hello')\n"}


@pytest.fixture(scope="session")
def image() -> str:
    seconds = build(BASE_IMAGE)
    print(f"built {IMAGE} on {BASE_IMAGE} in {seconds:.1f} s")
    return IMAGE


@pytest.fixture(scope="session")
def image_without_stdlib_bytecode() -> str:
    """The image on a base without the standard library's bytecode, as python:3.12-slim ships."""
    tag = f"{IMAGE}-no-stdlib-bytecode"
    build(without_stdlib_bytecode(BASE_IMAGE), tag=tag)
    return tag


@pytest.fixture(scope="session")
def job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    """The job's workspace (a checkout) and home, shared by every run, as in one job."""
    workspace = tmp_path_factory.mktemp("workspace")
    for name, text in CHECKOUT.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    return Job(workspace, tmp_path_factory.mktemp("github_home"))


@pytest.fixture
def container(
    image: str, emulator: Emulator, github: FakeGitHub, job: Job, tmp_path: Path
) -> ContainerAction:
    return ContainerAction(image, emulator, github, job, tmp_path)


def _in_image(image: str, script: str) -> dict:
    return json.loads(
        docker("run", "--rm", "--network", "none", "--entrypoint", ENTRYPOINT[0], image, "-c", script)
    )


INSPECT = """
import importlib.util, json, os, shutil, sys
import runpy, rebyte_action.run
found = {"pip": importlib.util.find_spec("pip") is not None, "gcc": shutil.which("gcc") or shutil.which("cc"),
         "build": os.path.exists("/tmp/build"), "pip_cache": os.path.exists("/root/.cache/pip"),
         "missing": [], "checked": [], "modules": 0}
for module in list(sys.modules.values()):
    source = getattr(module, "__file__", None) or ""
    if not source.endswith(".py"):
        continue
    found["modules"] += 1
    cached = importlib.util.cache_from_source(source)
    if not os.path.exists(cached):
        found["missing"].append(source)
    elif source.startswith("/opt/venv/"):
        with open(cached, "rb") as pyc:
            if int.from_bytes(pyc.read(8)[4:], "little") != 1:  # 1: hash-based, never checked
                found["checked"].append(source)
print(json.dumps(found))
"""


def test_the_image_is_the_venv_compiled_and_nothing_else(image: str) -> None:
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    assert config["Entrypoint"] == ENTRYPOINT
    assert (config["WorkingDir"], config["User"]) == ("", "")  # GitHub sets both
    assert not [v for v in config["Env"] if v.startswith("PIP_")], config["Env"]
    assert "PYTHONDONTWRITEBYTECODE=1" in config["Env"]
    found = _in_image(image, INSPECT)
    assert found["modules"] > 300
    assert found["missing"] == [], "modules the action imports without bytecode"
    assert found["checked"] == [], "bytecode that is checked against its source"
    assert not (found["pip"] or found["gcc"] or found["build"] or found["pip_cache"]), found


def test_the_image_adds_at_most_40_mb_to_its_base(image: str) -> None:
    added = image_size(image) - image_size(BASE_IMAGE)
    assert 0 < added <= 40_000_000, f"{added / 1e6:.1f} MB"


@pytest.mark.parametrize("built", ["image", "image_without_stdlib_bytecode"])
def test_a_run_allowed_to_write_bytecode_finds_it_all_compiled_and_changes_nothing(
    request: pytest.FixtureRequest, container: ContainerAction, built: str
) -> None:
    """The longest path (a comment, followed to its end with a check run) compiles nothing at start,
    also on a base whose standard library has no bytecode."""
    container.image = request.getfixturevalue(built)
    allowed = {**FAST, "PYTHONDONTWRITEBYTECODE": ""}  # empty: Python may write bytecode
    started = container.start(
        "issue_comment",
        comment_event("/rebyte fix"),
        wait="true",
        check_run="true",
        raw_env=allowed,
        keep=True,
    )
    try:
        log, _ = started.process.communicate(timeout=120)
        assert started.process.returncode == 0, log
        changed = docker("diff", started.name).splitlines()
    finally:
        docker("rm", "--force", started.name)
    assert [line for line in changed if not line.split()[-1].startswith("/github")] == []


def test_a_rebyte_comment_starts_one_task_and_answers_with_the_live_url(
    container: ContainerAction, emulator: Emulator, github: FakeGitHub
) -> None:
    result = container.run("issue_comment", comment_event("Thanks!\n/rebyte --executor claude fix the typo"))
    assert result.returncode == 0, result.log
    # The config-file input is unset, as action.yml's default: the file is read (a 404 here) first.
    config_read = "GET /repos/Codertocat/Hello-World/contents/.github/rebyte.yml"
    assert github.calls()[:5] == [config_read, PERMISSION, REACT_ON_COMMENT, LIST_COMMENTS_1, POST_COMMENT_1]
    task = only_task(emulator)
    assert (task.github_url, task.branch_name, task.executor) == (
        "Codertocat/Hello-World",
        "master",
        "claude",
    )
    url = f"https://app.rebyte.ai/run/{task.id}"
    (answer,) = github.comments(1)
    assert f"[watch it live]({url})" in answer["body"]
    assert result.outputs == {
        "task-id": task.id,
        "task-url": url,
        "workspace-id": task.workspace_id,
        "status": "running",
        "comment-id": str(answer["id"]),
        "skipped": "",
    }
    assert url in result.summary
    assert_no_secrets(result, github)


def test_an_edited_comment_is_skipped_without_a_single_request(
    container: ContainerAction, emulator: Emulator, github: FakeGitHub
) -> None:
    result = container.run("issue_comment", comment_event("/rebyte fix it", action="edited"))
    assert result.returncode == 0, result.log
    assert "edited" in result.outputs["skipped"]
    assert result.outputs["task-id"] == ""
    assert "edited" in result.summary
    assert github.requests() == []
    assert emulator.requests() == []


def test_docker_stop_cancels_a_waiting_run_which_closes_its_check_run_and_says_so(
    container: ContainerAction, emulator: Emulator, github: FakeGitHub
) -> None:
    started = container.start(
        "issue_comment",
        comment_event("/rebyte wait [emulate:hang]"),
        wait="true",
        check_run="true",
        raw_env=FAST,
    )
    assert started.process.stdout is not None
    log = []
    for line in started.process.stdout:
        log.append(line)
        if line.startswith("Following task"):
            break
    else:
        pytest.fail("the action never followed its task:\n" + "".join(log))
    docker("stop", "--time", "20", started.name)  # SIGTERM to PID 1, SIGKILL after 20 s
    log.append(started.process.stdout.read())
    assert started.process.wait(timeout=30) == 1, "".join(log)  # not 137: the action stopped on SIGTERM
    result = container.result(started, "".join(log))
    assert "The workflow run was cancelled" in result.log
    (run,) = github.check_runs()
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    (answer,) = github.comments(1)
    assert "the workflow run was cancelled, so it is no longer followed here" in answer["body"]
    assert only_task(emulator).id == result.outputs["task-id"]  # the task goes on
    assert_no_secrets(result, github)


def test_after_all_runs_the_workspace_and_home_hold_nothing_the_action_wrote(job: Job) -> None:
    assert job.runs >= 3, "runs after the tests above"
    workspace, home = job.workspace, job.home
    files = sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*") if p.is_file())
    assert files == sorted(CHECKOUT)
    assert [p.read_text() for p in sorted(workspace.rglob("*")) if p.is_file()] == [
        CHECKOUT[name] for name in sorted(CHECKOUT)
    ]
    assert list(home.iterdir()) == []
