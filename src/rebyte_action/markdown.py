"""A comment as GitHub renders it: where the phrase may stand, and what a reader cannot see.

GitHub renders comments as GitHub Flavored Markdown, a superset of CommonMark. What is code
(fenced and indented code blocks, CommonMark §4.4-4.5; code spans, §6.1), a block quote
(lazy continuation lines included, §5.1), HTML (HTML blocks §4.6, raw HTML §6.6), a link or
an image (§6.3-6.4, link reference definitions §4.7) is decided by markdown-it-py's
CommonMark parser, HTML on, then read off its tokens: block tokens carry line maps
(``token.map``), and the inline rules are wrapped to note where each match starts and ends.
The source text is never re-rendered: hidden spans are cut out of it by position, so what is
left reads as the author wrote it (code blocks, lists and links stay Markdown).

The parser, set up to note positions, is :mod:`.markdown_parser`'s. markdown-it-py is
imported on first use, not with this module: a run that skips, or text with nothing to
hide, never pays for it.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from .markdown_parser import Marks, html_patterns, parser

Span = tuple[int, int]

INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # control characters but tab and line endings
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c"  # Arabic letter mark
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space, joiners, LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\u206a-\u206f"  # deprecated format characters
    "\ufeff"  # zero-width no-break space
    "\ufe00-\ufe0f"  # variation selectors
    "\U000e0000-\U000e007f"  # tag characters
    "]"
)
# Attributes a reader sees the effect of, kept as plain URLs; every other one is unseen.
SHOWN_ATTRIBUTES = frozenset({"href", "src"})
# Elements whose text is shown as written (or not at all): a line inside one is not a request.
RAW_ELEMENTS = frozenset({"pre", "code", "textarea", "script", "style"})
MAX_PASSES = 8


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase at the start of a line: ``^`` up to three spaces, ``phrase``, then a word's end.

    Case aside; four spaces would make an indented code block (CommonMark §4.4). The phrase
    ends at whitespace, the end of the line, or a ``:`` or ``,`` (consumed): ``/rebyte: fix``
    is the phrase, ``/rebytes`` and ``/rebyte-x`` are not.
    """
    return re.compile(rf"^ {{0,3}}{re.escape(phrase)}(?:[:,]|(?=\s|$))", re.IGNORECASE)


def normalize(text: str) -> str:
    """``text`` without invisible characters, with ``\\n`` for every line ending (CommonMark §2.1)."""
    return INVISIBLE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def strip_hidden(text: str) -> str:
    """``text`` without what a reader of its rendering cannot see; the rest exactly as written.

    Gone: invisible characters, HTML comments (an unclosed ``<!--`` outside code hides the
    rest), image alt text and titles, link titles, a full reference link's label, link
    reference definitions but their URL, and HTML attributes other than ``href`` and ``src``.
    Code blocks and code spans keep their text. Idempotent, and it only ever removes.
    """
    current = normalize(text)
    for _ in range(MAX_PASSES):
        if "<" not in current and "[" not in current:
            return current  # nothing can hide without a tag, a comment, a link or an image
        stripped = _read(current).visible()
        if stripped == current:
            return current
        current = stripped
    return ""  # cuts that keep uncovering new hidden text: built to smuggle, so keep nothing


def command_after(body: str, phrase: str) -> str | None:
    """What follows the first visible line that starts with ``phrase``, to the end of ``body``.

    The line must be a paragraph or heading line a reader sees (not code, a quote, HTML or
    a comment; see :func:`phrase_pattern`); the text after it has hidden content removed,
    as :func:`strip_hidden` does, and surrounding whitespace stripped. None without one.
    """
    text = normalize(body)
    if phrase.casefold() not in text.casefold():
        return None
    return _read(text).command_after(phrase_pattern(phrase))


