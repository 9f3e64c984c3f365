"""Sending one GitHub call: the PyGithub client for one repository, retries, and the error.

:class:`GitHubTransport` holds the PyGithub client (its own retries and pacing off) and sends
each call again while :func:`.github_retry.decide` says so, waiting with an injectable
``sleep``; a failure that is given up on becomes one :class:`GitHubError`, GitHub's message
kept and the token never in it. :class:`~.github.GitHub` makes the action's calls on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException

from .github_retry import Failure, GiveUp, RetryPolicy, Tries, decide

T = TypeVar("T")
DEFAULT_POLICY = RetryPolicy()


class GitHubError(Exception):
    """A GitHub call failed; ``status`` is the HTTP status (0 when no answer came);
    ``rate_limited`` when it was a rate limit the action would not wait out any longer;
    ``maybe_applied`` when GitHub may have carried it out all the same (a 5xx or a lost answer)."""

    def __init__(
        self,
        action: str,
        status: int,
        message: str,
        *,
        rate_limited: bool = False,
        maybe_applied: bool = False,
    ):
        self.status = status
        self.rate_limited = rate_limited
        self.maybe_applied = maybe_applied
        super().__init__(
            f"GitHub refused to {action}: HTTP {status}: {message}" if status else f"{action}: {message}"
        )


class GitHubTransport:
    """The client under :class:`~.github.GitHub`: ``token`` for ``repository`` at ``api_url``,
    ``timeout`` seconds a request; ``policy``, ``sleep``, ``clock`` and ``on_wait`` decide and
    observe the waits between tries."""

    def __init__(
        self,
        token: str,
        api_url: str,
        repository: str,
        *,
        timeout: int = 20,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[str], None] | None = None,
    ):
        self._token = token
        self._repository = repository
        self._gh = Github(
            auth=Auth.Token(token) if token else None,
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            user_agent="rebyte-action",
            per_page=100,
            # Retries are this class's (``_call``): PyGithub's would wait out rate limits on
            # reads only, with real sleeps, and pacing would only add seconds to a handful of calls.
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self._repo = self._gh.get_repo(repository)
        self._policy, self._sleep, self._clock, self._on_wait = policy, sleep, clock, on_wait
        self.requests = 0  # tries sent, a retried call once per try
        self.waited = 0.0  # seconds waited for GitHub in all, against ``policy.budget``

    def close(self) -> None:
        self._gh.close()

    def _call(self, action: str, work: Callable[[], T], *, repeatable: bool = True) -> T:
        """``work()``, sent again while :func:`.github_retry.decide` says so; its failure as one
        :class:`GitHubError` that never holds the token. ``repeatable``: a second try can do no harm."""
        tries = Tries()
        while True:
            self.requests += 1
            try:
                return work()
            except GithubException as error:
                failure = Failure(error.status or 0, error.headers or {}, _message(error.data), repeatable)
            except requests.RequestException as error:
                failure = Failure(0, {}, f"{type(error).__name__}: {error}", repeatable)
            verdict = decide(self._policy, failure, tries, waited=self.waited, now=self._clock())
            if isinstance(verdict, GiveUp):
                message = self._scrub(failure.message)
                if verdict.note:
                    message = f"{message} ({verdict.note})"
                flags = {"rate_limited": verdict.rate_limited, "maybe_applied": verdict.maybe_applied}
                if failure.status:
                    raise GitHubError(action, failure.status, message, **flags)
                raise GitHubError(f"could not {action}", 0, message, **flags)
            if self._on_wait is not None:
                self._on_wait(
                    f"Waiting {verdict.seconds:g} s {verdict.reason}, then trying again to {action}"
                )
            self._sleep(verdict.seconds)
            self.waited += verdict.seconds
            if failure.status in (403, 429):
                tries = Tries(tries.rate_limited + 1, tries.server_errors)
            else:
                tries = Tries(tries.rate_limited, tries.server_errors + 1)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _message(data: Any) -> str:
    """GitHub's error message from an error's body: its ``message``, or what stood in for JSON."""
    if isinstance(data, dict):
        if data.get("message"):
            return str(data["message"])
        raw = data.get("data")  # PyGithub's wrapping of a body that was not JSON
        if isinstance(raw, str):
            if raw.lstrip().startswith("<"):
                return "an HTML page instead of GitHub's JSON (a proxy or gateway answered)"
            return raw.strip()[:200] or "an empty answer"
    if data in (None, "", b""):
        return "no answer"
    return str(data)[:200]
