"""action.yml, the Dockerfile and the pinned requirements agree with the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from rebyte_action.run import Outcome
from rebyte_action.settings import Settings

ROOT = Path(__file__).parent.parent


def _section(name: str) -> list[str]:
    """Top-level keys of one mapping in action.yml (two-space indented names)."""
    text = (ROOT / "action.yml").read_text()
    block = re.search(rf"^{name}:\n((?:  .*\n|\n)*)", text, re.MULTILINE)
    assert block, f"action.yml has no {name}: section"
    return re.findall(r"^  ([a-z][a-z0-9-]*):", block.group(1), re.MULTILINE)


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
    assert set(_section("outputs")) == set(Outcome().outputs())


def test_the_action_runs_the_dockerfile_whose_entry_point_is_the_package() -> None:
    action = (ROOT / "action.yml").read_text()
    assert re.search(r"^  using: docker\n  image: Dockerfile$", action, re.MULTILINE)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "rebyte_action"]' in dockerfile
    assert "-r requirements.txt" in dockerfile


def test_the_image_pins_exactly_the_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=!~ \[]", dep)[0].lower() for dep in project["dependencies"]}
    assert wanted == {"pygithub", "httpx", "pydantic-settings"}
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    assert wanted <= set(pins)
    test_only = {"pytest", "ruff", "mypy", "pytest-xdist", "pytest-timeout"}
    assert not test_only & set(pins), "test tools must stay out of the action's image"