@dataclass
class _Reading:
    """One parse of a normalised text: its lines, and the spans that are hidden, code or opaque."""

    source: str
    starts: list[int]
    hidden: list[Span] = field(default_factory=list)
    code: list[Span] = field(default_factory=list)  # code blocks and spans: `<!--` is text there
    opaque: list[Span] = field(default_factory=list)  # where a line cannot start a request
    candidates: list[tuple[int, int]] = field(default_factory=list)  # (line, pieces) outside quotes

    def line(self, number: int) -> str:
        end = self.starts[number + 1] - 1 if number + 1 < len(self.starts) else len(self.source)
        return self.source[self.starts[number] : end]

    def visible(self, start: int = 0) -> str:
        kept, at = [], start
        for begin, end in _merged(self.hidden):
            if end <= at:
                continue
            if begin > at:
                kept.append(self.source[at:begin])
            at = max(at, end)
        kept.append(self.source[at:])
        return "".join(kept)

    def command_after(self, pattern: re.Pattern[str]) -> str | None:
        hidden, opaque = _merged(self.hidden), _merged(self.opaque + self.hidden)
        for first, count in self.candidates:
            for number in range(first, first + count):
                begin = self.starts[number]
                if begin > 0 and _inside(opaque, begin - 1):
                    continue  # the line break before it is not seen: no new line for a reader
                offsets = [begin + i for i in range(len(self.line(number))) if not _inside(hidden, begin + i)]
                seen = "".join(self.source[i] for i in offsets)
                found = pattern.match(seen)
                if found is None:
                    continue
                indent = len(seen) - len(seen.lstrip(" "))
                if _inside(opaque, offsets[indent]):
                    continue
                end = offsets[found.end()] if found.end() < len(offsets) else begin + len(self.line(number))
                return self.visible(end).strip()
        return None


def _read(text: str) -> _Reading:
    """Parse ``text`` (normalised) and sort its spans into hidden, code and opaque."""
    env: dict[str, Any] = {"rebyte_inline": [], "rebyte_definitions": []}
    tokens = parser().parse(text, env)
    reading = _Reading(text, _line_starts(text))
    depth = 0
    for token in tokens:
        if token.type == "blockquote_open":
            depth += 1
        elif token.type == "blockquote_close":
            depth -= 1
        elif token.type in ("fence", "code_block") and token.map:
            reading.code.append(_lines_span(reading, token.map[0], token.map[1]))
        elif token.type == "html_block" and token.map:
            lines = _lines_span(reading, token.map[0], token.map[1])
            reading.opaque.append(lines)
            place = _placement(reading, token.map[0], token.content)
            if place is None:  # not found in the source (never seen): hide it rather than guess
                reading.hidden.append(lines)
            else:
                _html(reading, token.content, 0, len(token.content), place)
        elif token.type == "inline" and token.map and depth == 0:
            reading.candidates.append((token.map[0], token.content.count("\n") + 1))
    for marks in env["rebyte_inline"]:
        _inline(reading, marks)
    for first, content in env["rebyte_definitions"]:
        _definition(reading, first, content)
    _unclosed_comment(reading)
    return reading


def _inline(reading: _Reading, marks: Marks) -> None:
    content = marks.token.content
    assert marks.token.map is not None
    place = _placement(reading, marks.token.map[0], content)
    if place is None:  # not found in the source (never seen): hide it rather than guess
        reading.hidden.append(_lines_span(reading, *marks.token.map))
        return

    def hide(begin: int, end: int) -> None:
        if begin < end:
            reading.hidden.append((place(begin), place(end)))

    raw: str | None = None
    raw_start = 0
    for kind, start, end, label_end in sorted(marks.found, key=lambda found: found[1]):
        span = (place(start), place(end))
        if kind == "code":
            reading.code.append(span)
            reading.opaque.append(span)
        elif kind == "html":
            reading.opaque.append(span)
            name = _tag_name(content[start:end])
            if raw is None and name in RAW_ELEMENTS:
                raw, raw_start = name, start
            elif raw is not None and name == f"/{raw}":
                reading.opaque.append((place(raw_start), span[1]))
                raw = None
            _html(reading, content, start, end, place)
        elif kind in ("image", "link"):
            tail = content[label_end + 1 : end]
            if tail.startswith("(") and end > label_end + 1:
                destination_end = _destination_end(content, label_end + 2, end)
                hide(destination_end, end - 1)  # the title
                if kind == "image":
                    hide(start + 2, label_end)  # the alt text
            elif kind == "image":
                hide(start, end)  # alt text and label; the definition keeps the URL
            elif tail not in ("", "[]"):
                hide(label_end + 1, end)  # a full reference's label is never shown
    if raw is not None:
        reading.opaque.append((place(raw_start), place(len(content))))


