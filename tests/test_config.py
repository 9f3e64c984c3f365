"""The repository's config file, `.github/rebyte.yml`: its schema and precedence with plain data, then
through the real entry point against the emulator and the fake GitHub (which serves files by branch)."""

from __future__ import annotations

from typing import Any

import pytest

from rebyte_action.commands import Command, UsageError
from rebyte_action.config import ConfigError, Defaults, Preset, RepositoryConfig, parse_config
from rebyte_action.events import Actor, Trigger
from rebyte_action.presets import (
    apply_preset,
    find_preset,
    needs_config,
    presets_help,
    read_request,
    required_permission,
    with_defaults,
)
from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.settings import Permission, Settings
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event, load_event
from .test_action import (
    LIST_COMMENTS_1,
    LIST_REPO,
    PERMISSION,
    POST_COMMENT_1,
    REACT_ON_COMMENT,
    R,
    edit_answer,
    only_task,
)

# The issue's example, as the README shows it.
EXAMPLE = """\
defaults:                 # over the action's inputs; a command's own options win
  executor: claude
  model: pro
  skills: [deep-research]
  branch: develop
  visibility: private
labels:                   # each listed label triggers, with its preset
  bug:
    prompt: Reproduce the bug described in this issue, fix it, and open a pull request.
    executor: codex
    skills: [debugging]
  docs:
    prompt: Write or fix the documentation this issue asks for.
commands:                 # `/rebyte <name> [text]`: a preset; the user's text follows the preset's prompt
  review:
    prompt: Review this pull request for bugs, security and style; answer with concrete suggestions.
    executor: claude
    permission: triage    # this command needs less than the action's `permission` input
  triage:
    prompt: Label and summarise this issue; ask for what is missing.
    permission: read
"""
PATH = ".github/rebyte.yml"
CONTENTS = f"GET {R}/contents/{PATH}"
ON = {"config_file": PATH}  # what the runner passes by default (action.yml)


def comment(text: str, **kwargs: Any) -> Trigger:
    return Trigger(
        kind="comment",
        event_name="issue_comment",
        repository="o/r",
        default_branch="main",
        actor=Actor("octocat"),
        text=text,
        request_key="comment:1",
        **kwargs,
    )


def problem(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value


# -- the schema, with plain data -------------------------------------------------------


def test_the_issues_example_reads_as_defaults_label_presets_and_commands() -> None:
    config = parse_config(EXAMPLE)
    assert config.defaults == Defaults(
        executor=["claude"], model="pro", skills=["deep-research"], branch="develop", visibility="private"
    )
    bug = config.label("BUG")  # names ignore case
    assert bug is not None and (bug.name, bug.executor, bug.skills) == ("bug", ["codex"], ["debugging"])
    review = config.command("Review")
    assert review is not None and (review.permission, review.executor) == ("triage", ["claude"])
    assert config.command("deploy") is None and config.label("wontfix") is None
    assert config.path == PATH


def test_an_empty_file_or_one_of_comments_changes_nothing() -> None:
    assert parse_config("") == RepositoryConfig(path=PATH)
    assert parse_config("# nothing yet\n").commands == {}


def test_an_executor_is_one_name_or_a_list_and_is_kept_as_a_list() -> None:
    assert parse_config("defaults:\n  executor: Codex\n").defaults.executor == ["codex"]
    assert parse_config("defaults:\n  executor: [gemini]\n").defaults.executor == ["gemini"]
    assert parse_config("labels:\n  x:\n    executor: [claude, codex]\n").label("x").executor == [
        "claude",
        "codex",
    ]
    five = problem("labels:\n  x:\n    executor: [claude, codex, gemini, opencode, claude, cursor]\n")
    assert (five.line, five.key) == (3, "labels.x.executor") and "unknown executor 'cursor'" in str(five)
    two = problem("defaults:\n  executor: [claude, codex]\n")
    assert (two.line, two.key) == (2, "defaults.executor") and "takes one executor" in str(two)


def test_a_presets_list_of_executors_is_a_fan_out_unless_the_command_names_its_own() -> None:
    config = parse_config("commands:\n  duel:\n    prompt: Fix it.\n    executor: [claude, codex]\n")
    assert read_request(comment("duel"), config).executors == ("claude", "codex")
    own = read_request(comment("duel --executor gemini"), config)
    assert (own.executor, own.executors) == ("gemini", ())
    several = read_request(comment("duel --executor gemini,opencode"), config)
    assert (several.executor, several.executors) == (None, ("gemini", "opencode"))


@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        ("labels:\n  bug:\n    exector: codex\n", 3, "labels.bug.exector", "the keys are prompt, executor"),
        ("defaults:\n  executor: cursor\n", 2, "defaults.executor", "unknown executor 'cursor'"),
        ("commands:\n  fix:\n    prompt: x\n    permission: boss\n", 4, "commands.fix.permission", "triage"),
        ("defaults:\n  visibility: everyone\n", 2, "defaults.visibility", "private, shared, public"),
        ("defaults:\n  branch: a..b\n", 2, "defaults.branch", "not a valid git branch name"),
        ("labels:\n  bug: {}\n\n  BUG: {}\n", 4, "labels.BUG", "given twice (also on line 2)"),
        ("limits:\n  max-running: -1\n", 2, "limits.max-running", "greater than or equal to 0"),
        ("limits:\n  queue-hours: .inf\n", 2, "limits.queue-hours", "finite number"),
        ("limits:\n  max-running: on\n", 2, "limits.max-running", "valid integer"),
        ("limits:\n  max-running-per-user: false\n", 2, "limits.max-running-per-user", "valid integer"),
        ("limits:\n  queue-hours: 1e308\n", 2, "limits.queue-hours", "less than or equal to 8784"),
        ("limit:\n  queue: true\n", 1, "limit", "the keys are defaults, labels, commands, limits"),
        ("commands:\n  two words:\n    prompt: x\n", 2, "commands.two words", "one word"),
        ("commands: [review]\n", 1, "commands", "a mapping"),
    ],
)
def test_a_schema_fault_names_the_key_as_written_and_its_line(
    text: str, line: int, key: str, says: str
) -> None:
    error = problem(text)
    assert (error.line, error.key) == (line, key)
    assert says in str(error) and str(error).startswith(f"{PATH}, line {line}: `{key}`: ")


