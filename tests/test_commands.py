"""The /rebyte grammar, as plain data."""

from __future__ import annotations

import pytest

from rebyte_action.commands import Command, UsageError, parse_command, usage


def test_a_plain_prompt_is_the_whole_text() -> None:
    assert parse_command("fix the flaky test in ci.yml") == Command(prompt="fix the flaky test in ci.yml")


def test_options_come_before_the_prompt_and_line_breaks_in_the_prompt_are_kept() -> None:
    command = parse_command(
        "--executor claude --model pro --skill pdf --skills a,b --branch dev --public fix it\nthen test"
    )
    assert command == Command(
        prompt="fix it\nthen test",
        executor="claude",
        model="pro",
        skills=("pdf", "a", "b"),
        branch="dev",
        public=True,
    )


def test_key_value_and_equals_spellings_are_the_same_options() -> None:
    assert parse_command("executor=gemini model=lite skills=x,y branch=feat/one do it") == parse_command(
        "--executor=gemini --model lite --skills x,y --branch=feat/one do it"
    )


def test_words_after_the_prompt_starts_are_prompt_even_if_they_look_like_options() -> None:
    assert (
        parse_command("explain why --executor is ignored here").prompt
        == "explain why --executor is ignored here"
    )
    assert parse_command("set model=foo in the config").prompt == "set model=foo in the config"


def test_a_double_dash_ends_the_options() -> None:
    assert parse_command("--model lite -- --verbose breaks the build").prompt == "--verbose breaks the build"


def test_executor_names_are_case_insensitive() -> None:
    assert parse_command("--executor Claude go").executor == "claude"


def test_a_repeated_skill_is_kept_once() -> None:
    assert parse_command("--skill pdf --skills pdf,web go").skills == ("pdf", "web")


def test_new_asks_for_a_fresh_task() -> None:
    assert parse_command("--new start over").new is True


@pytest.mark.parametrize("text", ["help", "HELP", "--help", "  help  "])
def test_help_is_a_subcommand(text: str) -> None:
    assert parse_command(text).help is True


@pytest.mark.parametrize("verb", ["status", "share", "cancel", "help"])
def test_a_verb_alone_is_that_verb_whatever_its_case(verb: str) -> None:
    assert parse_command(f"  {verb.upper()} ").verb == verb
    assert parse_command(verb).prompt == ""


@pytest.mark.parametrize(
    ("text", "verb"), [("status.", "status"), ("Cancel!", "cancel"), ("share?", "share")]
)
def test_a_verb_with_a_full_stop_or_mark_after_it_is_still_that_verb(text: str, verb: str) -> None:
    assert parse_command(text) == Command(verb=verb)


@pytest.mark.parametrize(
    ("text", "executors", "prompt"),
    [
        ("--executor claude, codex fix it", ("claude", "codex"), "fix it"),
        ("--executor claude ,codex fix it", ("claude",), ",codex fix it"),  # a comma ends nothing here
        ("--executor=claude, gemini, codex go", ("claude", "gemini", "codex"), "go"),
    ],
)
def test_a_list_of_executors_goes_on_after_a_comma_and_a_space(
    text: str, executors: tuple[str, ...], prompt: str
) -> None:
    command = parse_command(text)
    assert (command.executors or (command.executor,), command.prompt) == (executors, prompt)
    assert parse_command("--skill pdf, web go").skills == ("pdf", "web")


@pytest.mark.parametrize("dash", ["\u2014", "\u2013", "\u2212"])
def test_an_option_whose_dashes_an_editor_joined_into_one_is_still_the_option(dash: str) -> None:
    assert parse_command(f"{dash}executor codex {dash}new go") == Command(
        prompt="go", executor="codex", new=True
    )
    assert parse_command(f"{dash}not an option").prompt == f"{dash}not an option"


@pytest.mark.parametrize("text", ["status of the migration?", "cancel the old job", "help me fix this"])
def test_a_verb_followed_by_words_is_refused_pointing_at_the_escape(text: str) -> None:
    with pytest.raises(UsageError, match="put `--` before it"):
        parse_command(text)


@pytest.mark.parametrize("text", ["status of the migration?", "help me fix this", "cancel"])
def test_double_dash_sends_a_prompt_that_starts_with_a_verb(text: str) -> None:
    assert parse_command(f"-- {text}") == Command(prompt=text)


def test_the_usage_shows_the_configured_phrase_for_every_line() -> None:
    text = usage("/agent")
    assert "/rebyte" not in text
    assert "/agent [options]" in text and "/agent status" in text and "/agent -- <prompt>" in text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "prompt is empty"),
        ("   ", "prompt is empty"),
        ("--executor claude", "prompt is empty"),
        ("--public", "prompt is empty"),
        ("--bogus do it", "unknown option `--bogus`"),
        ("--executor vim do it", "unknown executor `vim`"),
        ("--model", "needs a value"),
        ("model= do it", "needs a value"),
        ("--model a --model b do it", "given twice"),
        ("--public=yes do it", "takes no value"),
        ("--skills , do it", "at least one skill"),
        ("--skill ../etc do it", "not a skill slug"),
        ("--branch ../../x do it", "not a valid branch name"),
        ("--branch -rf do it", "not a valid branch name"),
        ("--branch a..b do it", "not a valid branch name"),
        ("--branch main.lock/ do it", "not a valid branch name"),
    ],
)
def test_malformed_commands_say_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("`", "`").replace(".", r"\.")):
        parse_command(text)
