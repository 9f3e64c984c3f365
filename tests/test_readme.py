"""The README's code blocks work as written, and its first example is the repository's own workflow.

Blocks are found with a real Markdown parser (markdown-it-py), by their info string:
``yaml`` blocks are parsed and schema-checked as workflows (a list of steps, or one step,
wrapped in a minimal job first), or, when they open with ``# .github/rebyte.yml``, against
that file's schema; ``python`` blocks run unchanged in a subprocess against the emulator,
with the environment they document, and ``sh`` blocks name only ``rebyte`` subcommands and
``make`` targets that exist.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt

from rebyte_action.cli import build_parser
from rebyte_action.config import DEFAULT_CONFIG_FILE as CONFIG_FILE
from rebyte_action.config import ConfigError, parse_config
from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.settings import Settings

from .github_expressions import evaluate

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
WORKFLOW = ROOT / ".github" / "workflows" / "rebyte.yml"
BIN = Path(sys.executable).parent
OWN_USES = "uses: ./"
OWN_CHECKOUT = (
    "      # This repository's own copy only: `uses: ./` runs the action from this commit's files.\n"
    "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n"
    "        with:\n"
    "          persist-credentials: false\n"
)
COPIED_USES = "uses: rebyte-ai/rebyte-action@v1"
CHECKED_LANGUAGES = {"yaml", "python", "sh", "text", ""}
FILE_NAME = re.compile(r"[\w-]+\.(?:csv|txt|pdf|json|md)")


@dataclass(frozen=True)
class CodeBlock:
    language: str  # the info string's first word; "" for a bare fence
    content: str
    line: int  # 1-based line of the opening fence

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.language or 'no language'})"


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced block, in order, as CommonMark sees it (fences in lists included)."""
    blocks = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type == "fence":
            assert token.map is not None
            words = token.info.split()
            blocks.append(CodeBlock(words[0] if words else "", token.content, token.map[0] + 1))
    return blocks


# -- yaml ------------------------------------------------------------------------------


def as_workflow(block: CodeBlock) -> str:
    """The block as a whole workflow's text: itself, or its steps wrapped in a minimal job.

    Raises ``yaml.YAMLError`` when it does not parse, ``ValueError`` when it is neither a
    workflow, a list of steps nor one step.
    """
    data = yaml.safe_load(block.content)
    if isinstance(data, dict) and "jobs" in data:
        return block.content
    if isinstance(data, dict) and {"uses", "run"} & data.keys():
        data = [data]
    if not (isinstance(data, list) and data and all(isinstance(step, dict) for step in data)):
        raise ValueError("neither a workflow, a list of steps nor a step")
    job = {"runs-on": "ubuntu-latest", "steps": data}
    return yaml.safe_dump({"name": "snippet", "on": "workflow_dispatch", "jobs": {"snippet": job}})


