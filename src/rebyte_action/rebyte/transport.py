"""Sending one request to the Rebyte API: connections, the API key, retries, and errors.

:class:`Transport` owns the connections (a plain HTTP/1.1 path for ``http://``, one lazily
built ``httpx.Client`` for the rest), puts the key in the ``API_KEY`` header of API calls
only, sends a request again under :class:`RetryPolicy` when the failure allows it, and turns
an answer that is not a success into the error family of :mod:`.errors`, with the key
scrubbed from every message. :class:`~.client.RebyteClient` builds the API's calls on it.
"""

from __future__ import annotations

import email.utils
import json as json_text
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr

from .. import __version__
from .errors import (
    ERRORS_BY_CODE,
    ERRORS_BY_STATUS,
    APIError,
    LimitExceededError,
    RebyteError,
    ServerError,
    TransportError,
)
from .wire import Answer, PlainHTTP, plain

BASE_HEADERS = {"User-Agent": f"rebyte-action/{__version__}", "Accept": "application/json"}

# The client's log, under the name it has always had (the retries are logged here).
log = logging.getLogger("rebyte_action.rebyte.client")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    A failed attempt is retried after ``backoff * 2**(n-1)`` seconds (capped at
    ``max_backoff``, minus up to ``jitter`` of it at random), or after the server's
    ``Retry-After`` when it sent one (capped at ``max_retry_after``). Retrying stops after
    ``max_attempts`` attempts in all, or when the next wait would pass ``max_total``
    seconds since the first attempt; the last error is then raised.
    """

    max_attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_total: float = 60.0
    max_retry_after: float = 60.0
    jitter: float = 0.5

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return base * (1 - self.jitter * rng.random())


NO_RETRY = RetryPolicy(max_attempts=1)

# Status codes after which a request is worth sending again (the contract's transient ones).
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# httpx errors raised before a single byte of the request could reach the server.
NEVER_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# httpx errors raised while the request is being built: it can never be sent, so neither
# delivered nor worth sending again (a base URL without http(s)://, a malformed URL or header).
UNSENDABLE_ERRORS = (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError)


class Transport:
    """The sending half of :class:`~.client.RebyteClient`: its connections, retries and errors.

    ``key`` is sent in the ``API_KEY`` header of every request it authenticates and never
    appears in a message; ``sleep``, ``clock`` and ``rng`` let tests observe waits without
    waiting.
    """

    def __init__(
        self,
        *,
        key: SecretStr,
        base_url: str,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy,
        sleep: Sleep,
        clock: Clock,
        rng: random.Random | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self._key = key
        self.base_url = base_url
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._timeout = timeout
        self._timeouts = httpx.Timeout(timeout)
        self._transport = transport
        self._client: httpx.Client | None = None
        self._plain = PlainHTTP()  # http:// without httpx's layers (wire.py); nothing opened yet

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._plain.close()
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def _http(self) -> httpx.Client:
        """The one ``httpx.Client``, built when the first request that needs it is due (a run
        that sends none pays nothing): every ``https://`` request, every request through a
        ``transport`` given, and a plain ``http://`` one only when its URL or a header is not
        printable ASCII (the rest go on :class:`~.wire.PlainHTTP`). Over ``http://`` (the emulator,
        a local proxy) no CA bundle is loaded: plain connections get a transport without TLS,
        and an ``https://`` URL (an upload's) still gets the verifying default, built on its
        first use."""
        if self._client is None:
            mounts = None
            if self._transport is None and self.base_url.startswith("http://"):
                mounts = {"http://": httpx.HTTPTransport(verify=False), "https://": _LazyTLSTransport()}
            self._client = httpx.Client(
                timeout=self._timeout,
                transport=self._transport or (_LazyTLSTransport() if mounts else None),
                mounts=mounts,
                headers=BASE_HEADERS,
                follow_redirects=False,
            )
        return self._client

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        timeout: float | None = None,
        missing_ok_on_retry: bool = False,
    ) -> Answer:
        return self._send(
            method,
            self.base_url + path,
            json=json,
            params=params,
            idempotent=idempotent,
            timeout=timeout,
            missing_ok_on_retry=missing_ok_on_retry,
        )

    def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        idempotent: bool = True,
        timeout: float | None = None,
        missing_ok_on_retry: bool = False,
    ) -> Answer:
        request_headers = dict(headers or {})
        if authenticated:
            request_headers["API_KEY"] = self._key.get_secret_value()
        # Plain http:// with nothing unusual goes on PlainHTTP: the same request as httpx's
        # (its JSON encoding, the client's headers), a fraction of the CPU (wire.py says why).
        fast = self._transport is None and plain(url, request_headers)
        if fast:
            body = content
            if json is not None:
                body = json_text.dumps(
                    json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
                ).encode()
                request_headers.setdefault("Content-Type", "application/json")
            if params:
                url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, quote_via=quote)}"
            request_headers = {**BASE_HEADERS, **request_headers}
            timeouts = self._timeouts if timeout is None else httpx.Timeout(timeout)
        started = self._clock()
        attempt = 0
        maybe_delivered_before = False
        while True:
            attempt += 1
            error: RebyteError
            retry_after: float | None = None
            try:
                if fast:
                    response = self._plain.send(method, url, request_headers, body, timeouts)
                else:
                    response = Answer.from_httpx(
                        self._http.request(
                            method,
                            url,
                            json=json,
                            params=params,
                            content=content,
                            headers=request_headers,
                            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                        )
                    )
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                unsendable = isinstance(exc, UNSENDABLE_ERRORS)
                never_sent = unsendable or isinstance(exc, NEVER_SENT_ERRORS)
                error = TransportError(
                    self._scrub(f"{method} {_display(url)} failed: {type(exc).__name__}: {exc}"),
                    maybe_delivered=not never_sent,
                )
                retryable = not unsendable and (never_sent or idempotent)
                log.debug("%s %s: %s (attempt %d)", method, _display(url), type(exc).__name__, attempt)
            else:
                log.debug("%s %s -> %d (attempt %d)", method, _display(url), response.status_code, attempt)
                if response.is_success:
                    return response
                if response.status_code == 404 and missing_ok_on_retry and maybe_delivered_before:
                    return response
                error = self._error_from(response)
                retry_after = _retry_after(response)
                retryable = response.status_code in RETRYABLE_STATUSES and (
                    idempotent or response.status_code == 429
                )
            if not isinstance(error, TransportError) or error.maybe_delivered:
                maybe_delivered_before = True
            if not retryable or attempt >= self.retry.max_attempts:
                raise error
            delay = self.retry.delay(attempt, retry_after, self._rng)
            if self._clock() + delay - started > self.retry.max_total:
                raise error
            log.info("retrying %s %s in %.1fs after: %s", method, _display(url), delay, error)
            self._sleep(delay)

    def _error_from(self, response: Answer) -> APIError:
        status = response.status_code
        request_id = response.headers.get("x-request-id")
        code: str | None = None
        message: str | None = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code") if isinstance(body["error"].get("code"), str) else None
            raw_message = body["error"].get("message")
            message = raw_message if isinstance(raw_message, str) else None
        if message is None:
            message = _describe_foreign_body(response)
        cls = ERRORS_BY_CODE.get(code or "") or ERRORS_BY_STATUS.get(status)
        if cls is None:
            cls = ServerError if status >= 500 else APIError
        message = self._scrub(message)
        if code is None and status not in _CODED_STATUSES:
            code = f"http_{status}"
        if issubclass(cls, LimitExceededError):
            return cls(
                message, status=status, code=code, request_id=request_id, retry_after=_retry_after(response)
            )
        return cls(message, status=status, code=code, request_id=request_id)

    def _scrub(self, text: str) -> str:
        key = self._key.get_secret_value()
        # As written, and as a repr shows it (httpx names a header value it refuses as bytes).
        for shown in (key, repr(key)[1:-1], repr(key.encode("utf-8", "backslashreplace"))[2:-1]):
            if shown:
                text = text.replace(shown, "***")
        return text


_CODED_STATUSES = frozenset({400, 401, 404, 429, 500})


class _LazyTLSTransport(httpx.BaseTransport):
    """httpx's default (verifying) transport, made when a request first needs it."""

    def __init__(self) -> None:
        self._inner: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = httpx.HTTPTransport()
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def _describe_foreign_body(response: Answer) -> str:
    """A message for an error answer that is not the contract's JSON (a proxy, a gateway)."""
    reason = response.reason_phrase or "error"
    content_type = response.headers.get("content-type", "")
    if "html" in content_type or response.text.lstrip().startswith("<"):
        return f"{reason} (an HTML page, not a Rebyte error body: a proxy or gateway answered)"
    snippet = " ".join(response.text.split())[:200]
    if not snippet:
        return f"{reason} (empty body)"
    return f"{reason}: {snippet}"


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _display(url: str) -> str:
    """A URL fit for logs: no query string (an upload URL's signature lives there)."""
    return url.split("?", 1)[0]
