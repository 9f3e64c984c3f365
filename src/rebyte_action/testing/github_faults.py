"""Switchable faults for the fake GitHub, per method and route, as GitHub and its proxies fail.

    github.fault("POST", "/repos/o/r/issues/1/comments", status=502, kind="html")
    github.fault("GET", "/repos/o/r/collaborators", **secondary_rate_limit(retry_after="0"), times=-1)

kinds:
  - ``status``: answer ``status`` with GitHub's JSON error body (``message``, ``documentation_url``)
    and any extra ``headers`` (``Retry-After``, ``x-ratelimit-*``); the request has no effect.
  - ``html``: answer ``status`` with an HTML page, as the proxy in front of GitHub does on a 502.
  - ``drop``: close the connection without an answer.

With ``after=True`` the request is carried out first and only its answer is replaced: a comment
that GitHub posted although the client saw a 502 or a lost connection. ``times`` is how many
matching requests it hits (``-1``: all of them), after letting the first ``skip`` through;
``method`` empty matches every method.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

KINDS = ("status", "html", "drop")
RATE_LIMITS_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0A1B:2C3D:4E5F."
)
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class GitHubFault:
    """One injected failure; see the module's docstring for the fields."""

    method: str
    route_prefix: str
    status: int = 500
    kind: str = "status"
    message: str = "Server Error"
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    after: bool = False
    skip: int = 0
    documentation_url: str = "https://docs.github.com/rest"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind: must be one of {', '.join(KINDS)}, got {self.kind!r}")

    def matches(self, method: str, route: str) -> bool:
        return self.times != 0 and self.method in ("", method) and route.startswith(self.route_prefix)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Write this fault's answer on ``handler``'s connection, or close it without one."""
        if self.kind == "drop":
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.close()
            return
        if self.kind == "html":
            payload, content_type = BAD_GATEWAY_PAGE.encode(), "text/html"
        else:
            body: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
            payload, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
        handler.send_response(self.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in self.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)


class Faults:
    """The fake's faults, thread-safe: the first that matches a request takes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[GitHubFault] = []

    def add(self, fault: GitHubFault) -> GitHubFault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, route: str) -> GitHubFault | None:
        """The fault that hits this request (one of its ``times`` used up), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, route):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
            return None


def secondary_rate_limit(*, status: int = 403, retry_after: str | None = "0") -> dict[str, Any]:
    """A secondary rate limit as GitHub answers it: ``fault(..., **secondary_rate_limit())``.

    ``retry_after`` None leaves the header out (GitHub then asks for at least a minute's wait).
    """
    headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4990", "x-ratelimit-used": "10"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return {
        "status": status,
        "message": SECONDARY_MESSAGE,
        "headers": headers,
        "documentation_url": f"{RATE_LIMITS_DOCS}#about-secondary-rate-limits",
    }


def primary_rate_limit(reset: int, *, status: int = 403) -> dict[str, Any]:
    """The primary rate limit used up until ``reset`` (UTC epoch seconds), as GitHub answers it."""
    return {
        "status": status,
        "message": "API rate limit exceeded for installation ID 1234567.",
        "headers": {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        },
        "documentation_url": f"{RATE_LIMITS_DOCS}#about-primary-rate-limits",
    }
