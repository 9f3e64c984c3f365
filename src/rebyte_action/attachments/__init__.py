"""The request's attachments in the task: found, fetched from GitHub, uploaded to Rebyte, named.

Which text is the request (:func:`request_text`), which of its links are GitHub attachments
(:mod:`.links`, pure), fetching one (:mod:`.download`), and here the whole of it for one new
task (:func:`gather`): at most :data:`MAX_FILES` files, each at most the size limit, each
uploaded with ``POST /v1/files`` and the ``PUT`` of its bytes, one at a time (only one file's
bytes are held at once). A file that cannot be fetched or is too big is named, and the task
still starts.

It runs only when a task is created (``verbs/start.py``): never on a skip, a refusal, a verb or
a re-run, and never for a follow-up, since Rebyte takes files only when a task starts
(``POST /v1/tasks``; ``POST /v1/tasks/{id}/prompts`` has no ``files``). A follow-up's answer
names the attachments it did not carry (:func:`left_out`), without fetching them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .links import Attachment, find_attachments

if TYPE_CHECKING:
    from ..decide import Plan
    from ..events import Trigger
    from ..rebyte import RebyteClient
    from ..rebyte.models import Upload
    from ..report import TaskFacts
    from ..session import Session

__all__ = ["MAX_FILES", "Gathered", "NotAttached", "find_attachments", "gather", "left_out", "request_text"]

MAX_FILES = 10
FOLLOW_UP = (
    "a follow-up carries no files (Rebyte takes them only when a task starts); "
    "`--new` starts a task with them"
)


@dataclass(frozen=True)
class NotAttached:
    """An attachment the task does not get: its link (as fetched) and why, in words."""

    link: str
    reason: str

    def line(self) -> str:
        """``<link>: reason``, as the answer shows it (an autolink, safe in a table cell)."""
        return f"<{self.link}>: {self.reason}"


@dataclass(frozen=True)
class Gathered:
    """What a new task gets: the uploads to pass in ``files``, their ``(/code/<name>, link)``
    pairs for the prompt and the answer, and what was left out."""

    uploads: tuple[Upload, ...] = ()
    attached: tuple[tuple[str, str], ...] = ()
    not_attached: tuple[NotAttached, ...] = ()

    def prompt(self, trigger: Trigger | None, plan: Plan) -> str:
        """``plan``'s prompt, built again with the files named after the request when there are any."""
        if not (self.attached or self.not_attached) or trigger is None or not plan.request:
            return plan.prompt
        from ..prompt import build_prompt

        missing = [(item.link, item.reason) for item in self.not_attached]
        return build_prompt(
            trigger,
            plan.request,
            branch=plan.branch,
            files=self.attached,
            not_attached=missing,
            repository=plan.github_url,
        )

    def named(self, facts: TaskFacts) -> TaskFacts:
        """``facts`` with the files the task got and those it did not, for the answer."""
        return replace(
            facts,
            files=tuple(path for path, _ in self.attached),
            not_attached=tuple(item.line() for item in self.not_attached),
        )


def request_text(trigger: Trigger) -> str:
    """The text whose links are the request's files: the comment (all of it) for a comment, the
    issue's or pull request's description for a label, the prompt input in direct mode."""
    if trigger.kind in ("comment", "review_comment") and trigger.comment is not None:
        return trigger.comment.body
    if trigger.kind == "label" and trigger.subject is not None:
        return trigger.subject.body
    if trigger.kind == "direct":
        return trigger.text
    return ""


def found(session: Session) -> list[Attachment]:
    """The request's attachments on GITHUB_SERVER_URL's host, in order; none when the
    ``attachments`` input is off."""
    settings, trigger = session.settings, session.trigger
    if not settings.attachments or trigger is None:
        return []
    return find_attachments(request_text(trigger), settings.server_url)


def gather(session: Session, rebyte: RebyteClient, links: list[Attachment] | None = None) -> Gathered:
    """Fetch the request's first :data:`MAX_FILES` attachments (``links``, when the request is not
    this run's trigger: a queued one) and upload each to Rebyte.

    GitHub is asked with the step's token (on its own host only; :mod:`.download`); a file that
    cannot be fetched, is over ``settings.attachment_max_bytes`` or comes after the tenth is in
    ``not_attached``. After Rebyte refuses an upload, the rest are not tried (the task's create
    says what is wrong with Rebyte, once). Never raises for a file.
    """
    attachments = found(session) if links is None else links
    if not attachments:
        return Gathered()
    import httpx

    from ..rebyte import RebyteError
    from .download import TIMEOUT, DownloadFailed, download

    settings = session.settings
    token = settings.github_token.get_secret_value() if settings.github_token else ""
    uploads: list[Upload] = []
    attached: list[tuple[str, str]] = []
    missing: list[NotAttached] = []
    refused: str | None = None
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        for attachment in attachments[:MAX_FILES]:
            if refused is not None:
                missing.append(NotAttached(attachment.url, refused))
                continue
            try:
                fetched = download(
                    client,
                    attachment,
                    server_url=settings.server_url,
                    token=token,
                    max_bytes=settings.attachment_max_bytes,
                )
            except DownloadFailed as error:
                session.workflow.warning(f"Not attached: {attachment.url}: {error}")
                missing.append(NotAttached(attachment.url, str(error)))
                continue
            try:
                upload = rebyte.upload_file(
                    fetched.data, filename=fetched.filename, content_type=fetched.content_type or None
                )
            except RebyteError as error:
                refused = f"Rebyte refused the upload ({session.scrub(str(error))})"
                session.workflow.warning(f"Not attached: {attachment.url}: {refused}")
                missing.append(NotAttached(attachment.url, refused))
                continue
            del fetched  # one file's bytes at a time
            uploads.append(upload)
            attached.append((f"/code/{upload.filename}", attachment.url))
            session.workflow.log(f"Attached {attachment.url} as /code/{upload.filename}")
    missing += _named(attachments[MAX_FILES:], f"only the first {MAX_FILES} files of a request are attached")
    return Gathered(tuple(uploads), tuple(attached), tuple(missing))


def left_out(session: Session) -> tuple[NotAttached, ...]:
    """A follow-up's attachments, each named as not carried; nothing is fetched."""
    return tuple(_named(found(session), FOLLOW_UP))


def _named(attachments: list[Attachment], reason: str) -> list[NotAttached]:
    """At most :data:`MAX_FILES` of ``attachments`` named with ``reason``; the last one says how
    many more there are, so that a request with hundreds of links keeps its answer short."""
    named = [NotAttached(a.url, reason) for a in attachments[:MAX_FILES]]
    if len(attachments) > MAX_FILES:
        more = len(attachments) - MAX_FILES
        named[-1] = NotAttached(named[-1].link, f"{reason} (and {more} more attachment links, not named)")
    return named