def yaml_problems(blocks: list[CodeBlock], folder: Path) -> list[str]:
    """What is wrong with the yaml blocks: parse errors, then one schema check over all of them."""
    problems, files = [], []
    for block in blocks:
        if block.content.startswith(f"# {CONFIG_FILE}\n"):  # the repository's config file, not a workflow
            try:
                parse_config(block.content)
            except ConfigError as error:
                problems.append(f"{block.where}: {error}")
            continue
        try:
            text = as_workflow(block)
        except (yaml.YAMLError, ValueError) as error:
            problems.append(f"{block.where}: {error}")
            continue
        path = folder / f"readme-line-{block.line}.yml"
        path.write_text(text)
        files.append(path)
    if files:
        checked = subprocess.run(
            [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if checked.returncode != 0:
            problems.append(f"schema check failed:\n{checked.stdout}{checked.stderr}")
    return problems


# -- python ----------------------------------------------------------------------------


def run_python(block: CodeBlock, emulator: Emulator, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the block unchanged, in ``folder`` holding the files it names, with the documented variables."""
    for node in ast.walk(ast.parse(block.content)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and FILE_NAME.fullmatch(node.value):
            (folder / node.value).write_text("month,revenue\n2026-10,1350\n2026-11,1610\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBYTE_")}
    env.update({"REBYTE_API_KEY": "rbk_readme_example", "REBYTE_BASE_URL": emulator.url})
    return subprocess.run(
        [sys.executable, "-c", block.content],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- sh --------------------------------------------------------------------------------


def rebyte_subcommands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse keeps its subcommands only here
        if action.choices and isinstance(action.choices, dict):
            return set(action.choices)
    raise AssertionError("the rebyte parser has no subcommands")


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def sh_problems(block: CodeBlock) -> list[str]:
    """Commands the block shows that do not exist: ``rebyte <subcommand>`` and ``make <target>``."""
    subcommands, targets, problems = rebyte_subcommands(), make_targets(), []
    for number, line in enumerate(block.content.splitlines(), start=block.line + 1):
        words = line.split("#", 1)[0].split()
        if words[:1] == ["rebyte"]:
            named = next((w for w in words[1:] if not w.startswith("-")), None)
            if named not in subcommands:
                problems.append(f"README.md:{number}: rebyte has no subcommand {named!r}")
        elif words[:1] == ["make"]:
            for target in (w for w in words[1:] if "=" not in w and not w.startswith("-")):
                if target not in targets:
                    problems.append(f"README.md:{number}: the Makefile has no target {target!r}")
    return problems


# -- the README as it is ---------------------------------------------------------------


@pytest.fixture(scope="module")
def blocks() -> list[CodeBlock]:
    return code_blocks(README.read_text())


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(task_seconds=0.2)) as running:
        yield running


def test_every_block_is_in_a_language_the_checks_know(blocks: list[CodeBlock]) -> None:
    assert [b.where for b in blocks if b.language not in CHECKED_LANGUAGES] == []
    assert {b.language for b in blocks} >= {"yaml", "python", "sh"}


def test_every_yaml_block_is_a_valid_workflow_or_steps(blocks: list[CodeBlock], tmp_path: Path) -> None:
    yaml_blocks = [b for b in blocks if b.language == "yaml"]
    assert len(yaml_blocks) >= 2
    assert yaml_problems(yaml_blocks, tmp_path) == []


def test_every_python_block_runs_as_written_against_the_emulator(
    blocks: list[CodeBlock], emulator: Emulator, tmp_path: Path
) -> None:
    python_blocks = [b for b in blocks if b.language == "python"]
    assert python_blocks
    for index, block in enumerate(python_blocks):
        folder = tmp_path / f"block-{index}"
        folder.mkdir()
        done = run_python(block, emulator, folder)
        assert done.returncode == 0, f"{block.where} failed:\n{done.stdout}{done.stderr}"
    # They did reach the emulator given to them (the emulator snippet starts its own too).
    assert emulator.requests("POST", "/v1/tasks")


def test_every_sh_block_names_commands_that_exist(blocks: list[CodeBlock]) -> None:
    sh_blocks = [b for b in blocks if b.language == "sh"]
    assert sh_blocks
    assert [problem for block in sh_blocks for problem in sh_problems(block)] == []


# -- the example workflow --------------------------------------------------------------


def as_copied(workflow_text: str) -> str:
    """The repository's workflow as a user copies it: no header comment, no checkout step (only
    ``uses: ./`` needs one), and a released ``uses:``."""
    lines = workflow_text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    body = "".join(lines)
    assert body.count(OWN_CHECKOUT) == 1, "the own copy checks out this commit, for uses: ./"
    body = body.replace(OWN_CHECKOUT, "")
    assert body.count("uses:") == 1 and body.count(f"{OWN_USES}\n") == 1, "one step: the action, as ./"
    return body.replace(f"{OWN_USES}\n", f"{COPIED_USES}\n")


def test_the_readmes_first_example_is_the_repositorys_workflow_but_for_the_uses_line(
    blocks: list[CodeBlock],
) -> None:
    first = blocks[0]
    assert first.language == "yaml", "the first block of the README is the workflow to copy"
    assert first.content == as_copied(WORKFLOW.read_text())


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def test_the_workflow_grants_the_job_only_what_the_action_uses() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers == {
        "issue_comment": {"types": ["created"]},
        "pull_request_review_comment": {"types": ["created"]},
        "issues": {"types": ["labeled"]},
        "pull_request": {"types": ["labeled"]},
    }
    assert data["permissions"] == {}
    (job,) = data["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write", "pull-requests": "write"}
    assert job["runs-on"].startswith("ubuntu-")  # container actions run on Linux only
    assert job["concurrency"] == {
        "group": "rebyte-${{ github.event.issue.number || github.event.pull_request.number }}",
        "cancel-in-progress": False,
    }
    for step in job["steps"]:
        if str(step.get("uses", "")).startswith("actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False


def test_the_workflow_is_schema_valid_and_clean_under_zizmor() -> None:
    checked = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", WORKFLOW],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audited = subprocess.run(
        [BIN / "zizmor", "--offline", "--min-severity", "medium", WORKFLOW],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr
    # The one suppression says why it is safe, in the comment just above it.
    text = WORKFLOW.read_text()
    assert text.count("zizmor: ignore") == 1
    above = " ".join(text.split("# zizmor: ignore[dangerous-triggers]")[0].splitlines()[-3:-1])
    assert "safe here: the job checks out no code" in above and "action's own image" in above


# -- the job-level if:, evaluated as GitHub would --------------------------------------


def job_runs(event_name: str, payload: dict[str, Any]) -> bool:
    (job,) = workflow()["jobs"].values()
    return bool(evaluate(job["if"], {"github": {"event_name": event_name, "event": payload}}))


def comment(body: str, fixture: str = "issue_comment.created") -> dict[str, Any]:
    from .action_harness import load_event

    event = load_event(fixture)
    event["comment"]["body"] = body
    return event


def labelled(name: str, fixture: str) -> dict[str, Any]:
    from .action_harness import load_event

    event = load_event(fixture)
    event["label"]["name"] = name
    return event


def test_the_job_runs_for_requests_only() -> None:
    phrase, label = Settings().trigger_phrase, Settings().label  # the action's defaults
    assert (phrase, label) == ("/rebyte", "rebyte")
    assert job_runs("issue_comment", comment("Thanks!\n\n/rebyte fix the typo"))
    assert job_runs("issue_comment", comment("/REBYTE help"))
    assert job_runs(
        "pull_request_review_comment", comment("/rebyte here", "pull_request_review_comment.created")
    )
    assert job_runs("issues", labelled("rebyte", "issues.labeled"))
    assert job_runs("pull_request", labelled("Rebyte", "pull_request.labeled"))

    assert not job_runs("issue_comment", comment("You are totally right!"))
    assert not job_runs("pull_request_review_comment", comment("Nice", "pull_request_review_comment.created"))
    assert not job_runs("issues", labelled("bug", "issues.labeled"))
    assert not job_runs("pull_request", labelled("bug", "pull_request.labeled"))


def test_the_evaluator_reads_expressions_as_github_does() -> None:
    context = {"github": {"event_name": "push", "event": {"comment": {"body": "x"}}}}
    assert evaluate("github.event_name == 'PUSH' && contains(github.event.comment.body, 'X')", context)
    assert (
        evaluate("github.event.nothing == 'a' || (github.event_name != 'pull' && true_ish)", context) is None
    )
    assert evaluate("contains(github.event.missing, 'a')", context) is False
    assert evaluate("'it''s' == 'IT''S'", context) is True


# -- the checks above can fail ---------------------------------------------------------

BROKEN_README = """\
# Broken

```yaml
on: push
jobs:
  build:
    steps:
      - run: echo no runs-on
```

```yaml
      - uzes: actions/checkout@v4
```

```yaml
key: [unclosed
```

```yaml
just: a mapping
```

```python
client = RebyteClient("rbk_x")
```

- in a list:

  ```sh
  rebyte frobnicate TASK_ID
  make teleport
  ```
"""


def test_a_broken_readme_fails_every_check(tmp_path: Path, emulator: Emulator) -> None:
    blocks = code_blocks(BROKEN_README)
    assert [(b.language, b.line) for b in blocks] == [
        ("yaml", 3),
        ("yaml", 11),
        ("yaml", 15),
        ("yaml", 19),
        ("python", 23),
        ("sh", 29),
    ]
    problems = yaml_problems([b for b in blocks if b.language == "yaml"], tmp_path)
    assert problems[0].startswith("README.md:15 (yaml): while parsing a flow sequence")
    assert problems[1] == "README.md:19 (yaml): neither a workflow, a list of steps nor a step"
    schema = problems[2]
    assert "readme-line-3.yml" in schema and "readme-line-11.yml" in schema  # both named
    assert len(problems) == 3

    done = run_python(blocks[4], emulator, tmp_path)
    assert done.returncode != 0 and "NameError: name 'RebyteClient' is not defined" in done.stderr

    assert sh_problems(blocks[5]) == [
        "README.md:30: rebyte has no subcommand 'frobnicate'",
        "README.md:31: the Makefile has no target 'teleport'",
    ]


def test_a_readme_whose_first_example_drifted_from_the_workflow_is_caught() -> None:
    copied = as_copied(WORKFLOW.read_text())
    drifted = copied.replace("cancel-in-progress: false", "cancel-in-progress: true")
    assert drifted != copied
    first = code_blocks(f"# x\n\n```yaml\n{drifted}```\n")[0]
    assert first.content != copied
    with pytest.raises(AssertionError, match="one step"):
        as_copied(WORKFLOW.read_text().replace(f"{OWN_USES}\n", "uses: $/\n"))


def test_a_config_file_block_is_checked_against_the_files_schema_not_as_a_workflow(tmp_path: Path) -> None:
    blocks = code_blocks("```yaml\n# .github/rebyte.yml\nlabels:\n  bug:\n    exector: codex\n```\n")
    (problem,) = yaml_problems(blocks, tmp_path)
    assert problem.startswith("README.md:1 (yaml): .github/rebyte.yml, line 4: `labels.bug.exector`: ")
    fixed = code_blocks("```yaml\n# .github/rebyte.yml\nlabels:\n  bug:\n    executor: codex\n```\n")
    assert yaml_problems(fixed, tmp_path) == []
