"""Just enough of GitHub's expression language to evaluate a workflow's ``if:`` in a test."""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r"\s*(\|\||&&|==|!=|\(|\)|,|'(?:[^']|'')*'|[A-Za-z_][\w.-]*)")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """A GitHub expression of ``||``, ``&&``, ``==``, ``!=``, ``contains()``, strings and paths.

    Strings compare ignoring case, as GitHub's do; a missing property is null.
    """
    tokens = []
    position = 0
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        assert match, f"cannot read {expression[position:]!r}"
        tokens.append(match.group(1))
        position = match.end()
    stream = iter([*tokens, None])
    current = [next(stream)]

    def take(expected: str | None = None) -> str:
        token = current[0]
        assert token is not None and (expected is None or token == expected), (token, expected)
        current[0] = next(stream)
        return token

    def folded(value: Any) -> Any:
        return value.casefold() if isinstance(value, str) else value

    def primary() -> Any:
        token = take()
        if token == "(":
            value = either()
            take(")")
            return value
        if token == "contains":
            take("(")
            haystack = either()
            take(",")
            needle = either()
            take(")")
            return folded(needle or "") in folded(haystack or "")
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        value: Any = context
        for part in token.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def comparison() -> Any:
        left = primary()
        while current[0] in ("==", "!="):
            operator, right = take(), primary()
            left = (folded(left) == folded(right)) == (operator == "==")
        return left

    def both() -> Any:
        value = comparison()
        while current[0] == "&&":
            take()
            right = comparison()
            value = value and right
        return value

    def either() -> Any:
        value = both()
        while current[0] == "||":
            take()
            right = both()
            value = value or right
        return value

    result = either()
    assert current[0] is None, f"left over: {current[0]}"
    return result