def test_a_yaml_syntax_error_names_its_line() -> None:
    error = problem("defaults:\n  executor: claude\n  skills: [a, b\nlabels: {}\n")
    assert error.line is not None and 3 <= error.line <= 4
    assert "is not valid YAML" in str(error)


@pytest.mark.parametrize("verb", ["help", "status", "share", "cancel", "HELP"])
def test_a_command_cannot_shadow_a_built_in_verb(verb: str) -> None:
    error = problem(f"commands:\n  ok:\n    prompt: x\n  {verb}:\n    prompt: y\n")
    assert (error.line, error.key) == (4, f"commands.{verb}")
    assert "is a built-in command" in str(error) and "rename it" in str(error)


def test_yaml_words_that_are_booleans_elsewhere_stay_label_names() -> None:
    assert parse_config("labels:\n  on:\n    prompt: x\n  'no': {}\n").label("on") is not None


def test_a_section_with_everything_under_it_commented_out_is_empty() -> None:
    config = parse_config("defaults:\n  # model: pro\nlabels:\ncommands:\nlimits:\n  # max-running: 2\n")
    assert config.defaults.model is None and config.limits.max_running is None
    assert (config.labels, config.commands) == ({}, {})


def test_limits_are_optional_and_exposed_for_the_queue() -> None:
    limits = parse_config(
        "limits:\n  max-running: 3\n  max-running-per-user: 1\n  queue: false\n  queue-hours: 12\n"
    ).limits
    assert (limits.max_running, limits.max_running_per_user, limits.queue, limits.queue_hours) == (
        3,
        1,
        False,
        12.0,
    )
    assert parse_config(EXAMPLE).limits.max_running is None  # unset: the input stays in force


# -- precedence, with plain data ---------------------------------------------------------


def test_a_commands_own_options_win_over_its_preset_whose_prompt_comes_first() -> None:
    config = parse_config(EXAMPLE)
    command = read_request(comment("review --executor codex --model lite look at auth.py"), config)
    assert command.prompt == (
        "Review this pull request for bugs, security and style; answer with concrete suggestions.\n\n"
        "look at auth.py"
    )
    assert (command.executor, command.model) == ("codex", "lite")
    assert command.preset == f"the `review` command of `{PATH}`"
    plain = read_request(comment("Review"), config)  # the name alone: the preset's prompt is the request
    assert plain.executor == "claude" and plain.prompt.startswith("Review this pull request")


