"""Properties of the pure parts that must hold for any text a commenter can write."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rebyte_action.commands import UsageError, parse_command
from rebyte_action.events import find_command
from rebyte_action.prompt import build_prompt, strip_hidden

from .action_harness import comment_event
from .test_prompt import trigger_for

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
lines = st.lists(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
        max_size=40,
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_any_command_text_parses_or_is_a_usage_error(text: str) -> None:
    try:
        command = parse_command(text)
    except UsageError as error:
        assert str(error)  # noqa: PT017 - either outcome is fine; a crash is not
    else:
        assert command.verb or command.prompt.strip()


@settings(max_examples=300, deadline=None)
@given(lines)
def test_nothing_inside_a_fenced_block_ever_triggers(inner: list[str]) -> None:
    body = "```\n" + "\n".join(f"/rebyte {line}" for line in inner) + "\n```\n"
    assert find_command(body, "/rebyte") is None


@settings(max_examples=300, deadline=None)
@given(lines)
def test_nothing_quoted_ever_triggers(inner: list[str]) -> None:
    body = "\n".join(f"> /rebyte {line}" for line in inner)
    assert find_command(body, "/rebyte") is None


@settings(max_examples=200, deadline=None)
@given(texts)
def test_stripping_hidden_text_is_idempotent_and_leaves_no_html_comment(text: str) -> None:
    once = strip_hidden(text)
    assert strip_hidden(once) == once
    assert "<!--" not in once


@settings(max_examples=100, deadline=None)
@given(request=st.text(min_size=1, max_size=2000), body=st.text(max_size=5000), limit=st.integers(2000, 6000))
def test_the_prompt_always_fits_and_always_starts_with_the_whole_request(
    request: str, body: str, limit: int
) -> None:
    payload = comment_event("/rebyte x")
    payload["issue"]["body"] = body
    cleaned = strip_hidden(request).strip()
    prompt = build_prompt(trigger_for(payload), request, branch="main", limit=limit)
    assert len(prompt) <= limit
    assert prompt.startswith(cleaned)
