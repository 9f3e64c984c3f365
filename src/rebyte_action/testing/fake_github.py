"""A fake GitHub REST API on loopback, for the action's tests and ``make demo``.

It serves the handful of endpoints the action calls, keeps what is posted, and records
every request, so a test can assert the exact calls made, in order. It answers under
``/`` as api.github.com does and under ``/api/v3`` as GitHub Enterprise Server does.

This module is the fake's state, what a test arranges and reads, faults and hooks, and the
HTTP server; what each endpoint answers is :mod:`.github_routes`'s.

    with FakeGitHub() as github:
        github.set_permission("octocat", "write")
        ...  # run the action with GITHUB_API_URL=github.url
        assert github.calls() == ["GET /repos/o/r/collaborators/octocat/permission", ...]
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..loopback import BackgroundServer, QuietServer
from .attachments import Attachments
from .github_faults import Faults, GitHubFault
from .github_routes import _stamp, respond

GHES_PREFIX = "/api/v3"
DEFAULT_HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"  # the default branch's head (GitHub's docs' SHA)


@dataclass
class GitHubRequest:
    method: str
    path: str  # as sent, prefix included, without the query
    route: str  # without the /api/v3 prefix
    query: dict[str, list[str]]
    body: Any
    authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)  # every other header, as sent

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class FakeGitHubState:
    permissions: dict[str, str] = field(default_factory=dict)
    default_permission: str | None = "read"  # None: unknown users get 404
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    reactions: list[dict[str, Any]] = field(default_factory=list)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (branch, path) -> bytes
    branches: dict[str, str] = field(default_factory=lambda: {"master": DEFAULT_HEAD})  # name -> head SHA
    requests: list[GitHubRequest] = field(default_factory=list)
    actor: dict[str, Any] = field(
        default_factory=lambda: {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
    )


@dataclass
class _Hook:
    method: str
    route_prefix: str
    body_has: str
    then: Callable[[GitHubRequest], None]
    times: int

    def matches(self, request: GitHubRequest) -> bool:
        body = request.body.get("body") if isinstance(request.body, dict) else None
        return (
            self.times > 0
            and request.method == self.method
            and request.route.startswith(self.route_prefix)
            and self.body_has in (body if isinstance(body, str) else "")
        )


class FakeGitHub(BackgroundServer):
    """The fake as a server: ``with FakeGitHub() as github`` or ``start()``/``stop()``."""

    thread_name = "fake-github"

    def __init__(self, repository: str = "Codertocat/Hello-World", *, host: str = "127.0.0.1", port: int = 0):
        self.repository = repository
        self.default_branch = "master"  # as the fixtures' repository.default_branch
        self.state = FakeGitHubState()
        self.lock = threading.RLock()
        self._ids = itertools.count(900_000_001)
        self.faults = Faults()
        self._hooks: list[_Hook] = []
        super().__init__(_Handler, host, port, _Server)
        server = self._server
        assert isinstance(server, _Server)
        server.fake = self
        self.attachments = Attachments(self.url)  # files at its own host's attachment paths

    @property
    def ghes_url(self) -> str:
        return self.url + GHES_PREFIX

    # -- arranging -------------------------------------------------------------------

    def set_permission(self, login: str, role: str) -> None:
        with self.lock:
            self.state.permissions[login] = role

    def add_pull(
        self, number: int, *, head_ref: str, head_repo: str | None = None, title: str = "A change"
    ) -> None:
        owner = (head_repo or self.repository).split("/")[0]
        with self.lock:
            self.state.pulls[number] = {
                "number": number,
                "title": title,
                "body": "",
                "state": "open",
                "html_url": f"https://github.com/{self.repository}/pull/{number}",
                "head": {
                    "ref": head_ref,
                    "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                    "label": f"{owner}:{head_ref}",
                    "repo": {
                        "full_name": head_repo or self.repository,
                        "fork": head_repo not in (None, self.repository),
                    },
                },
                "base": {"ref": "main", "repo": {"full_name": self.repository, "fork": False}},
            }
            if head_repo in (None, self.repository):  # the head branch lives here
                self.state.branches.setdefault(head_ref, self.state.pulls[number]["head"]["sha"])

    def set_branch(self, name: str, head_sha: str) -> None:
        """Branch ``name`` of this repository now points at ``head_sha`` (GET …/branches/{name})."""
        with self.lock:
            self.state.branches[name] = head_sha

    def delete_fork_of(self, number: int) -> None:
        with self.lock:
            self.state.pulls[number]["head"]["repo"] = None

    def add_comment(
        self,
        issue: int,
        body: str,
        *,
        login: str = "github-actions[bot]",
        user_type: str = "Bot",
        association: str = "NONE",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Store a comment as if posted by ``login``; ``created_at`` (aware) back-dates it."""
        with self.lock:
            comment = self._store_comment(issue, body, {"login": login, "type": user_type}, association)
            if created_at is not None:
                comment["created_at"] = comment["updated_at"] = _stamp(created_at)
            return comment

    def add_check_run(self, head_sha: str, *, name: str = "Rebyte", status: str = "in_progress") -> int:
        """A check run as if created earlier: its id."""
        with self.lock:
            run_id = next(self._ids)
            self.state.check_runs[run_id] = {
                "id": run_id,
                "name": name,
                "head_sha": head_sha,
                "status": status,
                "url": f"{self.url}/repos/{self.repository}/check-runs/{run_id}",
            }
            return run_id

    def set_file(self, path: str, text: str | bytes, *, ref: str | None = None) -> None:
        """Commit ``path`` on branch ``ref`` (the default branch when None), for the contents API."""
        data = text.encode() if isinstance(text, str) else text
        with self.lock:
            self.state.files[(ref or self.default_branch, path.strip("/"))] = data

    def fail(
        self,
        method: str,
        route_prefix: str,
        status: int = 500,
        *,
        times: int = 1,
        message: str = "Server Error",
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (``-1``: all of them)."""
        self.faults.add(GitHubFault(method, route_prefix, status, message=message, times=times))

    def fault(self, method: str, route_prefix: str, **how: Any) -> GitHubFault:
        """Add a :class:`~.github_faults.GitHubFault` (kind, status, message, headers, times, after)."""
        return self.faults.add(GitHubFault(method, route_prefix, **how))

    def before(
        self,
        method: str,
        route_prefix: str,
        then: Callable[[GitHubRequest], None],
        *,
        body_has: str = "",
        times: int = 1,
    ) -> None:
        """Call ``then(request)`` just before the fake records and carries out the next ``times``
        matching requests (whose JSON ``body`` field holds ``body_has``): another client's writes
        landing between two of the action's, at a chosen point of a race. ``then`` runs outside
        the fake's lock, so it may run another client (a whole run of the action) meanwhile."""
        with self.lock:
            self._hooks.append(_Hook(method, route_prefix, body_has, then, times))

    # -- reading ---------------------------------------------------------------------

    def requests(self) -> list[GitHubRequest]:
        with self.lock:
            return list(self.state.requests)

    def calls(self) -> list[str]:
        """Every request as ``"METHOD /route"`` (the GHES prefix left out), in order."""
        return [f"{r.method} {r.route}" for r in self.requests()]

    def comments(self, issue: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.comments.get(issue, []))

    def check_runs(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(run) for run in self.state.check_runs.values()]

    def reactions(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.reactions)

    # -- serving ---------------------------------------------------------------------

    def _store_comment(self, issue: int, body: str, user: dict[str, Any], association: str) -> dict[str, Any]:
        comment_id = next(self._ids)
        now = _stamp(datetime.now(UTC))
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "body": body,
            "user": user,
            "author_association": association,
            "html_url": f"https://github.com/{self.repository}/issues/{issue}#issuecomment-{comment_id}",
            "url": f"{self.url}/repos/{self.repository}/issues/comments/{comment_id}",
            "issue_url": f"{self.url}/repos/{self.repository}/issues/{issue}",
            "created_at": now,
            "updated_at": now,
        }
        self.state.comments.setdefault(issue, []).append(comment)
        return comment

    def handle(self, request: GitHubRequest, prefix: str) -> tuple[int, Any, dict[str, str]] | GitHubFault:
        """The answer to one request: (status, JSON body, headers), or the fault that replaces it."""
        with self.lock:
            hooks = [hook for hook in self._hooks if hook.matches(request)]
            for hook in hooks:
                hook.times -= 1
        for hook in hooks:  # outside the lock: a hook may run a whole other client against the fake
            hook.then(request)
        with self.lock:
            self.state.requests.append(request)
            fault = self.faults.take(request.method, request.route)
            if fault is not None and not fault.after:
                return fault
            answer = respond(self, request, prefix)
            return fault or answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        prefix = GHES_PREFIX if split.path.startswith(GHES_PREFIX + "/") else ""
        request = GitHubRequest(
            method=self.command,
            path=split.path,
            route=split.path[len(prefix) :],
            query=parse_qs(split.query),
            body=body,
            authorization=self.headers.get("Authorization"),
            headers={k: v for k, v in self.headers.items() if k.lower() != "authorization"},
        )
        if self.server.fake.attachments.serve(self, split.path, request.authorization):
            with self.server.fake.lock:
                self.server.fake.state.requests.append(request)
            return
        result = self.server.fake.handle(request, prefix)
        if isinstance(result, GitHubFault):
            result.answer(self)
            return
        status, answer, headers = result
        payload = b"" if status == 204 else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class _Server(QuietServer):
    fake: FakeGitHub