def _html(reading: _Reading, content: str, start: int, end: int, place: Callable[[int], int]) -> None:
    """Hide the comments, declarations and unseen attributes of raw HTML in ``content[start:end]``.

    Raw HTML as CommonMark §6.6 defines it; each construct is found with ``str.find`` from its
    opening, so that text full of unclosed ``<!--`` or ``<?`` stays linear.
    """
    at = content.find("<", start, end)
    while 0 <= at < end:
        closing = _unseen_end(content, at, end)
        if closing is not None:
            reading.hidden.append((place(at), place(closing)))
            at = content.find("<", closing, end)
            continue
        open_tag, attributes = html_patterns()
        tag = open_tag.match(content, at, end)
        if tag is not None:
            for attribute in attributes.finditer(content, at + len(tag.group(1)) + 1, tag.end()):
                if attribute.group(1).lower() not in SHOWN_ATTRIBUTES:
                    reading.hidden.append((place(attribute.start()), place(attribute.end())))
        at = content.find("<", at + 1, end)


def _unseen_end(content: str, at: int, end: int) -> int | None:
    """The end of the comment, processing instruction, CDATA section or declaration at ``at``."""
    for opening, closing in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"), ("<!", ">")):
        if content.startswith(opening, at, end):
            if opening == "<!--" and content.startswith((">", "->"), at + 4, end):  # <!--> and <!--->
                return content.find(">", at + 4) + 1
            found = content.find(closing, at + len(opening), end)
            return end if found < 0 else found + len(closing)  # unclosed: hides the rest
    return None


def _definition(reading: _Reading, first: int, content: str) -> None:
    """A link reference definition is never shown: keep its URL, hide its label and title."""
    place = _placement(reading, first, content)
    label = re.match(r"\s*\[(?:\\.|[^\\\[\]])*\]:[ \t]*\n?[ \t]*", content)
    if place is None or label is None:  # not found as expected: hide it all rather than guess
        reading.hidden.append(_lines_span(reading, first, first + content.count("\n") + 1))
        return
    destination_end = _destination_end(content, label.end(), len(content))
    reading.hidden.append((place(0), place(label.end())))
    reading.hidden.append((place(destination_end), place(len(content))))


def _unclosed_comment(reading: _Reading) -> None:
    """An ``<!--`` left open outside code hides the rest of the comment, as GitHub shows it."""
    covered = _merged(reading.code + reading.hidden)
    at = reading.source.find("<!--")
    while at >= 0:
        if not _inside(covered, at):
            reading.hidden.append((at, len(reading.source)))
            return
        at = reading.source.find("<!--", at + 1)


def _destination_end(content: str, start: int, end: int) -> int:
    from markdown_it.helpers import parseLinkDestination

    while start < end and content[start] in " \t\n":
        start += 1
    found = parseLinkDestination(content, start, end)
    return found.pos if found.ok else start


def _placement(reading: _Reading, first: int, content: str) -> Callable[[int], int] | None:
    """Where each offset of ``content`` (a block's text from line ``first`` on, container markers
    and indentation taken off each line) lies in the source; None when a line is not found."""
    bases: list[int] = []
    table: list[tuple[int, int, int]] = []  # (content offset, indentation taken, source offset)
    base = 0
    for number, piece in enumerate(content.split("\n"), start=first):
        if number >= len(reading.starts):
            return None
        line = reading.line(number)
        core = piece.lstrip(" \t")
        if line.endswith(core):
            at = len(line) - len(core)
        elif (trimmed := line.rstrip(" \t")).endswith(core):
            at = len(trimmed) - len(core)
        elif (at := line.rfind(core)) < 0:
            return None
        bases.append(base)
        table.append((base, len(piece) - len(core), reading.starts[number] + at))
        base += len(piece) + 1

    def place(offset: int) -> int:
        start, indent, source = table[bisect_right(bases, offset) - 1]
        return source + max(0, offset - start - indent)

    return place


def _lines_span(reading: _Reading, first: int, end: int) -> Span:
    last = min(end, len(reading.starts)) - 1
    return reading.starts[first], reading.starts[last] + len(reading.line(last))


def _line_starts(text: str) -> list[int]:
    return [0, *accumulate(len(line) + 1 for line in text.split("\n")[:-1])]


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif begin < end:
            merged.append((begin, end))
    return merged


def _inside(merged: list[Span], offset: int) -> bool:
    index = bisect_right(merged, (offset, sys.maxsize)) - 1
    return index >= 0 and merged[index][0] <= offset < merged[index][1]


def _tag_name(tag: str) -> str:
    found = re.match(r"<(/?[A-Za-z][A-Za-z0-9-]*)", tag)
    return found.group(1).lower() if found else ""
