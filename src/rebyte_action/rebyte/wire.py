"""The client's requests on the wire: an :class:`Answer`, and plain HTTP without httpx's layers.

A ``get_task`` through ``httpx.Client`` spends most of its CPU in httpx's request and response
objects (URL parsing, header normalisation, the cookie jar) and in httpcore and h11, not in the
network. Over plain ``http://`` (the emulator, a proxy or gateway on the same machine), where no
TLS hides that cost, :class:`PlainHTTP` sends the same request on the standard library's
``http.client``, one kept-alive connection per host, and raises the httpx exception httpx
would have raised (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``...), so the
client's retry rules read both alike. ``https://``, a transport given by the caller, and any
URL or header value that is not plain printable ASCII still go through httpx.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx


class Answer:
    """One HTTP answer, read whole: what the client looks at, whichever way it came.

    ``headers`` has lower-case names. ``method`` and ``url`` are the request's (for messages).
    """

    __slots__ = ("content", "headers", "method", "reason_phrase", "status_code", "url")

    def __init__(
        self,
        status_code: int,
        reason_phrase: str,
        headers: dict[str, str],
        content: bytes,
        method: str,
        url: str,
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.content = content
        self.method = method
        self.url = url

    @classmethod
    def from_httpx(cls, response: httpx.Response) -> Answer:
        headers = {name.lower(): value for name, value in response.headers.items()}
        request = response.request
        return cls(
            response.status_code,
            response.reason_phrase,
            headers,
            response.content,
            request.method,
            str(request.url),
        )

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content)


def plain(url: str, headers: Mapping[str, str]) -> bool:
    """Whether :class:`PlainHTTP` can send this: an ``http://`` URL with a host, and it and every
    header value printable ASCII (anything else goes to httpx, which judges it as it always has)."""
    if not url.startswith("http://") or not _printable(url) or " " in url:
        return False
    return all(_printable(value) for value in headers.values())


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


class PlainHTTP:
    """HTTP/1.1 over plain TCP with the standard library, connections kept alive per host.

    Thread-safe: a request takes an idle connection (or opens one) and gives it back after the
    answer, unless the server said it would close it. A connection found readable while idle
    (closed by the server, or holding bytes nobody asked for) is dropped, as httpcore does.
    """

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: httpx.Timeout
    ) -> Answer:
        """Send one request (``url`` passed :func:`plain`) and read the whole answer.

        Raises httpx's ``UnsupportedProtocol`` or ``InvalidURL`` before anything is sent,
        ``ConnectError``/``ConnectTimeout`` when no connection could be made, and
        ``WriteError``/``WriteTimeout``, ``ReadError``/``ReadTimeout`` or ``RemoteProtocolError``
        once the request may have reached the server.
        """
        parts = urlsplit(url)
        try:
            host, port = parts.hostname, parts.port or 80
        except ValueError as error:
            raise httpx.InvalidURL(str(error)) from None
        if not host:
            raise httpx.UnsupportedProtocol(f"Request URL is missing a host: {url.split('?', 1)[0]!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        authority = parts.netloc.rpartition("@")[2].removesuffix(":80")  # the Host header, as httpx sends it
        connection = self._take(host, port)
        if connection is None:
            connection = http.client.HTTPConnection(host, port, timeout=timeout.connect)
            try:
                connection.connect()
            except TimeoutError as error:
                raise httpx.ConnectTimeout(str(error) or "timed out") from None
            except OSError as error:
                raise httpx.ConnectError(str(error)) from None
        try:
            answer = self._exchange(connection, method, target, authority, headers, body, timeout)
        except BaseException:
            connection.close()
            raise
        if connection.sock is None:  # the server said it would close it (Connection: close)
            connection.close()
        else:
            with self._lock:
                self._idle.setdefault((host, port), []).append(connection)
        answer.url = url
        return answer

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        authority: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: httpx.Timeout,
    ) -> Answer:
        sock = connection.sock
        assert sock is not None
        sock.settimeout(timeout.write)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", authority)
            for name, value in headers.items():
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
        except TimeoutError as error:
            raise httpx.WriteTimeout(str(error) or "timed out") from None
        except OSError as error:
            raise httpx.WriteError(str(error)) from None
        sock.settimeout(timeout.read)
        try:
            response = connection.getresponse()
            content = response.read()
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out") from None
        except http.client.HTTPException as error:  # RemoteDisconnected among them: no answer came
            raise httpx.RemoteProtocolError(f"{type(error).__name__}: {error}") from None
        except OSError as error:
            raise httpx.ReadError(str(error)) from None
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, response.reason, answer_headers, content, method, "")

    def _take(self, host: str, port: int) -> http.client.HTTPConnection | None:
        """An idle connection to ``host:port`` still fit to send on, or None."""
        with self._lock:
            idle = self._idle.get((host, port))
            while idle:
                connection = idle.pop()
                if connection.sock is not None and not _readable(connection.sock):
                    return connection
                connection.close()
        return None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read: the server closed it, or sent unasked bytes."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True
