"""What the queue writes for people: the queued answer, its ends (dropped, expired), claims, the summary line.

Every text carries a hidden marker (``report.Marker``); ``queue.read_state`` reads them back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .replies import addressed, reply_comment
from .report import Marker, when

QUEUED = "⏸ **Queued**"


def queued_comment(
    *,
    request_key: str,
    facts: dict[str, Any],
    why: str,
    place: int,
    trigger_phrase: str,
    queue_hours: float,
) -> str:
    """The answer to a request over a limit: why it waits, its place, how to drop it."""
    by = facts.get("by")
    who = f" for @{by}" if by else ""
    lines = [
        f"{QUEUED}{who}: no task started yet, the request waits its turn.",
        "",
        f"- **Why:** {why}",
        f"- **Place in this repository's queue:** {place}",
        f"- It starts by itself once a place frees (oldest request first), or expires after "
        f"{queue_hours:g} hours.",
        f"- To drop it, comment `{trigger_phrase} cancel` in this thread.",
    ]
    return "\n".join(lines) + "\n\n" + Marker("queued", request=request_key, facts=facts).render()


def ended_comment(what: str, detail: str, request_key: str) -> str:
    """A queued request that will never start: dropped or expired (a ``dropped`` marker)."""
    return f"🚫 **{what}**\n\n{detail}\n\n" + Marker("dropped", request=request_key).render()


def expired_comment(request_key: str, since: datetime | None, queue_hours: float, trigger_phrase: str) -> str:
    asked = f" since {when(since)}" if since else ""
    return ended_comment(
        "Not started: expired in the queue",
        f"This request waited{asked}, longer than `queue-hours` ({queue_hours:g} h), so it was dropped "
        f"and no task was started. Ask again with `{trigger_phrase} <prompt>` if it is still wanted.",
        request_key,
    )


def dropped_comment(request_key: str, asker: str) -> str:
    return ended_comment(
        "Not started: dropped from the queue",
        f"{f'@{asker}' if asker else 'Someone'} dropped this request with `cancel` before it started; "
        "no task was started.",
        request_key,
    )


def claim_comment(queued_answer: int, requester: str, places: int = 1) -> str:
    """A claim on a queued request, posted by whoever is about to start it; deleted once started.
    ``places``: how many tasks it starts (a fan-out's), recorded when more than one."""
    facts = {"q": queued_answer, "by": requester or None, "n": places if places > 1 else None}
    marker = Marker("claim", facts={k: v for k, v in facts.items() if v is not None})
    return f"⏳ Starting a queued request…\n\n{marker.render()}"


def queue_line(length: int, oldest: datetime | None, oldest_url: str | None) -> str:
    """The step summary's queue line: its length and its oldest request."""
    if not length:
        return "Queue: empty."
    link = f" ([request]({oldest_url}))" if oldest_url else ""
    since = f" since {when(oldest)}" if oldest else ""
    return f"Queue: {length} request(s) waiting; the oldest{link} waits{since}."


def dropped_reply(
    dropping: list[int],
    asker: str,
    request_url: str | None,
    request_key: str,
    phrase: str,
    *,
    starting: int = 0,
    running: bool = True,
) -> str:
    """The answer to ``cancel`` in a thread with queued requests: they are dropped, a task goes on.

    Posted before any queued answer is edited, with a ``drop`` marker naming them (``dropping``, the
    queued answers' comment ids), so that a drain claiming one of them later backs off
    (``queue.read_state``). ``starting``: how many of them a run was already starting (its claim
    came first), left to start; the reply is edited to say so. ``running``: the thread has a task
    that is not known to have ended (it goes on, and a second ``cancel`` stops it).
    """
    count = len(dropping) - starting
    goes_on = f" A task already running in this thread goes on: `{phrase} cancel` again stops it."
    text = (
        f"🚫 {addressed(asker, request_url)}: {count} queued request(s) in this thread dropped; no task "
        "was started for them." + (goes_on if running else "")
        if count
        else f"🚫 {addressed(asker, request_url)}: no queued request in this thread was dropped."
    )
    if starting:
        text += (
            f"\n\n{starting} queued request(s) of this thread were being started from the queue at that "
            f"moment, so they were left to start: once the answer shows the task, `{phrase} cancel` again "
            "stops it (or drops the request, if it still waits)."
        )
    drop = Marker("drop", facts={"q": dropping, "by": asker or None})
    return reply_comment(text, request_key) + "\n" + drop.render()


def queued_status_comment(
    count: int, phrase: str, asker: str, request_url: str | None, request_key: str
) -> str:
    """The answer to ``status`` in a thread whose request waits in the queue: no task yet."""
    return reply_comment(
        f"⏸ {addressed(asker, request_url)}: this thread has no Rebyte task yet: {count} request(s) "
        f"here wait in the repository's queue (their answers say why, and their place). They start "
        f"by themselves once a place frees; `{phrase} cancel` drops them.",
        request_key,
    )
