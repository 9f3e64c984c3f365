"""The release: the step that points action.yml at the prebuilt image, the package it publishes,
and the workflows that do both.

The rewriting step runs here as release.yml runs it: as a subprocess on an action.yml (a copy
of the real one), with the image reference the workflow has just pushed; its many refusals
call the same script's main() in this process. publish_action.sh moves tags on a bare
repository standing in for GitHub.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rebyte_action import __version__

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / ".github" / "release" / "pin_image.py"
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
IMAGE = "ghcr.io/rebyte-ai/rebyte-action:v1.2.3"


def pin(action_yml: Path, image: str) -> subprocess.CompletedProcess[str]:
    """The script as the release workflow runs it: a process of its own."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(action_yml), image],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _script_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pin_image", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PIN_IMAGE = _script_module()


def pin_here(action_yml: Path, image: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The same script's main() in this process (many cases, no interpreter start each): exit code, stderr."""
    code = PIN_IMAGE.main([str(action_yml), image])
    assert isinstance(code, int)
    return code, capsys.readouterr().err


@pytest.fixture
def action_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "action.yml"
    shutil.copyfile(ROOT / "action.yml", copy)
    return copy


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


# --- the rewriting step on the real action.yml ---------------------------------------------


def test_the_release_step_points_the_real_action_yml_at_the_image_and_changes_nothing_else(
    action_copy: Path,
) -> None:
    before_text = action_copy.read_bytes()
    before = _load(action_copy)
    assert before["runs"] == {"using": "docker", "image": "Dockerfile"}

    result = pin(action_copy, IMAGE)

    assert result.returncode == 0, result.stderr
    assert f"docker://{IMAGE}" in result.stdout
    after = _load(action_copy)
    assert after["runs"] == {"using": "docker", "image": f"docker://{IMAGE}"}
    # Only runs.image changed, as data ...
    after["runs"]["image"] = "Dockerfile"
    assert after == before
    # ... and as bytes: one line, the rest of the file (comments, quoting) as it was.
    old_lines = before_text.splitlines(keepends=True)
    new_lines = action_copy.read_bytes().splitlines(keepends=True)
    assert len(old_lines) == len(new_lines)
    changed = [(o, n) for o, n in zip(old_lines, new_lines, strict=True) if o != n]
    assert changed == [(b"  image: Dockerfile\n", f"  image: docker://{IMAGE}\n".encode())]


def test_the_rewritten_action_yml_passes_the_github_actions_schema(action_copy: Path) -> None:
    assert pin(action_copy, IMAGE).returncode == 0
    check = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(action_copy)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_reference_given_with_docker_scheme_is_written_once(action_copy: Path) -> None:
    assert pin(action_copy, f"docker://{IMAGE}").returncode == 0
    assert _load(action_copy)["runs"]["image"] == f"docker://{IMAGE}"


def test_pinning_twice_is_refused_and_leaves_the_pinned_file_alone(action_copy: Path) -> None:
    assert pin(action_copy, IMAGE).returncode == 0
    pinned = action_copy.read_bytes()
    again = pin(action_copy, "ghcr.io/rebyte-ai/rebyte-action:v1.2.4")
    assert again.returncode == 1
    assert "not `runs.image: Dockerfile`" in again.stderr
    assert action_copy.read_bytes() == pinned


# --- bad inputs: refused with a reason, the file untouched -----------------------------------


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("ghcr.io/rebyte-ai/rebyte-action:v1.2", "vMAJOR.MINOR.PATCH"),
        ("ghcr.io/rebyte-ai/rebyte-action:1.2.3", "vMAJOR.MINOR.PATCH"),
        ("ghcr.io/rebyte-ai/rebyte-action:v1.2.3-rc.1", "vMAJOR.MINOR.PATCH"),
        ("ghcr.io/rebyte-ai/rebyte-action:v01.2.3", "vMAJOR.MINOR.PATCH"),
        ("ghcr.io/rebyte-ai/rebyte-action:latest", "vMAJOR.MINOR.PATCH"),
        ("ghcr.io/rebyte-ai/rebyte-action", "REGISTRY/NAME:vMAJOR.MINOR.PATCH"),
        ("ghcr.io/Rebyte-AI/rebyte-action:v1.2.3", "upper-case"),
        ("rebyte-action:v1.2.3", "REGISTRY/NAME:vMAJOR.MINOR.PATCH"),
        ("ghcr.io/rebyte-ai/rebyte-action@sha256:" + "0" * 64, "pinned by digest"),
        ("ghcr.io/rebyte-ai/rebyte-action:v1.2.3 extra", "vMAJOR.MINOR.PATCH"),
        ("", "REGISTRY/NAME:vMAJOR.MINOR.PATCH"),
    ],
)
def test_a_bad_image_reference_is_refused(
    action_copy: Path, image: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = action_copy.read_bytes()
    code, stderr = pin_here(action_copy, image, capsys)
    assert code == 1
    assert "refused" in stderr and reason in stderr
    assert action_copy.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: x\nruns:\n  using: docker\n  image: docker://ghcr.io/o/x:v1.0.0\n", "already pinned"),
        ("name: x\nruns:\n  using: docker\n  image: build/Dockerfile\n", "not `runs.image: Dockerfile`"),
        ("name: x\nruns:\n  using: composite\n  steps: []\n", "not a Docker action"),
        ("name: x\ndescription: no runs at all\n", "no `runs:` mapping"),
        ("name: x\nruns: {using: docker, image: Dockerfile}\n", "flow style"),
        # PyYAML takes the last of two equal keys; the script will not guess which line to edit.
        ("name: x\nruns:\n  using: docker\n  image: Dockerfile\n  image: Dockerfile\n", "no single"),
        ("name: [x\n", "not valid YAML"),
        ("- just\n- a list\n", "not a YAML mapping"),
    ],
)
def test_an_action_yml_without_a_plain_runs_image_dockerfile_is_refused(
    tmp_path: Path, text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "action.yml"
    path.write_text(text)
    code, stderr = pin_here(path, IMAGE, capsys)
    assert code == 1
    assert reason in stderr
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["action.yml"]  # no temporary file left


def test_a_missing_action_yml_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stderr = pin_here(tmp_path / "action.yml", IMAGE, capsys)
    assert code == 1
    assert "cannot read" in stderr


def test_comments_quoting_and_line_endings_around_the_image_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "# header comment\r\n"
        "name: 'x'   # quoted name\r\n"
        "runs:   # the container\r\n"
        "    # a comment inside runs\r\n"
        '    using: "docker"\r\n'
        "    image: 'Dockerfile'   # built on every job until a release pins it\r\n"
        "    args: ['image: Dockerfile']\r\n"
        "outputs: {}\r\n"
    )
    path = tmp_path / "action.yml"
    path.write_bytes(text.encode())
    assert pin_here(path, IMAGE, capsys)[0] == 0
    assert (
        path.read_bytes()
        == text.replace("    image: 'Dockerfile'   #", f"    image: 'docker://{IMAGE}'   #").encode()
    )


