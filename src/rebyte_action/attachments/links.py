"""Which links in a request are files GitHub hosts as attachments, found where a reader sees them.

Pure: text and the server's URL in, :class:`Attachment` values out. What people drop into an
issue, a pull request or a comment, GitHub stores under its own web host (``GITHUB_SERVER_URL``,
``https://github.com`` or a GitHub Enterprise Server's), in three shapes:

- ``<server>/user-attachments/assets/<id>``: images and videos (``<img src="…">`` or ``![](…)``);
- ``<server>/user-attachments/files/<number>/<name>``: other files (``[name](…)``);
- ``<server>/<owner>/<repo>/assets/<user id>/<id>``: images uploaded before user-attachments.

Only links on the server's own origin (scheme, host and port; never an ``http://`` link when the
server is ``https://``, never a link with a user name or password) whose path is exactly one of
those shapes count: anything else (another host, a lookalike host, ``..`` or percent-encoded
separators in the path) is not an attachment, is never fetched, and never sees the token. The
URL fetched is rebuilt from the server's origin and the checked path, never taken as written.

Links count where a reader sees them (:func:`~rebyte_action.markdown.strip_hidden` first, then
markdown-it-py's tokens): Markdown links and images, autolinks, bare URLs (GitHub links those
too), and the ``src`` of ``<img>`` and ``href`` of ``<a>`` tags; never text in code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from ..markdown import strip_hidden

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

Kind = Literal["asset", "file", "repository asset"]

ASSET = re.compile(r"/user-attachments/assets/(?P<id>[0-9A-Za-z][0-9A-Za-z-]{0,99})")
FILE = re.compile(
    r"/user-attachments/files/(?P<number>[0-9]{1,20})/(?P<name>[0-9A-Za-z._~!$&'()*+,;=:@%-]{1,300})"
)
REPOSITORY_ASSET = re.compile(
    r"/(?P<owner>[0-9A-Za-z](?:[0-9A-Za-z-]{0,38}))/(?P<repo>[0-9A-Za-z._-]{1,100})"
    r"/assets/(?P<user>[0-9]{1,20})/(?P<id>[0-9A-Za-z][0-9A-Za-z-]{0,99})"
)
# A bare URL as GitHub links it (GFM's extended autolinks): up to whitespace or `<`.
BARE_URL = re.compile(r"https?://[^\s<]+", re.IGNORECASE)
TRAILING_PUNCTUATION = "?!.,:*_~'\""
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a sanitised filename keeps besides letters and digits; everything else becomes `_`.
FILENAME_KEEPS = frozenset("._-+()@,=")
MAX_FILENAME = 200  # Rebyte takes 255 and adds a short suffix to make the name unique


@dataclass(frozen=True)
class Attachment:
    """A file GitHub hosts for the request: what to fetch and what the link calls it.

    ``url`` is the server's origin and the checked path (no query, no fragment); ``name`` is the
    filename the URL gives (a file's last segment, decoded) or, for an image, its id; ``link``
    is the URL as the request wrote it, for messages.
    """

    url: str
    kind: Kind
    name: str
    link: str


@dataclass(frozen=True)
class Origin:
    """A URL's scheme, host (lower case) and port (the scheme's default when not written)."""

    scheme: str
    host: str
    port: int
    path: str = ""  # the server's path prefix, without a trailing slash (GHES serves at its root)

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an absolute ``http(s)`` URL without user info; None for anything else."""
        if any(c in url for c in "\\\t\r\n ") or any(unicodedata.category(c) == "Cc" for c in url):
            return None
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # a port that is not a number, or out of range
            return None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
            return None
        return cls(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], parts.path.rstrip("/"))

    @property
    def base(self) -> str:
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.path}"

    def same_site(self, other: Origin) -> bool:
        """Same scheme, host and port: where the token may go."""
        return (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)


def classify(url: str, server_url: str) -> Attachment | None:
    """``url`` as an attachment on ``server_url``'s host, or None when it is not one.

    The scheme, host and port must be the server's exactly (the host compared case aside, the
    port with the scheme's default filled in); the path must be the server's path prefix and
    then exactly one of the three shapes, with nothing that could climb out of it (``.``,
    ``..``, an encoded ``/`` or ``\\``). Query and fragment are dropped.
    """
    server, found = Origin.of(server_url), Origin.of(url)
    if server is None or found is None or not server.same_site(found):
        return None
    path = urlsplit(url).path
    if not path.startswith(server.path + "/"):
        return None
    path = path[len(server.path) :]
    if match := ASSET.fullmatch(path):
        return Attachment(server.base + path, "asset", match["id"], url)
    if match := FILE.fullmatch(path):
        name = _decoded(match["name"])
        if not name or name in (".", "..") or any(c in name for c in "/\\") or _has_control(name):
            return None
        return Attachment(server.base + path, "file", name, url)
    if (match := REPOSITORY_ASSET.fullmatch(path)) and match["repo"] not in (".", ".."):
        return Attachment(server.base + path, "repository asset", match["id"], url)
    return None


