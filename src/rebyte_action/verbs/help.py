"""``/rebyte help``, and the answer to a command that cannot be read: the usage."""

from __future__ import annotations

from ..report import usage_comment
from ..session import Session

HELP = "help              shows this help"


def run(session: Session) -> int:
    """Reply with the usage; nothing is started."""
    session.reply(usage_comment(None))
    return session.skip("help was asked for")


def usage_error(session: Session, problem: str) -> int:
    """Reply with what is wrong and the usage; nothing is started (exit 0: the step did its job)."""
    session.reply(usage_comment(problem))
    return session.skip(f"usage error: {problem}")
