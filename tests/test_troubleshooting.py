"""Every message the action and the ``rebyte`` command can show is listed in the README's troubleshooting.

The messages are collected from the source, without running it: an AST walk over every
module of ``src/rebyte_action`` but ``testing/`` (the fake GitHub and the local runner)
and ``demo.py`` (``make demo``, for maintainers). A **message** is a string literal or
f-string that is

- the first argument of a call to one of :data:`MESSAGE_CALLS`, by the called name
  (``session.fail(title, detail)`` gives its second argument too): the run's failures,
  skips, ``::error::``, ``::warning::`` and ``::notice::`` annotations and log lines, the
  replies, the errors of the grammar, the inputs, the event, GitHub's and Rebyte's calls,
  and the CLI's lines on stderr (``_say``, or ``print(..., file=...)``); also of any
  exception class whose name ends in ``Error`` (a new one counts at once), but
  :data:`PROGRAMMING_ERRORS`;
- appended to one of :data:`MESSAGE_LISTS` (``problems.append(...)``: the misconfigured
  step's errors);
- assigned to one of :data:`MESSAGE_NAMES` (a name or an attribute: ``head = ...``,
  ``outcome.headline = ...``, ``summary += ...``) or passed as such a keyword
  (``TaskState(..., detail=...)``, ``summary(..., headline=...)``);
- a value of one of the dictionaries or constants in :data:`MESSAGE_CONSTANTS` (the answer
  comment's headings, the CLI's key help, the hints of the input errors);
- returned by one of :data:`MESSAGE_FUNCTIONS` (a Rebyte error in words, the prompt's excess).

Both branches of ``a if cond else b`` count, and a string cut with ``[:n]`` is the string.
Anything else passed there (a variable, a call such as ``str(error)``) is a message that
was collected where it was written, or text from outside (GitHub's or Rebyte's own words),
and is not collected.

A message's **key** is its leading text: its words (letters, digits, ``_``, inner ``'`` and
``-``; case, punctuation, Markdown and emoji aside) up to :data:`KEY_WORDS` words written
in the code, where each ``{placeholder}`` stands for a few words of any kind (0 to
:data:`PLACEHOLDER_WORDS`). A placeholder at the start or the end is left out, and so is
a word glued to a placeholder (``{n}s``), which the value would change. A message is
skipped as **pure placeholder** when fewer than two words of it are written in the code
(``f"{what}: {detail}"``, ``f"task {status}"``, ``f"error: {error}"``); a literal without
placeholders always counts, even as one word (``"interrupted"``).

The README's section ``## Troubleshooting`` (up to the next ``##``), read with markdown-it-py
as text (the words of its paragraphs, lists, tables and code spans), must contain every
key: so a row written as ``could not add the <content> reaction: …`` lists the message
``f"could not add the {content} reaction: {error}"``. A message added anywhere in the code
fails :func:`test_every_message_a_user_can_see_is_in_the_troubleshooting_section` with its
file, line and text until a line of the README names it.

Not collected (documented by hand): text built up in lists (the status reply's table, the
reconciler's table, a failure comment's closing lines), the usage text, and the emulator's
API error bodies (the contract's, as Rebyte would answer).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "rebyte_action"
README = ROOT / "README.md"
SECTION = "Troubleshooting"
EXCLUDED = ("testing/", "demo.py")

# Calls whose first argument is a message (by the called name: ``x.fail(...)`` or ``fail(...)``).
MESSAGE_CALLS = frozenset(
    {
        # the run: failures, skips, annotations, log lines, replies
        "fail",
        "skip",
        "workflow_error",
        "error",
        "warning",
        "notice",
        "log",
        "reply_comment",
        # errors a user reads: the grammar, inputs, events, GitHub and Rebyte calls, the CLI
        "UsageError",
        "SettingsError",
        "Skip",
        "MalformedPayload",
        "EventFileError",
        "ArgumentTypeError",
        "GitHubError",
        "_call",  # GitHub's calls, as "GitHub refused to <action>: HTTP <status>: <message>"
        "TransportError",
        "UnexpectedResponse",
        "WaitTimeout",
        "ValueError",
        # the CLI's lines on stderr
        "_say",
    }
)
# Exceptions that are bugs, never shown to a user on purpose; any other ``...Error(...)`` counts.
PROGRAMMING_ERRORS = frozenset({"AttributeError", "KeyError", "NotImplementedError", "AssertionError"})
# Calls whose first two arguments are messages: the title and the detail of a failure.
TWO_MESSAGE_CALLS = frozenset({"fail"})
# Names (or attributes) a message is assigned to, and keywords it is passed as.
MESSAGE_NAMES = frozenset({"headline", "head", "what", "why", "detail", "title", "summary"})
# Lists of messages, each reported on its own (``problems.append(...)``).
MESSAGE_LISTS = frozenset({"problems"})
MESSAGE_CONSTANTS = frozenset({"HEADINGS", "KEY_HELP", "BOOLEAN_WORDS", "NUMBER_HINTS"})
MESSAGE_FUNCTIONS = frozenset({"describe_rebyte_error", "prompt_too_long"})
KEY_WORDS = 5
PLACEHOLDER_WORDS = 8
MIN_MESSAGES = 150  # about 190 today: a collector that finds far fewer is broken

WORD = re.compile(r"[a-z0-9_]+(?:['-][a-z0-9_]+)*")
FENCE = re.compile(r"```\w*")
PLACEHOLDER = None  # a {value} in an f-string

Piece = str | None  # written text, or a placeholder


@dataclass(frozen=True)
class Message:
    """A message found in the source: where it is, its text with ``{}`` for placeholders, its key."""

    where: str  # path:line
    text: str
    key: tuple[Piece, ...]  # words, and PLACEHOLDER where a value goes

    @property
    def key_text(self) -> str:
        return " ".join("<…>" if piece is None else piece for piece in self.key)


def _words(text: str) -> list[str]:
    """The words of ``text``, lower-cased; a code fence's backticks and info string are no words."""
    return WORD.findall(FENCE.sub(" ", text.lower().replace("’", "'")))


