"""The few GitHub calls the action makes, on PyGithub.

Objects are lazy: building an issue or a comment from a number costs no request, so
each method below is exactly the requests its docstring names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, GithubRetry

from .report import TRUSTED_ASSOCIATIONS, ThreadMarker, find_markers
from .settings import Permission


class GitHubError(Exception):
    """A GitHub call failed; ``status`` is the HTTP status (0 when no answer came)."""

    def __init__(self, action: str, status: int, message: str):
        self.status = status
        super().__init__(
            f"GitHub refused to {action}: HTTP {status}: {message}" if status else f"{action}: {message}"
        )


@dataclass(frozen=True)
class PullInfo:
    head_ref: str
    head_sha: str
    head_repo: str | None  # None when the fork was deleted
    base_repo: str | None


@dataclass(frozen=True)
class PostedComment:
    id: int
    url: str


class GitHub:
    def __init__(self, token: str, api_url: str, repository: str, *, timeout: int = 20):
        self._token = token
        self._repository = repository
        self._gh = Github(
            auth=Auth.Token(token) if token else None,
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            user_agent="rebyte-action",
            per_page=100,
            # Reads are retried; writes are not, so a comment is never posted twice.
            retry=GithubRetry(
                total=3, backoff_factor=0.5, allowed_methods=frozenset({"GET"}), max_rate_limit_wait=60
            ),
            # A run makes a handful of calls: PyGithub's pacing would only add seconds.
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self._repo = self._gh.get_repo(repository)
        self.requests = 0  # requests sent (reads PyGithub retried count once)

    def __repr__(self) -> str:
        return f"GitHub(repository={self._repository!r})"

    def close(self) -> None:
        self._gh.close()

    def permission(self, login: str) -> Permission:
        """GET /repos/{repo}/collaborators/{login}/permission: the user's role here."""
        try:
            with self._call("read the user's permission"):
                _, data = self._gh.requester.requestJsonAndCheck(
                    "GET", f"{self._repo.url}/collaborators/{quote(login, safe='')}/permission"
                )
        except GitHubError as error:
            if error.status == 404:  # not a collaborator, or no such user
                return Permission.NONE
            raise
        for value in (data.get("role_name"), data.get("permission")):
            try:
                return Permission.parse(str(value))
            except KeyError:
                continue  # a custom role name: the legacy field maps it onto the five
        return Permission.NONE

    def react(self, content: str, *, issue: int, comment_id: int | None = None, review: bool = False) -> None:
        """POST one reaction on a comment (issue or review comment) or on the issue/PR itself."""
        with self._call(f"add the {content} reaction"):
            if comment_id is None:
                self._repo.get_issue(issue).create_reaction(content)
            elif review:
                self._repo.get_pull(issue).get_review_comment(comment_id).create_reaction(content)
            else:
                self._repo.get_issue(issue).get_comment(comment_id).create_reaction(content)

    def unreact(
        self, content: str, login: str, *, issue: int, comment_id: int | None = None, review: bool = False
    ) -> int:
        """Take back ``login``'s ``content`` reactions: GET …/reactions?content=, then DELETE …/reactions/{id}
        for each; how many were taken back."""
        if comment_id is None:
            base = f"{self._repo.url}/issues/{issue}/reactions"
        elif review:
            base = f"{self._repo.url}/pulls/comments/{comment_id}/reactions"
        else:
            base = f"{self._repo.url}/issues/comments/{comment_id}/reactions"
        with self._call(f"read the {content} reactions"):
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", base, parameters={"content": content, "per_page": 100}
            )
        mine = [
            r["id"]
            for r in (data if isinstance(data, list) else [])
            if isinstance(r, dict) and (r.get("user") or {}).get("login") == login
        ]
        for reaction_id in mine:
            with self._call(f"take back the {content} reaction"):
                self._gh.requester.requestJsonAndCheck("DELETE", f"{base}/{reaction_id}")
        return len(mine)

    def pull(self, number: int) -> PullInfo:
        """GET /repos/{repo}/pulls/{number}: its head branch and where the head lives."""
        with self._call(f"read pull request #{number}"):
            pull = self._repo.get_pull(number)
            head, base = pull.head, pull.base
            return PullInfo(
                head_ref=head.ref,
                head_sha=head.sha,
                head_repo=head.repo.full_name if head.repo is not None else None,
                base_repo=base.repo.full_name if base.repo is not None else None,
            )

    def thread_markers(self, issue: int) -> list[ThreadMarker]:
        """GET /repos/{repo}/issues/{issue}/comments (every page): the markers of this action's answers.

        Only comments by bots or by people with a say in the repository are believed, so
        that nobody can point the action at a task by pasting a marker.
        """
        with self._call(f"read the comments of #{issue}"):
            found: list[ThreadMarker] = []
            for comment in self._repo.get_issue(issue).get_comments():
                body = comment.body or ""
                if "rebyte-action:" not in body:
                    continue
                # Attributes from the listing itself: raw_data would fetch every comment again.
                user_type = comment.user.type if comment.user is not None else ""
                if user_type != "Bot" and comment.author_association not in TRUSTED_ASSOCIATIONS:
                    continue
                found.extend(
                    ThreadMarker(
                        comment.id,
                        marker,
                        issue=issue,
                        author=comment.user.login if comment.user is not None else "",
                        created_at=comment.created_at,
                    )
                    for marker in find_markers(body)
                )
            return found

    def repository_markers(self, since: datetime) -> list[ThreadMarker]:
        """GET /repos/{repo}/issues/comments?sort=created&direction=desc&since=… (every page, 100 a page):
        the markers in every issue and pull request thread here, newest comment first.

        ``since`` (aware) is GitHub's filter: comments updated at or after it. Believed only from
        bots and people with a say in the repository, as :meth:`thread_markers`.
        """
        found: list[ThreadMarker] = []
        url = f"{self._repo.url}/issues/comments"
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        page = 1
        while True:
            params = {"sort": "created", "direction": "desc", "since": stamp, "per_page": 100, "page": page}
            with self._call("list the repository's comments"):
                headers, data = self._gh.requester.requestJsonAndCheck("GET", url, parameters=params)
            for raw in data if isinstance(data, list) else []:
                found.extend(_markers_of(raw))
            link = next((v for k, v in headers.items() if k.lower() == "link"), "")
            if 'rel="next"' not in str(link):
                return found
            page += 1

    def comment(self, issue: int, body: str) -> PostedComment:
        """POST /repos/{repo}/issues/{issue}/comments."""
        with self._call(f"comment on #{issue}"):
            posted = self._repo.get_issue(issue).create_comment(body)
            return PostedComment(id=posted.id, url=posted.html_url)

    def edit_comment(self, issue: int, comment_id: int, body: str) -> None:
        """PATCH /repos/{repo}/issues/comments/{comment_id}."""
        with self._call("update the status comment"):
            self._repo.get_issue(issue).get_comment(comment_id).edit(body)

    def delete_comment(self, comment_id: int) -> None:
        """DELETE /repos/{repo}/issues/comments/{comment_id}."""
        with self._call("delete a comment"):
            self._gh.requester.requestJsonAndCheck("DELETE", f"{self._repo.url}/issues/comments/{comment_id}")

    def create_check_run(
        self, name: str, head_sha: str, *, details_url: str, external_id: str, title: str, summary: str
    ) -> int:
        """POST /repos/{repo}/check-runs, in progress: its id."""
        with self._call("create the check run"):
            run = self._repo.create_check_run(
                name,
                head_sha,
                details_url=details_url,
                external_id=external_id,
                status="in_progress",
                output={"title": title, "summary": summary},
            )
            return run.id

    def update_check_run(self, check_run_id: int, *, title: str, summary: str) -> None:
        """PATCH /repos/{repo}/check-runs/{id}: new text, still in progress."""
        with self._call("update the check run"):
            self._repo.get_check_run(check_run_id).edit(output={"title": title, "summary": summary})

    def complete_check_run(self, check_run_id: int, *, conclusion: str, title: str, summary: str) -> None:
        """PATCH /repos/{repo}/check-runs/{id}: completed, with a conclusion."""
        with self._call("complete the check run"):
            self._repo.get_check_run(check_run_id).edit(
                status="completed", conclusion=conclusion, output={"title": title, "summary": summary}
            )

    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        """Turn PyGithub's and requests' errors into one GitHubError that never holds the token."""
        self.requests += 1
        try:
            yield
        except GithubException as error:
            data = error.data
            message = data.get("message") if isinstance(data, dict) else None
            raise GitHubError(
                action, error.status or 0, self._scrub(str(message or data or "no answer"))
            ) from None
        except requests.RequestException as error:
            raise GitHubError(
                f"could not {action}", 0, self._scrub(f"{type(error).__name__}: {error}")
            ) from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _markers_of(raw: Any) -> list[ThreadMarker]:
    """The believable markers of one comment as GitHub's JSON gives it."""
    if not isinstance(raw, dict):
        return []
    body = raw.get("body") or ""
    if "rebyte-action:" not in body:
        return []
    user = raw.get("user") or {}
    if user.get("type") != "Bot" and raw.get("author_association") not in TRUSTED_ASSOCIATIONS:
        return []
    issue_url = str(raw.get("issue_url") or "")
    number = issue_url.rsplit("/", 1)[-1]
    try:
        created = datetime.fromisoformat(str(raw.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        created = None
    return [
        ThreadMarker(
            int(raw["id"]),
            marker,
            issue=int(number) if number.isdigit() else None,
            author=str(user.get("login") or ""),
            created_at=created,
        )
        for marker in find_markers(body)
    ]
