"""markdown-it-py's CommonMark parser, set up to note where each construct stands.

CommonMark with HTML on; its inline rules for code spans, raw HTML, images and links are
wrapped to note where each match starts and ends (and where a link's label ends) in its
inline token's content, and its link reference definition rule to note each definition's
first line and text: :mod:`.markdown` reads those positions back onto the source. Also the
open-tag and attribute patterns of raw HTML (CommonMark §6.6), built from markdown-it's own.

markdown-it-py is imported on first use (:func:`parser`), not with this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_core import StateCore
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token


@dataclass
class Marks:
    """What the inline rules matched in one inline token's content: (kind, start, end, label end)."""

    token: Token
    found: list[tuple[str, int, int, int]] = field(default_factory=list)


@cache
def html_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """An open tag (CommonMark §6.6), and one of its attributes."""
    from markdown_it.common.html_re import attr_name, attr_value, attribute

    tag = re.compile(rf"<([A-Za-z][A-Za-z0-9\-]*){attribute}*\s*/?>")
    return tag, re.compile(rf"\s+({attr_name})(?:\s*=\s*{attr_value})?")


@cache
def parser() -> MarkdownIt:
    """CommonMark with HTML, its inline rules and link reference definitions noting positions."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    kinds = {"backticks": "code", "html_inline": "html", "image": "image", "link": "link"}
    for rule in parser.inline.ruler.__rules__:
        if rule.name in kinds:
            rule.fn = _noting(kinds[rule.name], rule.fn)
    parser.inline.ruler.__cache__ = None
    for block_rule in parser.block.ruler.__rules__:
        if block_rule.name == "reference":
            block_rule.fn = _noting_definitions(block_rule.fn)
    parser.block.ruler.__cache__ = None
    parser.core.ruler.at("inline", _inline_rule)
    return parser


def _inline_rule(state: StateCore) -> None:
    """markdown-it's core ``inline`` rule, with a place for each inline token's marks."""
    for token in state.tokens:
        if token.type == "inline":
            state.env["rebyte_inline"].append(Marks(token))
            token.children = []
            state.md.inline.parse(token.content, state.md, state.env, token.children)


def _noting(kind: str, rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    def noted(state: StateInline, silent: bool) -> bool:
        start = state.pos
        if not rule(state, silent):
            return False
        if not silent:
            label_end = -1
            if kind in ("image", "link"):
                bracket = start + 1 if kind == "image" else start
                label_end = state.md.helpers.parseLinkLabel(state, bracket, kind == "link")
            state.env["rebyte_inline"][-1].found.append((kind, start, state.pos, label_end))
        return True

    return noted


def _noting_definitions(
    rule: Callable[[StateBlock, int, int, bool], bool],
) -> Callable[[StateBlock, int, int, bool], bool]:
    def noted(state: StateBlock, start: int, end: int, silent: bool) -> bool:
        if not rule(state, start, end, silent):
            return False
        if not silent:
            content = state.getLines(start, state.line, state.blkIndent, False)
            state.env["rebyte_definitions"].append((start, content))
        return True

    return noted
