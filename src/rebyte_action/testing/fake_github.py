"""A fake GitHub REST API on loopback, for the action's tests and ``make demo``.

It serves the handful of endpoints the action calls, keeps what is posted, and records
every request, so a test can assert the exact calls made, in order. It answers under
``/`` as api.github.com does and under ``/api/v3`` as GitHub Enterprise Server does.

    with FakeGitHub() as github:
        github.set_permission("octocat", "write")
        ...  # run the action with GITHUB_API_URL=github.url
        assert github.calls() == ["GET /repos/o/r/collaborators/octocat/permission", ...]
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from ..loopback import BackgroundServer, QuietServer
from .attachments import Attachments
from .github_faults import Faults, GitHubFault
from .github_rules import LEGACY_PERMISSION, REACTIONS, check_run_problem

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

    def _api(self, prefix: str) -> str:
        return f"{self.url}{prefix}/repos/{self.repository}"

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
            answer = self._route(request, prefix)
            return fault or answer

    def _route(self, request: GitHubRequest, prefix: str) -> tuple[int, Any, dict[str, str]]:
        repo = f"/repos/{self.repository}"
        route = request.route
        if not route.startswith(repo + "/"):
            return 404, {"message": "Not Found"}, {}
        rest = route[len(repo) :]
        method = request.method
        if match := re.fullmatch(r"/collaborators/([^/]+)/permission", rest):
            login = match.group(1)
            role = self.state.permissions.get(login, self.state.default_permission)
            if role is None:
                return 404, {"message": "Not Found"}, {}
            legacy = LEGACY_PERMISSION.get(role, "none")
            return 200, {"permission": legacy, "role_name": role, "user": {"login": login}}, {}
        if method == "POST" and (
            match := re.fullmatch(
                r"/issues/comments/(\d+)/reactions|/pulls/comments/(\d+)/reactions|/issues/(\d+)/reactions",
                rest,
            )
        ):
            content = (request.body or {}).get("content")
            if content not in REACTIONS:
                return 422, {"message": "Validation Failed"}, {}
            on = rest.rsplit("/reactions", 1)[0]
            for existing in self.state.reactions:  # GitHub answers 200 with the one already there
                if (existing["on"], existing["content"], existing["user"]) == (on, content, self.state.actor):
                    return 200, existing, {}
            reaction = {"id": next(self._ids), "content": content, "user": self.state.actor, "on": on}
            self.state.reactions.append(reaction)
            return 201, reaction, {}
        if method == "GET" and (
            match := re.fullmatch(
                r"/issues/comments/(\d+)/reactions|/pulls/comments/(\d+)/reactions|/issues/(\d+)/reactions",
                rest,
            )
        ):
            on = rest.rsplit("/reactions", 1)[0]
            wanted = (request.query.get("content") or [""])[0]
            found = [r for r in self.state.reactions if r["on"] == on and wanted in ("", r["content"])]
            return self._page(found, request, f"{self.url}{prefix}{route}")
        if method == "DELETE" and (
            match := re.fullmatch(
                r"(/issues/comments/\d+|/pulls/comments/\d+|/issues/\d+)/reactions/(\d+)",
                rest,
            )
        ):
            for reaction in self.state.reactions:
                if reaction["on"] == match.group(1) and reaction["id"] == int(match.group(2)):
                    if reaction["user"] != self.state.actor:
                        return 403, {"message": "Must have admin rights to Repository."}, {}
                    self.state.reactions.remove(reaction)
                    return 204, None, {}
            return 404, {"message": "Not Found"}, {}
        if method == "GET" and rest.startswith("/contents/"):
            return self._contents(rest.removeprefix("/contents/"), request)
        if method == "GET" and rest == "/issues/comments":
            return self._repository_comments(request, f"{self.url}{prefix}{route}")
        if method == "GET" and (match := re.fullmatch(r"/branches/(.+)", rest)):
            name = unquote(match.group(1))
            head = self.state.branches.get(name)
            if head is None:
                return (
                    404,
                    {"message": "Branch not found", "documentation_url": "https://docs.github.com/rest"},
                    {},
                )
            return (
                200,
                {"name": name, "commit": {"sha": head, "url": f"{self._api(prefix)}/commits/{head}"}},
                {},
            )
        if method == "GET" and (match := re.fullmatch(r"/pulls/(\d+)", rest)):
            pull = self.state.pulls.get(int(match.group(1)))
            return (200, pull, {}) if pull else (404, {"message": "Not Found"}, {})
        if match := re.fullmatch(r"/issues/(\d+)/comments", rest):
            issue = int(match.group(1))
            if method == "POST":
                body = (request.body or {}).get("body")
                if not isinstance(body, str) or not body:
                    return 422, {"message": "Validation Failed"}, {}
                if len(body) > 65536:
                    return 422, {"message": "Body is too long (maximum is 65536 characters)"}, {}
                return 201, self._store_comment(issue, body, self.state.actor, "NONE"), {}
            if method == "GET":
                return self._page(self.state.comments.get(issue, []), request, f"{self.url}{prefix}{route}")
        if method == "POST" and rest == "/check-runs":
            body = request.body or {}
            if not body.get("name") or not body.get("head_sha"):
                return 422, {"message": "Invalid request. name and head_sha are required"}, {}
            problem = check_run_problem(body)
            if problem:
                return 422, {"message": f"Invalid request. {problem}"}, {}
            run_id = next(self._ids)
            check_run = {
                **body,
                "id": run_id,
                "status": body.get("status", "queued"),
                "url": f"{self.url}{prefix}{repo}/check-runs/{run_id}",
                "html_url": f"https://github.com/{self.repository}/runs/{run_id}",
            }
            self.state.check_runs[run_id] = check_run
            return 201, check_run, {}
        if method == "PATCH" and (match := re.fullmatch(r"/check-runs/(\d+)", rest)):
            run = self.state.check_runs.get(int(match.group(1)))
            if run is None:
                return 404, {"message": "Not Found"}, {}
            body = request.body or {}
            problem = check_run_problem(body)
            if problem:
                return 422, {"message": f"Invalid request. {problem}"}, {}
            run.update(body)
            if body.get("conclusion"):  # a conclusion completes the run, as on GitHub
                run["status"] = "completed"
            return 200, run, {}
        if method == "DELETE" and (match := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            for comments in self.state.comments.values():
                for comment in comments:
                    if comment["id"] == int(match.group(1)):
                        comments.remove(comment)
                        return 204, None, {}
            return 404, {"message": "Not Found"}, {}
        if method == "PATCH" and (match := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            comment_id = int(match.group(1))
            for comments in self.state.comments.values():
                for comment in comments:
                    if comment["id"] == comment_id:
                        body = (request.body or {}).get("body")
                        if not isinstance(body, str) or not body:
                            return 422, {"message": "Validation Failed"}, {}
                        comment["body"] = body
                        comment["updated_at"] = _stamp(datetime.now(UTC))
                        return 200, comment, {}
            return 404, {"message": "Not Found"}, {}
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}

    def _contents(self, path: str, request: GitHubRequest) -> tuple[int, Any, dict[str, str]]:
        """GET /repos/{repo}/contents/{path}?ref=: a file as GitHub's JSON gives it (base64, 60-column
        lines), from the branch ``ref`` names (the default branch without one); 404 when not there."""
        ref = (request.query.get("ref") or [self.default_branch])[0]
        data = self.state.files.get((ref, path.strip("/")))
        if data is None:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
        encoded = base64.b64encode(data).decode()
        content = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()  # git's
        found = {"type": "file", "encoding": "base64", "size": len(data), "path": path, "sha": sha}
        return 200, {**found, "name": path.rsplit("/", 1)[-1], "content": content}, {}

    def _repository_comments(self, request: GitHubRequest, url: str) -> tuple[int, Any, dict[str, str]]:
        """GET /repos/{repo}/issues/comments: every thread's comments; sort, direction, since as GitHub."""
        query = {k: v[0] for k, v in request.query.items() if v}
        sort, direction = query.get("sort"), query.get("direction", "desc")
        if sort not in (None, "created", "updated") or direction not in ("asc", "desc"):
            return 422, {"message": "Validation Failed"}, {}
        comments = [c for thread in self.state.comments.values() for c in thread]
        if "since" in query:
            try:
                since = datetime.strptime(query["since"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                return 422, {"message": "Validation Failed: since is not an ISO 8601 timestamp"}, {}
            comments = [c for c in comments if _parse(c["updated_at"]) >= since]
        if sort is None:  # by ascending id; direction is ignored without sort
            comments.sort(key=lambda c: c["id"])
        else:
            comments.sort(key=lambda c: (c[f"{sort}_at"], c["id"]), reverse=direction == "desc")
        return self._page(comments, request, url)

    def _page(
        self, items: list[dict[str, Any]], request: GitHubRequest, url: str
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(100, int((request.query.get("per_page") or ["30"])[0]))
        page = int((request.query.get("page") or ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            kept = {k: v[0] for k, v in request.query.items() if k not in ("page", "per_page")}
            others = f"&{urlencode(kept)}" if kept else ""
            headers["Link"] = f'<{url}?per_page={per_page}&page={page + 1}{others}>; rel="next"'
        return 200, chunk, headers


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


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
