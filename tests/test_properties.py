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


pieces = st.sampled_from(
    [*"`~>*-_[]()!<>/\\\"'=:# \t\n\r", "<!--", "-->", "```", "/rebyte", "a", "é", "\u200b"]
)
markdownish = st.lists(pieces, max_size=60).map("".join)
anything = st.one_of(texts, markdownish)
plain_lines = st.lists(st.text(alphabet="abcdefghij XYZ.,", max_size=30), max_size=5)


def is_subsequence(part: str, whole: str) -> bool:
    letters = iter(whole)
    return all(letter in letters for letter in part)


@settings(max_examples=300, deadline=None)
@given(anything)
def test_stripping_hidden_text_is_idempotent_and_only_ever_removes(text: str) -> None:
    once = strip_hidden(text)
    assert strip_hidden(once) == once
    assert is_subsequence(once, text.replace("\r\n", "\n").replace("\r", "\n"))


@settings(max_examples=300, deadline=None)
@given(anything)
def test_any_comment_gives_a_command_or_none(text: str) -> None:
    command = find_command(text, "/rebyte")
    assert command is None or isinstance(command, str)


def test_a_100_kb_comment_of_unbalanced_markup_is_read_in_time() -> None:
    body = ("> ```\n<!--\n`/rebyte ![x](\n[a]: <\r\n" * 4000)[:100_000] + "\n\n/rebyte at the end"
    assert find_command(body, "/rebyte") is None  # the first <!-- is never closed: all is hidden
    assert len(strip_hidden(body)) < len(body)


@settings(max_examples=200, deadline=None)
@given(before=plain_lines, request=st.text(alphabet="abcdefghij XYZ.,:", max_size=30), after=anything)
def test_a_phrase_line_a_reader_sees_always_triggers(before: list[str], request: str, after: str) -> None:
    body = "\n".join(before) + "\n\n/rebyte " + request + "\n\n" + after
    command = find_command(body, "/rebyte")
    assert command is not None and command.startswith(request.strip())


@settings(max_examples=200, deadline=None)
@given(
    inner=lines,
    fence=st.sampled_from(["```", "~~~", "````", "~~~~~"]),
    info=st.sampled_from(["", "md", "x y"]),
)
def test_nothing_in_any_fence_ever_triggers(inner: list[str], fence: str, info: str) -> None:
    body = f"{fence}{info}\n" + "\n".join(f"/rebyte {line}" for line in inner)  # closed or not
    assert find_command(body, "/rebyte") is None
    assert find_command(body + f"\n{fence}\n", "/rebyte") is None


@settings(max_examples=200, deadline=None)
@given(inner=lines)
def test_nothing_inside_an_html_comment_ever_triggers(inner: list[str]) -> None:
    kept = [line.replace("-->", "") for line in inner]
    body = "visible\n<!--\n" + "\n".join(f"/rebyte {line}" for line in kept) + "\n-->"
    assert find_command(body, "/rebyte") is None
    assert find_command(body.removesuffix("-->"), "/rebyte") is None


@settings(max_examples=200, deadline=None)
@given(inner=lines)
def test_nothing_lazily_quoted_ever_triggers(inner: list[str]) -> None:
    body = "> a quote\n" + "\n".join(f"/rebyte {line}" for line in inner if line.strip())
    assert find_command(body, "/rebyte") is None


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