def test_an_image_key_nested_deeper_in_runs_is_not_taken_for_runs_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "runs:\n  using: docker\n  env:\n    image: Dockerfile\n  image: Dockerfile\n"
    path = tmp_path / "action.yml"
    path.write_text(text)
    assert pin_here(path, IMAGE, capsys)[0] == 0
    assert yaml.safe_load(path.read_text())["runs"] == {
        "using": "docker",
        "env": {"image": "Dockerfile"},
        "image": f"docker://{IMAGE}",
    }


# --- the package the release publishes -------------------------------------------------------


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built as the release builds them but offline (no isolation)."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--sdist",
            "--wheel",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_twine_check_strict_passes_on_the_sdist_and_the_wheel(dists: dict[str, Path]) -> None:
    check = subprocess.run(
        [str(BIN / "twine"), "check", "--strict", str(dists["sdist"]), str(dists["wheel"])],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("PASSED") == 2


def test_the_wheel_holds_the_package_and_the_rebyte_command_and_no_tests(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"rebyte_action-{__version__}.dist-info"
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "rebyte_action/__init__.py" in names
    assert "rebyte_action/cli.py" in names
    assert "rebyte_action/rebyte/client.py" in names
    assert re.search(r"^\[console_scripts\]\s*\nrebyte = rebyte_action\.cli:main$", entry_points, re.M)
    assert metadata["Name"] == "rebyte-action"
    assert metadata["Version"] == __version__
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n or "conftest" in n]
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n]


def test_the_sdist_and_wheel_carry_the_version_of_the_package(dists: dict[str, Path]) -> None:
    assert dists["wheel"].name == f"rebyte_action-{__version__}-py3-none-any.whl"
    assert dists["sdist"].name == f"rebyte_action-{__version__}.tar.gz"
    with tarfile.open(dists["sdist"]) as sdist:
        member = sdist.extractfile(f"rebyte_action-{__version__}/PKG-INFO")
        assert member is not None
        metadata = Parser().parsestr(member.read().decode())
        names = sdist.getnames()
    assert metadata["Version"] == __version__
    assert f"rebyte_action-{__version__}/src/rebyte_action/__init__.py" in names
    assert not [n for n in names if "/.venv" in n or "__pycache__" in n]


# --- the workflows ---------------------------------------------------------------------------

PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _workflow(name: str) -> tuple[str, dict[str, Any]]:
    text = (WORKFLOWS / name).read_text()
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return text, loaded


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version_in_a_comment(name: str) -> None:
    text, _ = _workflow(name)
    uses = [line.split("uses:", 1)[1].strip() for line in text.splitlines() if "uses:" in line]
    assert uses
    assert [u for u in uses if not PINNED_USES.match(u)] == []
    # One version of each action throughout.
    by_action: dict[str, set[str]] = {}
    for u in uses:
        action, _, ref = u.partition("@")
        by_action.setdefault(action, set()).add(ref)
    assert {a: r for a, r in by_action.items() if len(r) > 1} == {}


@pytest.mark.parametrize("name", ["ci.yml", "release.yml"])
def test_every_checkout_drops_its_credentials(name: str) -> None:
    _, workflow = _workflow(name)
    checkouts = [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("actions/checkout@")
    ]
    assert checkouts
    assert all(step.get("with", {}).get("persist-credentials") is False for step in checkouts)


def test_ci_reads_only_and_runs_the_ci_script_on_each_supported_python() -> None:
    _, ci = _workflow("ci.yml")
    assert ci["permissions"] == {"contents": "read"}
    (job,) = ci["jobs"].values()
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run"]


def test_release_runs_on_version_tags_with_least_privilege_per_job() -> None:
    text, release = _workflow("release.yml")
    # PyYAML reads the `on:` key as the boolean True.
    assert release[True] == {"push": {"tags": ["v*.*.*"]}}
    assert release["permissions"] == {}
    jobs = release["jobs"]
    granted = {name: job.get("permissions") for name, job in jobs.items()}
    assert granted == {
        "build": {"contents": "read"},
        "image": {"contents": "read", "packages": "write", "id-token": "write", "attestations": "write"},
        "action": {"contents": "write"},
        "pypi": {"id-token": "write"},
    }
    assert jobs["pypi"]["environment"] == "pypi"
    assert str(SCRIPT.relative_to(ROOT)) in text
    steps = [s.get("uses", "").partition("@")[0] for s in jobs["image"]["steps"]]
    for action in (
        "docker/setup-qemu-action",
        "docker/setup-buildx-action",
        "docker/login-action",
        "docker/metadata-action",
        "docker/build-push-action",
        "actions/attest-build-provenance",
    ):
        assert action in steps
    build = next(
        s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action@")
    )
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    attest = next(s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("actions/attest-"))
    assert attest["with"]["push-to-registry"] is True


# --- publishing the action: the release tag and vMAJOR on a release commit -------------------

PUBLISH = ROOT / ".github" / "release" / "publish_action.sh"
REGISTRY_IMAGE = "ghcr.io/rebyte-ai/rebyte-action"
GIT = shutil.which("git") or "git"
BASH = shutil.which("bash") or "bash"


