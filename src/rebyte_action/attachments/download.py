"""Fetch one attachment from GitHub: with the token on GitHub's own host only, streamed, capped.

GitHub answers ``<server>/user-attachments/…`` and ``<server>/<owner>/<repo>/assets/…`` with a
302 to a short-lived signed URL on its storage (another host; the signature in the query is
its credential), or with the bytes. The token goes only to the server's own origin: a redirect
elsewhere is followed without it, and a redirect that would drop from ``https`` to ``http`` is
refused. The body is streamed and the download stops as soon as it passes the size limit, so at
most the limit and one chunk are held.
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from .. import __version__
from .links import Attachment, Origin, classify, filename_from_disposition, safe_filename

MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEADLINE_SECONDS = 300.0  # a whole download, redirects included: a trickling server is cut off
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Downloaded:
    """An attachment's bytes, with the sanitised filename and content type to upload them under."""

    data: bytes
    filename: str
    content_type: str


class DownloadFailed(Exception):
    """The attachment could not be fetched; the message says why, in words for the thread."""


def download(
    client: httpx.Client,
    attachment: Attachment,
    *,
    server_url: str,
    token: str,
    max_bytes: int,
    deadline_seconds: float = DEADLINE_SECONDS,
) -> Downloaded:
    """GET ``attachment.url`` (following up to 5 redirects by hand), at most ``max_bytes`` bytes.

    ``Authorization: Bearer <token>`` is sent only to ``server_url``'s scheme, host and port.
    Raises :class:`DownloadFailed` for an answer other than 200 (after redirects), a refused
    redirect, a body over ``max_bytes`` (told by ``Content-Length`` before reading, or while
    streaming), a transport error, or a download that outlasts ``deadline_seconds``.
    """
    if Origin.of(server_url) is None:
        raise DownloadFailed("GITHUB_SERVER_URL is not an http(s) URL")
    deadline = time.monotonic() + deadline_seconds
    url = attachment.url
    for _ in range(MAX_REDIRECTS + 1):
        if not may_fetch(server_url, url):
            raise DownloadFailed("GitHub sent it to an address it may not be fetched from (not https)")
        headers = {"User-Agent": f"rebyte-action/{__version__}", "Accept": "*/*"}
        if token and carries_token(server_url, url):
            headers["Authorization"] = f"Bearer {token}"
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.is_redirect and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    if carries_token(server_url, url) and classify(url, server_url) is None:
                        # back on GitHub but not at a file: a sign-in page or the like, not the file
                        raise DownloadFailed("GitHub did not serve it (the token may not read it)")
                    continue
                if response.status_code != 200:
                    raise DownloadFailed(f"GitHub answered HTTP {response.status_code}{_hint(response)}")
                return _read(response, attachment, max_bytes, deadline)
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # its URL may hold a signature: name the kind
            raise DownloadFailed(f"it could not be fetched ({type(error).__name__})") from None
    raise DownloadFailed(f"GitHub redirected it more than {MAX_REDIRECTS} times")


def may_fetch(server_url: str, url: str) -> bool:
    """Whether ``url`` (an attachment, or where GitHub redirected it) may be fetched: an absolute
    ``http(s)`` URL without user info, and ``https`` whenever the server is."""
    server, here = Origin.of(server_url), Origin.of(url)
    return server is not None and here is not None and (server.scheme != "https" or here.scheme == "https")


def carries_token(server_url: str, url: str) -> bool:
    """Whether a request to ``url`` may carry the GitHub token: only on the server's own scheme,
    host and port."""
    server, here = Origin.of(server_url), Origin.of(url)
    return server is not None and here is not None and here.same_site(server)


def _read(response: httpx.Response, attachment: Attachment, max_bytes: int, deadline: float) -> Downloaded:
    too_big = DownloadFailed(f"it is bigger than the limit of {describe_size(max_bytes)}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    data = bytearray()
    for chunk in response.iter_bytes(CHUNK):
        data += chunk
        if len(data) > max_bytes:
            raise too_big
        if time.monotonic() > deadline:
            raise DownloadFailed("it took too long to download")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return Downloaded(bytes(data), _filename(attachment, response, content_type), content_type)


def _filename(attachment: Attachment, response: httpx.Response, content_type: str) -> str:
    """A file keeps the name in its URL; an image takes the one its storage gives, else its id
    with the extension its content type implies."""
    if attachment.kind == "file":
        return safe_filename(attachment.name)
    given = filename_from_disposition(response.headers.get("Content-Disposition"))
    extension = (mimetypes.guess_extension(content_type) or "") if content_type else ""
    return safe_filename(given or attachment.name, fallback=attachment.name, extension=extension)


def _hint(response: httpx.Response) -> str:
    if response.status_code == 404:
        return " (not found: deleted, or not readable with the workflow's token)"
    if response.status_code in (401, 403):
        return " (the workflow's token may not read it)"
    return ""


def describe_size(size: int) -> str:
    """``20 MB``, ``512 KB`` or ``100 bytes`` (1 MB = 1,048,576 bytes)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"
