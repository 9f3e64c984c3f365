"""The fake GitHub's routes: each REST endpoint the action calls, answered as GitHub answers it.

:func:`respond` turns one :class:`~.fake_github.GitHubRequest` into (status, JSON body,
headers) from the fake's state (permissions, pulls, comments, reactions, check runs, files,
branches), changing it as GitHub would; GitHub's pagination (``per_page``, ``page``, a
``Link: rel="next"`` header) is :func:`_page`'s. It runs under the fake's lock
(:meth:`~.fake_github.FakeGitHub.handle`); faults and hooks are decided there, before it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

from .github_rules import LEGACY_PERMISSION, REACTIONS, check_run_problem

if TYPE_CHECKING:
    from .fake_github import FakeGitHub, GitHubRequest


def _api(fake: FakeGitHub, prefix: str) -> str:
    return f"{fake.url}{prefix}/repos/{fake.repository}"


def respond(fake: FakeGitHub, request: GitHubRequest, prefix: str) -> tuple[int, Any, dict[str, str]]:
    """The answer to one request from the fake's state: (status, JSON body, headers); 404 as GitHub
    words it for a route it does not serve. ``prefix`` is ``""`` or ``/api/v3`` (GHES), for URLs."""
    repo = f"/repos/{fake.repository}"
    route = request.route
    if not route.startswith(repo + "/"):
        return 404, {"message": "Not Found"}, {}
    rest = route[len(repo) :]
    method = request.method
    if match := re.fullmatch(r"/collaborators/([^/]+)/permission", rest):
        login = match.group(1)
        role = fake.state.permissions.get(login, fake.state.default_permission)
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
        for existing in fake.state.reactions:  # GitHub answers 200 with the one already there
            if (existing["on"], existing["content"], existing["user"]) == (on, content, fake.state.actor):
                return 200, existing, {}
        reaction = {"id": next(fake._ids), "content": content, "user": fake.state.actor, "on": on}
        fake.state.reactions.append(reaction)
        return 201, reaction, {}
    if method == "GET" and (
        match := re.fullmatch(
            r"/issues/comments/(\d+)/reactions|/pulls/comments/(\d+)/reactions|/issues/(\d+)/reactions",
            rest,
        )
    ):
        on = rest.rsplit("/reactions", 1)[0]
        wanted = (request.query.get("content") or [""])[0]
        found = [r for r in fake.state.reactions if r["on"] == on and wanted in ("", r["content"])]
        return _page(found, request, f"{fake.url}{prefix}{route}")
    if method == "DELETE" and (
        match := re.fullmatch(
            r"(/issues/comments/\d+|/pulls/comments/\d+|/issues/\d+)/reactions/(\d+)",
            rest,
        )
    ):
        for reaction in fake.state.reactions:
            if reaction["on"] == match.group(1) and reaction["id"] == int(match.group(2)):
                if reaction["user"] != fake.state.actor:
                    return 403, {"message": "Must have admin rights to Repository."}, {}
                fake.state.reactions.remove(reaction)
                return 204, None, {}
        return 404, {"message": "Not Found"}, {}
    if method == "GET" and rest.startswith("/contents/"):
        return _contents(fake, rest.removeprefix("/contents/"), request)
    if method == "GET" and rest == "/issues/comments":
        return _repository_comments(fake, request, f"{fake.url}{prefix}{route}")
    if method == "GET" and (match := re.fullmatch(r"/branches/(.+)", rest)):
        name = unquote(match.group(1))
        head = fake.state.branches.get(name)
        if head is None:
            return (
                404,
                {"message": "Branch not found", "documentation_url": "https://docs.github.com/rest"},
                {},
            )
        return (
            200,
            {"name": name, "commit": {"sha": head, "url": f"{_api(fake, prefix)}/commits/{head}"}},
            {},
        )
    if method == "GET" and (match := re.fullmatch(r"/pulls/(\d+)", rest)):
        pull = fake.state.pulls.get(int(match.group(1)))
        return (200, pull, {}) if pull else (404, {"message": "Not Found"}, {})
    if match := re.fullmatch(r"/issues/(\d+)/comments", rest):
        issue = int(match.group(1))
        if method == "POST":
            body = (request.body or {}).get("body")
            if not isinstance(body, str) or not body:
                return 422, {"message": "Validation Failed"}, {}
            if len(body) > 65536:
                return 422, {"message": "Body is too long (maximum is 65536 characters)"}, {}
            return 201, fake._store_comment(issue, body, fake.state.actor, "NONE"), {}
        if method == "GET":
            return _page(fake.state.comments.get(issue, []), request, f"{fake.url}{prefix}{route}")
    if method == "POST" and rest == "/check-runs":
        body = request.body or {}
        if not body.get("name") or not body.get("head_sha"):
            return 422, {"message": "Invalid request. name and head_sha are required"}, {}
        problem = check_run_problem(body)
        if problem:
            return 422, {"message": f"Invalid request. {problem}"}, {}
        run_id = next(fake._ids)
        check_run = {
            **body,
            "id": run_id,
            "status": body.get("status", "queued"),
            "url": f"{fake.url}{prefix}{repo}/check-runs/{run_id}",
            "html_url": f"https://github.com/{fake.repository}/runs/{run_id}",
        }
        fake.state.check_runs[run_id] = check_run
        return 201, check_run, {}
    if method == "PATCH" and (match := re.fullmatch(r"/check-runs/(\d+)", rest)):
        run = fake.state.check_runs.get(int(match.group(1)))
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
        for comments in fake.state.comments.values():
            for comment in comments:
                if comment["id"] == int(match.group(1)):
                    comments.remove(comment)
                    return 204, None, {}
        return 404, {"message": "Not Found"}, {}
    if method == "PATCH" and (match := re.fullmatch(r"/issues/comments/(\d+)", rest)):
        comment_id = int(match.group(1))
        for comments in fake.state.comments.values():
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


def _contents(fake: FakeGitHub, path: str, request: GitHubRequest) -> tuple[int, Any, dict[str, str]]:
    """GET /repos/{repo}/contents/{path}?ref=: a file as GitHub's JSON gives it (base64, 60-column
    lines), from the branch ``ref`` names (the default branch without one); 404 when not there."""
    ref = (request.query.get("ref") or [fake.default_branch])[0]
    data = fake.state.files.get((ref, path.strip("/")))
    if data is None:
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
    encoded = base64.b64encode(data).decode()
    content = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
    sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()  # git's
    found = {"type": "file", "encoding": "base64", "size": len(data), "path": path, "sha": sha}
    return 200, {**found, "name": path.rsplit("/", 1)[-1], "content": content}, {}


def _repository_comments(
    fake: FakeGitHub, request: GitHubRequest, url: str
) -> tuple[int, Any, dict[str, str]]:
    """GET /repos/{repo}/issues/comments: every thread's comments; sort, direction, since as GitHub."""
    query = {k: v[0] for k, v in request.query.items() if v}
    sort, direction = query.get("sort"), query.get("direction", "desc")
    if sort not in (None, "created", "updated") or direction not in ("asc", "desc"):
        return 422, {"message": "Validation Failed"}, {}
    comments = [c for thread in fake.state.comments.values() for c in thread]
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
    return _page(comments, request, url)


def _page(items: list[dict[str, Any]], request: GitHubRequest, url: str) -> tuple[int, Any, dict[str, str]]:
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