def find_attachments(text: str, server_url: str) -> list[Attachment]:
    """The attachments ``text`` links to where a reader sees them, in order, each once."""
    found: dict[str, Attachment] = {}
    for url in link_targets(text):
        attachment = classify(url, server_url)
        if attachment is not None and attachment.url not in found:
            found[attachment.url] = attachment
    return list(found.values())


def link_targets(text: str) -> list[str]:
    """Every URL a reader of ``text``'s rendering sees as a link or an image, in order.

    Hidden text is gone first (:func:`~rebyte_action.markdown.strip_hidden`: HTML comments,
    attributes other than ``href`` and ``src``...); then Markdown links and images, autolinks,
    bare ``http(s)://`` URLs outside code and links, and ``<img src>`` and ``<a href>``.
    """
    visible = strip_hidden(text)
    if "://" not in visible:
        return []
    parser = _parser()
    targets: list[str] = []
    for token in parser.parse(visible):
        if token.type == "html_block":
            targets += _html_targets(token.content, parser)
        elif token.type == "inline":
            targets += _inline_targets(token.children or [], parser)
    return targets


def _inline_targets(children: list[Token], parser: MarkdownIt) -> list[str]:
    targets: list[str] = []
    in_link = 0
    for child in children:
        if child.type == "link_open":
            in_link += 1
            targets.append(str(child.attrs.get("href", "")))
        elif child.type == "link_close":
            in_link -= 1
        elif child.type == "image":
            targets.append(str(child.attrs.get("src", "")))
        elif child.type == "html_inline":
            targets += _html_targets(child.content, parser)
        elif child.type == "text" and not in_link:
            targets += [parser.normalizeLink(url) for url in bare_urls(child.content)]
    return [t for t in targets if t]


def bare_urls(text: str) -> list[str]:
    """The ``http(s)://`` URLs in plain text, trailing punctuation and unmatched ``)`` left out,
    as GitHub's extended autolinks end them."""
    urls = []
    for match in BARE_URL.finditer(text):
        url = match.group(0)
        while url and (
            url[-1] in TRAILING_PUNCTUATION or (url.endswith(")") and url.count(")") > url.count("("))
        ):
            url = url[:-1]
        urls.append(url)
    return urls


class _Tags(HTMLParser):
    """The ``src`` of ``<img>`` tags and the ``href`` of ``<a>`` tags, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"img": "src", "a": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.targets.append(value.strip())


def _html_targets(html: str, parser: MarkdownIt) -> list[str]:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    return [parser.normalizeLink(t) for t in tags.targets if parser.validateLink(t)]


def filename_from_disposition(header: str | None) -> str | None:
    """The filename a ``Content-Disposition`` header gives (RFC 6266: ``filename*`` wins), or None."""
    if not header:
        return None
    from email.message import Message
    from email.utils import collapse_rfc2231_value

    message = Message()
    message["Content-Disposition"] = header
    params = message.get_params([], header="content-disposition")
    found = [value for name, value in params if name == "filename"]
    found.sort(key=lambda value: not isinstance(value, tuple))  # filename*= (decoded to a tuple) first
    return (collapse_rfc2231_value(found[0]).strip() or None) if found else None


def safe_filename(name: str, *, fallback: str = "attachment", extension: str = "") -> str:
    """``name`` fit to be ``/code/<name>`` in the task's VM, and to be read in a prompt.

    Only the last path segment is kept; letters and digits (any script, NFC) and ``._-+()@,=``
    stay, anything else (separators, spaces, quotes, backticks, control characters) becomes
    ``_``; leading dots go (no hidden files, no ``..``); at most 200 characters, the extension
    kept. ``extension`` (e.g. ``.png``, from the content type) is added when the name has none.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isalnum() or c in FILENAME_KEEPS else "_" for c in name)
    cleaned = re.sub(r"_{2,}", "_", cleaned).lstrip(".").strip("_ ")
    if not cleaned or not any(c.isalnum() for c in cleaned):
        cleaned = fallback
    if extension and not PurePosixPath(cleaned).suffix:
        cleaned += extension
    if len(cleaned) > MAX_FILENAME:
        suffix = PurePosixPath(cleaned).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        cleaned = cleaned[: MAX_FILENAME - len(suffix)] + suffix
    return cleaned


def _decoded(segment: str) -> str:
    """A path segment percent-decoded (UTF-8); "" when an escape is malformed or encodes a
    separator (``%2F``, ``%5C``) or a NUL."""
    for match in re.finditer(r"%(.{0,2})", segment):
        code = match.group(1).upper()
        if not re.fullmatch(r"[0-9A-F]{2}", code) or code in ("2F", "5C", "00"):
            return ""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return ""


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in text)


@cache
def _parser() -> MarkdownIt:
    """CommonMark with HTML, as :mod:`~rebyte_action.markdown` reads it; imported on first use."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")
