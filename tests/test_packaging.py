"""action.yml, the Dockerfile and the pinned requirements agree with the code."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from rebyte_action.report import Marker
from rebyte_action.session import Outcome
from rebyte_action.settings import Settings

ROOT = Path(__file__).parent.parent


def _action() -> dict[str, Any]:
    """action.yml as GitHub's runner reads it: a YAML mapping (a parse error fails here)."""
    loaded = yaml.safe_load((ROOT / "action.yml").read_text())
    assert isinstance(loaded, dict), "action.yml is not a YAML mapping"
    return loaded


def _section(name: str) -> list[str]:
    """The names declared under one top-level mapping of action.yml (inputs, outputs)."""
    section = _action().get(name)
    assert isinstance(section, dict), f"action.yml has no {name}: mapping"
    return list(section)


def test_every_input_in_action_yml_is_read_by_the_settings_and_back() -> None:
    read = {
        choice.removeprefix("INPUT_").lower()
        for field in Settings.model_fields.values()
        for choice in getattr(field.validation_alias, "choices", [field.validation_alias])
        if isinstance(choice, str)
        and choice.startswith("INPUT_")
        and "_" not in choice.removeprefix("INPUT_")
    }
    assert set(_section("inputs")) == read


def test_every_output_in_action_yml_is_written_and_back() -> None:
    # A fan-out (a group) writes every output; a single task leaves task-ids and task-urls out.
    outcome = Outcome()
    outcome.group = Marker("group")
    assert set(_section("outputs")) == set(outcome.outputs())


def test_the_action_runs_the_dockerfile_whose_entry_point_is_the_package() -> None:
    assert _action()["runs"] == {"using": "docker", "image": "Dockerfile"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/opt/venv/bin/python", "-m", "rebyte_action"]' in dockerfile
    assert "-r requirements.txt" in dockerfile


def test_the_image_pins_exactly_the_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=!~ \[]", dep)[0].lower() for dep in project["dependencies"]}
    assert wanted == {"pygithub", "httpx", "pydantic-settings", "markdown-it-py"}
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    assert wanted | {"mdurl"} <= set(pins)  # mdurl: markdown-it-py's one dependency
    test_only = {"pytest", "ruff", "mypy", "pytest-xdist", "pytest-timeout"}
    assert not test_only & set(pins), "test tools must stay out of the action's image"


def test_every_input_and_output_has_a_string_description_and_inputs_string_defaults() -> None:
    action = _action()
    for kind in ("inputs", "outputs"):
        for name, spec in action[kind].items():
            assert isinstance(spec.get("description"), str) and spec["description"], f"{kind}.{name}"
    for name, spec in action["inputs"].items():
        if "default" in spec:
            # GitHub passes every input as a string; a YAML bool or number would be a trap.
            assert isinstance(spec["default"], str), f"inputs.{name}.default is not a string"


def test_the_version_lives_in_one_place_and_the_cli_reports_it() -> None:
    from rebyte_action import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    result = subprocess.run(
        [sys.executable, "-m", "rebyte_action.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == f"rebyte {__version__}"
