"""Whether a failed GitHub call is sent again, and after how long: pure decisions, no I/O.

GitHub's rules ("Best practices for using the REST API" and "Rate limits for the REST API",
docs.github.com): a rate-limited request (403 or 429) was not carried out, so it may be sent
again once the limit allows: after ``retry-after`` seconds when that header is there; when
``x-ratelimit-remaining`` is ``0``, not before ``x-ratelimit-reset`` (UTC epoch seconds);
otherwise (a secondary rate limit without either header) after at least a minute.

The action's own choices, for any request:

- a rate limit is waited out on reads and writes alike, but never one wait over
  :attr:`RetryPolicy.max_wait`, never more than :attr:`RetryPolicy.budget` seconds of waiting
  in one run (the step must end well inside the job's time), and at most
  :attr:`RetryPolicy.rate_limit_tries` retries per call;
- a 500, 502, 503 or 504, or a connection lost before an answer, is retried (with a short
  doubling backoff) only for a call that is safe to repeat: reads, edits (PATCH sets the same
  body again) and reactions (GitHub answers a repeated reaction with the one already there).
  Creating a comment or a check run is not repeated, because the failed try may have been
  carried out and a second would post twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

SERVER_ERRORS = (500, 502, 503, 504)
SECONDARY_DEFAULT_WAIT = 60.0  # seconds: GitHub's "wait for at least one minute"


@dataclass(frozen=True)
class RetryPolicy:
    """The bounds on sending a GitHub call again; seconds throughout."""

    max_wait: float = 60.0  # one wait GitHub asks for; a longer one is not waited
    budget: float = 300.0  # all the waits of one run together
    rate_limit_tries: int = 5  # retries of one call that keeps meeting a rate limit
    server_retries: int = 2  # retries of a safe call after a 5xx or a lost connection
    backoff: float = 0.5  # before the first such retry; doubled each time


@dataclass(frozen=True)
class Failure:
    """One failed try: ``status`` 0 when no answer came (a lost connection)."""

    status: int
    headers: Mapping[str, str]
    message: str
    repeatable: bool  # whether sending it twice can do no harm (reads, edits, reactions)


@dataclass(frozen=True)
class Retry:
    seconds: float
    reason: str  # why, for the log: "for GitHub's secondary rate limit", "after HTTP 502 from GitHub"


@dataclass(frozen=True)
class GiveUp:
    note: str | None  # why it is not sent again, when that is worth telling; None otherwise
    rate_limited: bool = False  # a rate limit that is not waited out
    maybe_applied: bool = False  # a call not safe to repeat that GitHub may have carried out


@dataclass(frozen=True)
class Tries:
    """What one call has been through so far."""

    rate_limited: int = 0
    server_errors: int = 0


def rate_limit_wait(status: int, headers: Mapping[str, str], message: str, now: float) -> float | None:
    """Seconds GitHub asks to wait when the answer is a rate limit; None when it is not one.

    ``now`` is the wall clock (epoch seconds), against which ``x-ratelimit-reset`` is read.
    """
    if status not in (403, 429):
        return None
    lower = {name.lower(): value for name, value in headers.items()}
    retry_after = _seconds_after(lower.get("retry-after"), now)
    if retry_after is not None:
        return retry_after
    if lower.get("x-ratelimit-remaining", "").strip() == "0":
        try:
            reset = float(lower["x-ratelimit-reset"])
        except (KeyError, ValueError):
            reset = math.nan
        return max(0.0, reset - now) if math.isfinite(reset) else SECONDARY_DEFAULT_WAIT
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_DEFAULT_WAIT
    return None  # a 403 that is a refusal: a missing permission, a locked issue


def decide(
    policy: RetryPolicy, failure: Failure, tries: Tries, *, waited: float, now: float
) -> Retry | GiveUp:
    """Send the call again after ``Retry.seconds``, or give up; ``waited`` is what this run has
    waited for GitHub already, ``now`` the wall clock (epoch seconds)."""
    wait = rate_limit_wait(failure.status, failure.headers, failure.message, now)
    if wait is not None:
        kind = "secondary rate limit" if "secondary" in failure.message.lower() else "rate limit"
        if wait > policy.max_wait:
            until = datetime.fromtimestamp(now + wait, UTC).strftime("%H:%M:%S UTC")
            return GiveUp(
                f"GitHub's {kind} asks to wait {wait:.0f} s (until {until}), longer than the "
                f"{policy.max_wait:g} s this action waits; run the job again later",
                rate_limited=True,
            )
        if tries.rate_limited >= policy.rate_limit_tries or waited + wait > policy.budget:
            return GiveUp(
                f"still held by GitHub's {kind} after {tries.rate_limited} retries and {waited:g} s of "
                f"waiting, the most this action waits in one run; run the job again later",
                rate_limited=True,
            )
        return Retry(wait, f"for GitHub's {kind}")
    if failure.status in SERVER_ERRORS or failure.status == 0:
        if not failure.repeatable:
            return GiveUp(
                "not sent again: GitHub may have carried it out, and a second try would repeat it",
                maybe_applied=True,
            )
        seconds = policy.backoff * 2**tries.server_errors
        if tries.server_errors >= policy.server_retries or waited + seconds > policy.budget:
            return GiveUp(None)
        return Retry(
            seconds,
            f"after HTTP {failure.status} from GitHub"
            if failure.status
            else "after a lost connection to GitHub",
        )
    return GiveUp(None)


def _seconds_after(value: str | None, now: float) -> float | None:
    """A ``retry-after`` value (seconds, or an HTTP date) as seconds from ``now``; None when
    absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)
