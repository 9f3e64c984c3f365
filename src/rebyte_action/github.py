"""The few GitHub calls the action makes, on PyGithub.

Objects are lazy: building an issue or a comment from a number costs no request, so
each method below is exactly the requests its docstring names.

The sending (retries, errors) is :mod:`.github_transport`'s; this module is the calls.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from .github_transport import GitHubError as GitHubError  # re-exported: it is imported from here
from .github_transport import GitHubTransport
from .report import TRUSTED_ASSOCIATIONS, ThreadMarker, find_markers
from .settings import Permission


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


class GitHub(GitHubTransport):
    """The calls, each sent again when GitHub's answer allows it (see :mod:`.github_retry`).

    ``sleep`` and ``clock`` (wall clock, epoch seconds) are injectable so that tests observe
    the waits instead of waiting; ``on_wait`` hears one line before each wait.
    """

    def __repr__(self) -> str:
        return f"GitHub(repository={self._repository!r})"

    def permission(self, login: str) -> Permission:
        """GET /repos/{repo}/collaborators/{login}/permission: the user's role here (NONE on a 404:
        not a collaborator, or no such user). Other refusals raise :class:`GitHubError`."""
        url = f"{self._repo.url}/collaborators/{quote(login, safe='')}/permission"
        try:
            _, data = self._call(
                "read the user's permission", lambda: self._gh.requester.requestJsonAndCheck("GET", url)
            )
        except GitHubError as error:
            if error.status == 404:
                return Permission.NONE
            raise
        for value in (data.get("role_name"), data.get("permission")):
            try:
                return Permission.parse(str(value))
            except KeyError:
                continue  # a custom role name: the legacy field maps it onto the five
        return Permission.NONE

    def react(self, content: str, *, issue: int, comment_id: int | None = None, review: bool = False) -> None:
        """POST one reaction on a comment (issue or review comment) or on the issue/PR itself.

        Safe to repeat: GitHub answers a reaction the user already gave with that one."""

        def work() -> None:
            if comment_id is None:
                self._repo.get_issue(issue).create_reaction(content)
            elif review:
                self._repo.get_pull(issue).get_review_comment(comment_id).create_reaction(content)
            else:
                self._repo.get_issue(issue).get_comment(comment_id).create_reaction(content)

        self._call(f"add the {content} reaction", work)

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
        params = {"content": content, "per_page": 100}
        _, data = self._call(
            f"read the {content} reactions",
            lambda: self._gh.requester.requestJsonAndCheck("GET", base, parameters=params),
        )
        mine = [
            r["id"]
            for r in (data if isinstance(data, list) else [])
            if isinstance(r, dict) and (r.get("user") or {}).get("login") == login
        ]
        send = self._gh.requester.requestJsonAndCheck
        for reaction_id in mine:
            self._call(f"take back the {content} reaction", partial(send, "DELETE", f"{base}/{reaction_id}"))
        return len(mine)

    def pull(self, number: int) -> PullInfo:
        """GET /repos/{repo}/pulls/{number}: its head branch and where the head lives."""

        def work() -> PullInfo:
            pull = self._repo.get_pull(number)
            head, base = pull.head, pull.base
            return PullInfo(
                head_ref=head.ref,
                head_sha=head.sha,
                head_repo=head.repo.full_name if head.repo is not None else None,
                base_repo=base.repo.full_name if base.repo is not None else None,
            )

        return self._call(f"read pull request #{number}", work)

    def branch_head(self, repository: str, branch: str) -> str:
        """GET /repos/{repository}/branches/{branch}: the SHA of the commit at the branch's head now.

        ``repository`` is ``owner/name`` (a fork's, for a task that runs there); a branch or a
        repository the token cannot see is a :class:`GitHubError` (404)."""
        url = f"{self._gh.get_repo(repository).url}/branches/{quote(branch)}"  # lazy: no request

        def work() -> str:
            _, data = self._gh.requester.requestJsonAndCheck("GET", url)
            sha = (data.get("commit") or {}).get("sha") if isinstance(data, dict) else None
            if not isinstance(sha, str) or not sha:
                raise GitHubError(f"read branch {branch}", 0, "GitHub's answer names no commit")
            return sha

        return self._call(f"read branch {branch}", work)

    def contents(self, path: str, ref: str | None = None) -> bytes | None:
        """GET /repos/{repo}/contents/{path}?ref={ref}: the file's bytes, or None when there is none (404).

        Without ``ref`` GitHub reads the repository's default branch. The JSON answer carries a
        file of up to 1 MB base64-encoded in ``content``; a bigger file (``encoding: none``), a
        directory (a list) or a symlink to one is a :class:`GitHubError`.
        """
        action, url = f"read {path}", f"{self._repo.url}/contents/{quote(path)}"
        params = {"ref": ref} if ref else None
        try:
            _, data = self._call(
                action, lambda: self._gh.requester.requestJsonAndCheck("GET", url, parameters=params)
            )
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            raise GitHubError(action, 0, "it is not a file")
        if data.get("encoding") != "base64":
            raise GitHubError(action, 0, "it is larger than the 1 MB the contents API returns")
        try:
            return base64.b64decode(str(data.get("content") or ""))
        except (binascii.Error, ValueError):
            raise GitHubError(action, 0, "GitHub's answer is not base64") from None

    def thread_markers(self, issue: int) -> list[ThreadMarker]:
        """GET /repos/{repo}/issues/{issue}/comments (every page): the markers of this action's answers.

        Only comments by bots or by people with a say in the repository are believed, so
        that nobody can point the action at a task by pasting a marker.
        """

        def work() -> list[ThreadMarker]:
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

        return self._call(f"read the comments of #{issue}", work)

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
            headers, data = self._call(
                "list the repository's comments",
                partial(self._gh.requester.requestJsonAndCheck, "GET", url, parameters=params),
            )
            for raw in data if isinstance(data, list) else []:
                found.extend(_markers_of(raw))
            link = next((v for k, v in headers.items() if k.lower() == "link"), "")
            if 'rel="next"' not in str(link):
                return found
            page += 1

    def comment(self, issue: int, body: str) -> PostedComment:
        """POST /repos/{repo}/issues/{issue}/comments. Sent again only after a rate limit (which
        GitHub did not carry out): after a 5xx or a lost answer the comment may exist already."""

        def work() -> PostedComment:
            posted = self._repo.get_issue(issue).create_comment(body)
            return PostedComment(id=posted.id, url=posted.html_url)

        return self._call(f"comment on #{issue}", work, repeatable=False)

    def edit_comment(self, issue: int, comment_id: int, body: str) -> None:
        """PATCH /repos/{repo}/issues/comments/{comment_id} (safe to repeat: the same body again)."""
        comment = self._repo.get_issue(issue).get_comment(comment_id)  # lazy: no request
        self._call("update the status comment", lambda: comment.edit(body))

    def delete_comment(self, comment_id: int) -> None:
        """DELETE /repos/{repo}/issues/comments/{comment_id}."""
        url = f"{self._repo.url}/issues/comments/{comment_id}"
        self._call("delete a comment", lambda: self._gh.requester.requestJsonAndCheck("DELETE", url))

    def create_check_run(
        self, name: str, head_sha: str, *, details_url: str, external_id: str, title: str, summary: str
    ) -> int:
        """POST /repos/{repo}/check-runs, in progress: its id. Not repeated after a 5xx (a second
        check run could appear), only after a rate limit."""

        def work() -> int:
            run = self._repo.create_check_run(
                name,
                head_sha,
                details_url=details_url,
                external_id=external_id,
                status="in_progress",
                output={"title": title, "summary": summary},
            )
            return run.id

        return self._call("create the check run", work, repeatable=False)

    def update_check_run(self, check_run_id: int, *, title: str, summary: str) -> None:
        """PATCH /repos/{repo}/check-runs/{id}: new text, still in progress."""
        self._call(
            "update the check run",
            lambda: self._repo.get_check_run(check_run_id).edit(output={"title": title, "summary": summary}),
        )

    def complete_check_run(self, check_run_id: int, *, conclusion: str, title: str, summary: str) -> None:
        """PATCH /repos/{repo}/check-runs/{id}: completed, with a conclusion."""
        self._call(
            "complete the check run",
            lambda: self._repo.get_check_run(check_run_id).edit(
                status="completed", conclusion=conclusion, output={"title": title, "summary": summary}
            ),
        )


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