def _pieces(node: ast.expr) -> list[list[Piece]]:
    """The string expression ``node`` as pieces (text and placeholders), one list per variant
    (two for ``a if c else b``); [] when it is not a string written here."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [[node.value]]
    if isinstance(node, ast.JoinedStr):
        pieces: list[Piece] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                pieces.append(value.value)
            else:
                pieces.append(PLACEHOLDER)
        return [pieces]
    if isinstance(node, ast.IfExp):
        return _pieces(node.body) + _pieces(node.orelse)
    if isinstance(node, ast.Subscript):  # "..."[:200]
        return _pieces(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _pieces(node.left), _pieces(node.right)
        if not left and not right:
            return []
        return [a + b for a in (left or [[PLACEHOLDER]]) for b in (right or [[PLACEHOLDER]])]
    return []


def key_of(pieces: list[Piece]) -> tuple[Piece, ...] | None:
    """The message's key (see the module's docstring), or None for a pure placeholder."""
    key: list[Piece] = []
    written = 0
    has_placeholder = PLACEHOLDER in pieces
    for index, piece in enumerate(pieces):
        if piece is None:
            if key and key[-1] is not None:
                key.append(PLACEHOLDER)
            continue
        words = _words(piece)
        glued_before = index > 0 and pieces[index - 1] is None and piece[:1].isalnum()
        glued_after = index + 1 < len(pieces) and pieces[index + 1] is None and piece[-1:].isalnum()
        if glued_before and words:
            words = words[1:]
        if glued_after and words:
            words = words[:-1]
        for word in words:
            if written == KEY_WORDS:
                break
            key.append(word)
            written += 1
        if written == KEY_WORDS:
            break
    while key and key[-1] is None:
        key.pop()
    if written < 2 and (has_placeholder or written == 0):
        return None
    return tuple(key)


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _is_message_call(name: str | None, call: ast.Call) -> bool:
    """Whether ``call``'s first argument is a message: a call of MESSAGE_CALLS, of any other
    exception whose name ends in ``Error`` (but PROGRAMMING_ERRORS), or ``print(..., file=...)``."""
    if name is None:
        return False
    if name in MESSAGE_CALLS:
        return True
    if name.endswith("Error") and name not in PROGRAMMING_ERRORS:
        return True
    return name == "print" and any(keyword.arg == "file" for keyword in call.keywords)


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return None


def _message_nodes(tree: ast.AST) -> Iterator[ast.expr]:
    """Every expression of ``tree`` that holds a message, by the rules of the module's docstring."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _called_name(node)
            if _is_message_call(name, node):
                yield from node.args[: 2 if name in TWO_MESSAGE_CALLS else 1]
            elif (
                name == "append"
                and isinstance(node.func, ast.Attribute)
                and _target_name(node.func.value) in MESSAGE_LISTS
            ):
                yield from node.args[:1]
            for keyword in node.keywords:
                if keyword.arg in MESSAGE_NAMES:
                    yield keyword.value
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {_target_name(t) for t in targets}
            if node.value is None:
                continue
            if names & MESSAGE_NAMES:
                yield node.value
            elif names & MESSAGE_CONSTANTS:
                if isinstance(node.value, ast.Dict):
                    yield from (v for v in node.value.values if v is not None)
                else:
                    yield node.value
        elif isinstance(node, ast.FunctionDef) and node.name in MESSAGE_FUNCTIONS:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    yield inner.value