def _git_env(tmp_path: Path) -> dict[str, str]:
    """git with no user or system configuration, as on a fresh runner."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }


class Repo:
    """A bare `origin`, a maintainer's clone that tags releases, and runner checkouts."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.env = _git_env(tmp_path)
        self.origin = tmp_path / "origin.git"
        self.dev = tmp_path / "dev"
        self.git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin))
        self.git(tmp_path, "clone", "--quiet", str(self.origin), str(self.dev))
        shutil.copyfile(ROOT / "action.yml", self.dev / "action.yml")
        (self.dev / "README.md").write_text("rebyte-action\n")
        self.commit("first")

    def git(self, cwd: Path, *args: str) -> str:
        result = subprocess.run(
            [GIT, "-c", "user.name=Maintainer", "-c", "user.email=m@example.invalid", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert result.returncode == 0, f"git {args}: {result.stderr}"
        return result.stdout.strip()

    def commit(self, message: str, branch: str = "main") -> str:
        (self.dev / "CHANGES").write_text(message)
        self.git(self.dev, "add", "-A")
        self.git(self.dev, "commit", "--quiet", "-m", message)
        self.git(self.dev, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return self.git(self.dev, "rev-parse", "HEAD")

    def tag(self, tag: str, commit: str, annotated: bool = True) -> None:
        self.git(self.dev, "tag", *(["-a", "-m", f"release {tag}"] if annotated else []), tag, commit)
        self.git(self.dev, "push", "--quiet", "origin", f"refs/tags/{tag}")

    def named(self, ref: str) -> str:
        """The commit `ref` names on origin."""
        return self.git(self.origin, "rev-parse", f"{ref}^{{commit}}")

    def publish(self, tag: str, commit: str, **env: str) -> subprocess.CompletedProcess[str]:
        """publish_action.sh as the release job runs it: in a fresh checkout of the tagged commit."""
        runner = self.tmp / f"runner-{tag}-{len(list(self.tmp.glob('runner-*')))}"
        self.git(self.tmp, "clone", "--quiet", str(self.origin), str(runner))
        self.git(runner, "checkout", "--quiet", "--detach", commit)
        return subprocess.run(
            [BASH, str(PUBLISH), tag, REGISTRY_IMAGE],
            cwd=runner,
            env={**self.env, "PYTHON": sys.executable, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_a_release_moves_its_tag_and_the_major_tag_to_a_release_commit_that_runs_the_image(
    repo: Repo,
) -> None:
    source = repo.commit("1.2.3")
    repo.tag("v1.2.3", source)

    token = "ghs_" + "s3cr3t" * 6
    result = repo.publish("v1.2.3", source, GH_TOKEN=token)

    assert result.returncode == 0, result.stderr
    assert token not in result.stdout + result.stderr
    release = repo.named("v1.2.3")
    assert release != source
    assert repo.named("v1") == release
    assert repo.git(repo.origin, "rev-parse", f"{release}^") == source
    # The release commit changes action.yml and nothing else; main still builds the Dockerfile.
    assert repo.git(repo.origin, "diff", "--name-only", source, release) == "action.yml"
    released = yaml.safe_load(repo.git(repo.origin, "show", f"{release}:action.yml"))
    assert released["runs"] == {"using": "docker", "image": f"docker://{REGISTRY_IMAGE}:v1.2.3"}
    assert "image: Dockerfile" in repo.git(repo.origin, "show", "main:action.yml")
    assert repo.named("main") == source


def test_a_re_run_leaves_the_release_tag_where_the_first_run_put_it(repo: Repo) -> None:
    source = repo.commit("1.2.3")
    repo.tag("v1.2.3", source)
    assert repo.publish("v1.2.3", source).returncode == 0
    release = repo.named("v1.2.3")
    tag_object = repo.git(repo.origin, "rev-parse", "refs/tags/v1.2.3")

    again = repo.publish("v1.2.3", source)

    assert again.returncode == 0, again.stderr
    assert "left as it is" in again.stdout
    assert repo.git(repo.origin, "rev-parse", "refs/tags/v1.2.3") == tag_object
    assert repo.named("v1") == release


def test_a_lightweight_release_tag_is_published_too(repo: Repo) -> None:
    source = repo.commit("2.0.0")
    repo.tag("v2.0.0", source, annotated=False)
    assert repo.publish("v2.0.0", source).returncode == 0
    assert repo.git(repo.origin, "rev-parse", f"{repo.named('v2.0.0')}^") == source
    assert repo.named("v2") == repo.named("v2.0.0")


def test_the_major_tag_follows_the_highest_release_of_its_line_only(repo: Repo) -> None:
    first = repo.commit("1.2.3")
    repo.tag("v1.2.3", first)
    assert repo.publish("v1.2.3", first).returncode == 0
    v123 = repo.named("v1.2.3")
    second = repo.commit("1.3.0")
    repo.tag("v1.3.0", second)
    assert repo.publish("v1.3.0", second).returncode == 0
    v130 = repo.named("v1.3.0")
    assert repo.named("v1") == v130
    assert repo.named("v1.2.3") == v123  # a release tag never moves again

    # A late fix on the 1.2 line is released, but v1 stays on 1.3.0.
    repo.git(repo.dev, "checkout", "--quiet", "--detach", first)
    fix = repo.commit("1.2.4", branch="release-1.2")
    repo.tag("v1.2.4", fix)
    late = repo.publish("v1.2.4", fix)
    assert late.returncode == 0, late.stderr
    assert "v1.3.0 is higher" in late.stdout
    assert repo.named("v1") == v130
    assert repo.git(repo.origin, "rev-parse", f"{repo.named('v1.2.4')}^") == fix


@pytest.mark.parametrize(
    ("tagged", "reason"),
    [("parent", "neither"), ("child", "does not run")],
)
def test_a_tag_that_names_some_other_commit_is_refused_and_nothing_moves(
    repo: Repo, tagged: str, reason: str
) -> None:
    parent = repo.named("main")
    source = repo.commit("1.2.3")
    child = repo.commit("a later commit that is no release commit")
    other = {"parent": parent, "child": child}[tagged]
    repo.tag("v1.2.3", other)

    result = repo.publish("v1.2.3", source)

    assert result.returncode == 1
    assert reason in result.stderr
    assert repo.named("v1.2.3") == other
    refs = [line.split()[1] for line in repo.git(repo.origin, "show-ref").splitlines()]
    assert "refs/tags/v1" not in refs and "refs/tags/v1.2.3" in refs


@pytest.mark.parametrize("tag", ["v1.2", "1.2.3", "v1.2.3-rc.1", "v1.02.3"])
def test_publishing_a_tag_that_is_not_a_version_is_refused(repo: Repo, tag: str) -> None:
    source = repo.named("main")
    repo.tag(tag, source)
    result = repo.publish(tag, source)
    assert result.returncode == 1
    assert "is not vMAJOR.MINOR.PATCH" in result.stderr
    assert repo.named(tag) == source