def test_a_word_after_a_preset_name_is_text_not_a_verb_and_an_unknown_name_is_a_prompt() -> None:
    config = parse_config(EXAMPLE)
    assert read_request(comment("triage status of the docs"), config).prompt.endswith("status of the docs")
    assert read_request(comment("refactor the parser"), config) == Command(prompt="refactor the parser")


def test_a_preset_without_a_prompt_needs_the_users_text() -> None:
    config = parse_config("commands:\n  quick:\n    model: lite\n")
    with pytest.raises(UsageError, match="`quick` needs a prompt after it"):
        read_request(comment("quick"), config)
    assert read_request(comment("quick fix the typo"), config).model == "lite"


def test_the_preset_is_over_the_defaults_which_are_over_the_inputs() -> None:
    inputs = {"executor": "gemini", "model": "max", "skills": "a", "branch": "main", "visibility": "public"}
    settings = Settings(**{f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    assert settings.executor == "gemini"
    merged = with_defaults(settings, parse_config(EXAMPLE).defaults)
    assert (merged.executor, merged.model, merged.skills, merged.branch, merged.visibility) == (
        "claude",
        "pro",
        ["deep-research"],
        "develop",
        "private",
    )
    assert with_defaults(settings, Defaults(model="lite")).executor == "gemini"  # unset keys leave the inputs
    preset = Preset(executor=["codex"])
    assert apply_preset(Command(prompt="x"), preset, "the `bug` label").executor == "codex"
    assert apply_preset(Command(prompt="x", executor="claude"), preset, "").executor == "claude"


def test_a_preset_permission_replaces_the_inputs_lower_or_higher() -> None:
    assert required_permission(Preset(permission="read"), Permission.WRITE) is Permission.READ
    assert required_permission(Preset(permission="admin"), Permission.WRITE) is Permission.ADMIN
    assert required_permission(Preset(), Permission.MAINTAIN) is Permission.MAINTAIN
    assert required_permission(None, Permission.WRITE) is Permission.WRITE


def test_only_requests_that_can_use_the_file_read_it() -> None:
    assert not needs_config(comment("status")) and not needs_config(comment("CANCEL"))
    assert needs_config(comment("help")) and needs_config(comment("fix it"))
    config = parse_config(EXAMPLE)
    assert find_preset(comment("triage now"), config) == config.command("triage")
    assert find_preset(comment("triage now"), None) is None


def test_help_lists_commands_and_labels_with_their_prompts_first_lines() -> None:
    text = presets_help(parse_config(EXAMPLE), "/agent")
    assert "- `/agent review [text]`: Review this pull request for bugs" in text
    assert "(needs **triage**)" in text
    assert "- `docs`: Write or fix the documentation this issue asks for." in text
    assert presets_help(RepositoryConfig(), "/rebyte") == ""


# -- through the entry point -----------------------------------------------------------


def test_defaults_apply_over_the_inputs_and_the_read_is_one_request_from_the_default_branch(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    result = action.run("issue_comment", comment_event("/rebyte fix the typo"), executor="gemini", **ON)
    assert result.returncode == 0, result.log
    assert github.calls() == [
        CONTENTS,  # once, before the permission check: a preset may ask for another role
        PERMISSION,
        REACT_ON_COMMENT,
        LIST_COMMENTS_1,
        POST_COMMENT_1,
        LIST_COMMENTS_1,
        LIST_REPO,  # the queue, before the task starts (verbs/queued.gate)
        edit_answer(github),
    ]
    assert github.requests()[0].query == {"ref": ["master"]}  # the payload's repository.default_branch
    task = only_task(emulator)
    assert (task.executor, task.model, task.skills, task.branch_name, task.visibility) == (
        "claude",
        "pro",
        ["deep-research"],
        "develop",
        "private",
    )
    assert task.prompts[0].text.startswith("fix the typo\n")
    assert "Preset:" not in task.prompts[0].text


def test_a_commands_own_option_wins_over_the_defaults(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    result = action.run(
        "issue_comment", comment_event("/rebyte --executor codex --branch hotfix fix it"), **ON
    )
    assert result.returncode == 0, result.log
    task = only_task(emulator)
    assert (task.executor, task.branch_name, task.model) == ("codex", "hotfix", "pro")


def test_a_label_the_file_names_triggers_with_its_preset_and_the_prompt_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    event = load_event("issues.labeled")  # the label "bug"
    result = action.run("issues", event, **ON)
    assert result.returncode == 0, result.log
    assert github.calls()[:2] == [CONTENTS, PERMISSION] and github.calls().count(CONTENTS) == 1
    task = only_task(emulator)
    assert (task.executor, task.skills, task.model) == ("codex", ["debugging"], "pro")
    prompt = task.prompts[0].text
    assert prompt.startswith("Reproduce the bug described in this issue, fix it, and open a pull request.\n")
    assert prompt.count("Reproduce the bug described in this issue") == 1  # the preset's prompt, once
    assert f"Preset: the `bug` label of `{PATH}`" in prompt
    assert "Issue #1: Spelling error in the README file" in prompt


def test_a_label_the_file_does_not_name_costs_one_request_and_starts_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    event = load_event("issues.labeled")
    event["label"]["name"] = "wontfix"
    result = action.run("issues", event, **ON)
    assert result.returncode == 0, result.log
    assert github.calls() == [CONTENTS]
    assert emulator.requests() == []
    assert "not 'rebyte', nor a label in .github/rebyte.yml" in result.outputs["skipped"]


def test_the_label_input_still_works_beside_the_file_and_a_missing_file_is_fine(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    event = load_event("issues.labeled")
    event["label"]["name"] = "rebyte"
    result = action.run("issues", event, **ON)  # no file on the default branch: 404
    assert result.returncode == 0, result.log
    assert github.calls()[:2] == [CONTENTS, PERMISSION]
    assert only_task(emulator).prompts[0].text.startswith("Work on issue #1")


def test_a_command_with_a_lower_permission_lets_a_reader_start_it_and_nothing_else(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    github.set_permission("reader", "read")
    asked = comment_event("/rebyte triage please", sender="reader")
    result = action.run("issue_comment", asked, **ON)
    assert result.returncode == 0, result.log
    task = only_task(emulator)
    assert task.prompts[0].text.startswith(
        "Label and summarise this issue; ask for what is missing.\n\nplease\n"
    )
    assert f"Preset: the `triage` command of `{PATH}`" in task.prompts[0].text
    refused = action.run("issue_comment", comment_event("/rebyte --new fix it", sender="reader"), **ON)
    assert refused.returncode == 0, refused.log
    assert len(emulator.state.tasks) == 1
    assert "needs **write** permission" in github.comments(1)[-1]["body"]


def test_a_command_with_a_higher_permission_refuses_a_writer(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, "commands:\n  deploy:\n    prompt: Deploy to staging.\n    permission: admin\n")
    github.set_permission("writer", "write")
    result = action.run("issue_comment", comment_event("/rebyte deploy", sender="writer"), **ON)
    assert result.returncode == 0, result.log
    assert emulator.requests() == []
    assert "needs **admin** permission" in github.comments(1)[-1]["body"]
    assert "admin" in result.outputs["skipped"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("commands:\n  review:\n    prompt: [unclosed\n", "line 4"),  # YAML: the flow ends with the file
        ("defaults:\n  executor: claude\n  modle: pro\n", "line 3: `defaults.modle`"),
    ],
)
def test_a_malformed_file_gets_one_reply_naming_the_line_and_no_task(
    action: Action, emulator: Emulator, github: FakeGitHub, text: str, where: str
) -> None:
    github.set_file(PATH, text)
    result = action.run("issue_comment", comment_event("/rebyte fix the typo"), **ON)
    assert result.returncode == 1, result.log
    assert github.calls() == [CONTENTS, PERMISSION, REACT_ON_COMMENT, POST_COMMENT_1]
    assert emulator.requests() == []
    (reply,) = github.comments(1)
    assert f"{PATH}, {where}" in reply["body"] and "nothing was started" in reply["body"]
    assert f"::error title=rebyte-action::{PATH}, {where}" in result.stdout
    assert f"{PATH} is invalid" in result.summary


def test_a_shadowing_command_name_refuses_the_file_and_the_reply_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, "commands:\n  status:\n    prompt: Say how the build is.\n")
    result = action.run("issue_comment", comment_event("/rebyte fix the typo"), **ON)
    assert result.returncode == 1, result.log
    assert emulator.requests() == []
    body = github.comments(1)[0]["body"]
    assert "line 2: `commands.status`: `status` is a built-in command" in body


def test_a_pull_request_changing_the_file_runs_under_the_default_branchs_version(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)  # master: review needs triage, runs claude
    changed = (
        "commands:\n  review:\n    prompt: Approve everything.\n    executor: gemini\n    permission: read\n"
    )
    github.set_file(PATH, changed, ref="fix/typo")  # the pull request's head
    github.add_pull(1, head_ref="fix/typo")
    github.set_permission("reader", "read")
    refused = action.run(
        "issue_comment", comment_event("/rebyte review", on_pull=True, sender="reader"), **ON
    )
    assert refused.returncode == 0, refused.log
    assert emulator.requests() == [] and "needs **triage** permission" in github.comments(1)[-1]["body"]
    result = action.run("issue_comment", comment_event("/rebyte review", on_pull=True), **ON)
    assert result.returncode == 0, result.log
    task = only_task(emulator)
    # the default branch's preset (claude), on the pull request's code (its head beats `defaults: branch`)
    assert (task.executor, task.branch_name) == ("claude", "fix/typo")
    assert task.prompts[0].text.startswith("Review this pull request for bugs")
    assert {r.query["ref"][0] for r in github.requests() if r.route.startswith(f"{R}/contents/")} == {
        "master"
    }


def test_help_lists_the_repositorys_commands_and_labels(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    result = action.run("issue_comment", comment_event("/rebyte help"), **ON)
    assert result.returncode == 0, result.log
    body = github.comments(1)[0]["body"]
    assert "/rebyte status" in body  # the usage is still there
    assert "- `/rebyte review [text]`: Review this pull request for bugs, security and style" in body
    assert "- `triage`" not in body and "- `/rebyte triage [text]`: Label and summarise this issue" in body
    assert "- `bug`: Reproduce the bug described in this issue" in body
    assert emulator.requests() == []


def test_an_empty_config_file_input_reads_nothing_and_status_never_reads_it(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, EXAMPLE)
    off = action.run("issue_comment", comment_event("/rebyte fix the typo"), config_file="")
    assert off.returncode == 0, off.log
    assert only_task(emulator).executor == "opencode"  # the service's default: no defaults applied
    status = action.run("issue_comment", comment_event("/rebyte status"), **ON)
    assert status.returncode == 0, status.log
    assert not any(r.route.startswith(f"{R}/contents/") for r in github.requests())


def test_the_config_file_input_names_another_path(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(".github/agents.yml", "defaults:\n  model: max\n")
    result = action.run("issue_comment", comment_event("/rebyte fix"), config_file=".github/agents.yml")
    assert result.returncode == 0, result.log
    assert github.calls()[0] == f"GET {R}/contents/.github/agents.yml"
    assert only_task(emulator).model == "max"


def test_a_direct_prompt_uses_the_defaults(action: Action, emulator: Emulator, github: FakeGitHub) -> None:
    github.set_file(PATH, EXAMPLE)
    event = load_event("workflow_dispatch")
    result = action.run("workflow_dispatch", event, prompt="Update the changelog", **ON)
    assert result.returncode == 0, result.log
    assert github.calls() == [CONTENTS]
    assert only_task(emulator).executor == "claude"


def test_a_refused_read_fails_the_step_before_anything_starts(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fail("GET", f"{R}/contents/", 403, message="Resource not accessible by integration")
    result = action.run("issue_comment", comment_event("/rebyte fix the typo"), **ON)
    assert result.returncode == 1, result.log
    assert github.calls() == [CONTENTS]
    assert emulator.requests() == []
    assert f"GitHub refused to read {PATH}: HTTP 403: Resource not accessible by integration" in result.log


@pytest.mark.parametrize("path", ["../secrets.yml", ".github/../x.yml", "a?ref=pr"])
def test_the_config_file_input_must_be_a_path_in_the_repository(path: str) -> None:
    with pytest.raises(ValueError, match="must be a path in the repository"):
        Settings(**{"INPUT_CONFIG-FILE": path})
    assert Settings(**{"INPUT_CONFIG-FILE": "/.github/agents.yml"}).config_file == ".github/agents.yml"


def test_a_label_preset_with_two_executors_fans_out_one_task_each(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.set_file(PATH, "labels:\n  bug:\n    prompt: Fix the bug.\n    executor: [claude, codex]\n")
    result = action.run("issues", load_event("issues.labeled"), **ON)
    assert result.returncode == 0, result.log
    tasks = sorted(emulator.state.tasks.values(), key=lambda t: t.executor)
    assert [t.executor for t in tasks] == ["claude", "codex"]
    assert all(t.prompts[0].text.startswith("Fix the bug.\n") for t in tasks)
    assert github.calls().count(CONTENTS) == 1