def messages_in(code: str, where: str) -> tuple[list[Message], list[Message]]:
    """The messages in ``code`` (a module's source): those with a key, and the pure placeholders."""
    found, skipped = [], []
    nodes = sorted(_message_nodes(ast.parse(code)), key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        for pieces in _pieces(node):
            if pieces == [""]:  # a default, not a message
                continue
            text = "".join("{}" if piece is None else piece for piece in pieces)
            message = Message(f"{where}:{node.lineno}", text, key_of(pieces) or ())
            (found if message.key else skipped).append(message)
    return found, skipped


def source_messages() -> tuple[list[Message], list[Message]]:
    """The messages of every module in scope (see the module's docstring), in file order."""
    found, skipped = [], []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith(EXCLUDED):
            continue
        with_key, without = messages_in(path.read_text(encoding="utf-8"), f"src/rebyte_action/{relative}")
        found += with_key
        skipped += without
    return found, skipped


def section_text(markdown: str, title: str = SECTION) -> str:
    """The words of the ``## title`` section (up to the next ``##`` heading), as markdown-it reads them:
    text and code spans of its paragraphs, lists and tables, and its code blocks."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    inside, seen, parts = False, False, []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            inside = tokens[index + 1].content.strip() == title
            seen = seen or inside
        elif inside and token.type == "inline":
            parts += [
                child.content for child in token.children or [] if child.type in ("text", "code_inline")
            ]
        elif inside and token.type in ("fence", "code_block"):
            parts.append(token.content)
    assert seen, f"the README has no '## {title}' section"
    return " ".join(parts)


def listed(key: tuple[Piece, ...], words: str) -> bool:
    """Whether ``words`` (lower-case words joined by spaces) holds ``key``, a placeholder standing
    for 0 to PLACEHOLDER_WORDS words."""
    pattern = ""
    for piece in key:
        if piece is None:
            pattern += rf"(?:\S+ ){{0,{PLACEHOLDER_WORDS}}}"
        else:
            pattern += re.escape(piece) + " "
    return re.search(rf"(?:^| ){pattern}", words + " ") is not None


def missing_from(messages: list[Message], markdown: str) -> list[Message]:
    """The messages whose key the troubleshooting section of ``markdown`` does not hold, one per key."""
    words = " ".join(_words(section_text(markdown)))
    missing: dict[tuple[Piece, ...], Message] = {}
    for message in messages:
        if message.key not in missing and not listed(message.key, words):
            missing[message.key] = message
    return list(missing.values())


# -- the README as it is ---------------------------------------------------------------


def test_every_message_a_user_can_see_is_in_the_troubleshooting_section() -> None:
    messages, _ = source_messages()
    missing = missing_from(messages, README.read_text(encoding="utf-8"))
    report = "\n".join(f"  {m.where}: {m.key_text!r}  ← {m.text[:100]!r}" for m in missing)
    assert not missing, (
        f"{len(missing)} message(s) a user can see are not in the README's '## {SECTION}' section "
        f"(add a row with their leading text, what they mean and what to do):\n{report}"
    )


def test_the_collector_finds_the_messages_it_should() -> None:
    messages, skipped = source_messages()
    assert len(messages) >= MIN_MESSAGES, f"only {len(messages)} messages found: is the collector broken?"
    keys = {m.key_text for m in messages}
    # One of each kind the docstring names, as the code has them today.
    for expected in (
        "rebyte did not answer clearly",  # fail's title
        "the request reached rebyte but",  # fail's detail
        "the comment has no line",  # Skip
        "could not add the <…> reaction",  # warning
        "input github-token is empty leave",  # workflow_error
        "unknown option <…> the options are",  # the grammar's UsageError
        "must be one of",  # an input's ValueError
        "lost track of the rebyte",  # HEADINGS
        "not started the step is",  # an outcome.headline
        "rebyte_api_key is not set get",  # KEY_HELP
        "stopped waiting task <…> goes on",  # the CLI's stderr
        "must be a port number",  # ArgumentTypeError in rebyte emulator
        "cannot tell which event this",  # try-event's EventFileError
        "rebyte refused the api key",  # describe_rebyte_error
    ):
        assert expected in keys, f"{expected!r} not collected"
    # Pure placeholders are few and are what the docstring says they are.
    assert {"{}: {}", "error: {}"} <= {m.text for m in skipped}
    assert all(len([w for p in m.text.split("{}") for w in _words(p)]) < 2 for m in skipped)


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lower-case, punctuation dropped, spaces as hyphens."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    found = set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            children = tokens[index + 1].children or []
            text = "".join(c.content for c in children if c.type in ("text", "code_inline"))
            found.add(re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-"))
    return found


def test_the_sections_links_lead_to_headings_that_exist() -> None:
    markdown = README.read_text(encoding="utf-8")
    start = markdown.index(f"## {SECTION}\n")
    section = markdown[start : markdown.index("\n## ", start + 1)]
    anchors = set(re.findall(r"\]\(#([\w-]+)\)", section))
    assert len(anchors) >= 10
    assert sorted(anchors - slugs(markdown)) == []
    assert "the-rebyte-commands-messages" in slugs(markdown)  # "### The rebyte command's messages"


# -- the checks above can fail ---------------------------------------------------------

SAMPLE = """
def run(session, workflow, error, gone):
    session.fail("The flux capacitor broke", f"It needs {error} gigawatts; try again")
    workflow.warning(f"could not add the {gone} reaction: {error}")
    workflow.error(f"{error}: {gone}")
    outcome.headline = "task melted" if gone else f"task {error}"
    raise UsageError(f"`{gone}` needs {error}s of sunshine")
    raise BrandNewError("a brand new failure")
    raise AttributeError(f"module has no attribute {gone}")
    return session.skip(reason)
"""

SAMPLE_README = """\
# x

## Troubleshooting

| message | means |
|---|---|
| `The flux capacitor broke` | `It needs <N> gigawatts; try again` |
| `could not add the 👀 reaction: …` | GitHub refused it |
| `needs <N>s of sunshine` | a command with the wrong unit |

## Next

task melted (outside the section, so not listed)
"""


def test_the_extractor_finds_an_unlisted_message_and_only_it() -> None:
    found, skipped = messages_in(SAMPLE, "sample.py")
    assert [(m.where, m.key_text) for m in found] == [
        ("sample.py:3", "the flux capacitor broke"),
        ("sample.py:3", "it needs <…> gigawatts try again"),
        ("sample.py:4", "could not add the <…> reaction"),
        ("sample.py:6", "task melted"),
        ("sample.py:7", "needs <…> of sunshine"),
        ("sample.py:8", "a brand new failure"),
    ]
    assert [m.text for m in skipped] == ["{}: {}", "task {}"]  # session.skip(reason): no literal
    missing = missing_from(found, SAMPLE_README)
    assert [(m.where, m.text) for m in missing] == [
        ("sample.py:6", "task melted"),
        ("sample.py:8", "a brand new failure"),
    ]
    # Once the section lists them, nothing is missing.
    listed_too = "- task melted: the task melted\n- a brand new failure\n\n## Next"
    assert missing_from(found, SAMPLE_README.replace("## Next", listed_too)) == []


def test_a_key_needs_its_words_in_order_and_a_placeholder_stands_for_a_few_words() -> None:
    key = key_of(["could not add the ", None, " reaction: ", None])
    assert key == ("could", "not", "add", "the", None, "reaction")
    assert listed(key, "x could not add the eyes reaction y")
    assert listed(key, "could not add the reaction")  # the value may be empty
    assert not listed(key, "could not add the a b c d e f g h i reaction x")
    assert not listed(key, "could add the eyes reaction")
    assert not listed(key, "ecould not add the eyes reaction")  # whole words only
    assert key_of([None, ": ", None]) is None and key_of(["task ", None]) is None
    assert key_of(["interrupted"]) == ("interrupted",)
    assert key_of(["a b c d e f g h"]) == ("a", "b", "c", "d", "e")


def test_a_readme_without_the_section_is_refused() -> None:
    with pytest.raises(AssertionError, match="no '## Troubleshooting' section"):
        section_text("# x\n\n## Usage\n\ntext\n")
