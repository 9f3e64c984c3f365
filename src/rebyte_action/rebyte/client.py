"""The Rebyte v1 API client: one :class:`RebyteClient` on one ``httpx.Client``."""

from __future__ import annotations

import email.utils
import json as json_text
import logging
import mimetypes
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from .. import __version__
from .errors import (
    ERRORS_BY_CODE,
    ERRORS_BY_STATUS,
    APIError,
    LimitExceededError,
    RebyteError,
    ServerError,
    TransportError,
    UnexpectedResponse,
    WaitTimeout,
)
from .limits import MAX_PROMPT_CHARS
from .models import (
    KNOWN_VISIBILITIES,
    CreatedTask,
    Executor,
    FileRef,
    FollowUp,
    Task,
    TaskPage,
    TaskStatus,
    TaskSummary,
    Upload,
    Visibility,
    VisibilityChange,
)
from .wire import Answer, PlainHTTP, plain

DEFAULT_BASE_URL = "https://api.rebyte.ai"


def check_base_url(url: str) -> str:
    """``url`` stripped when it is an http:// or https:// URL with a host; ValueError saying so otherwise."""
    cleaned = url.strip()
    parts = urlsplit(cleaned)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in cleaned:
        raise ValueError(f"must be an http:// or https:// URL, like the default {DEFAULT_BASE_URL}")
    return cleaned


MAX_FILENAME_CHARS = 255
MAX_PAGE_SIZE = 100
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_CREATE_TIMEOUT = 600.0  # creating a task blocks until its VM is up
GITHUB_REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
BASE_HEADERS = {"User-Agent": f"rebyte-action/{__version__}", "Accept": "application/json"}

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
FileLike = FileRef | Upload | Mapping[str, str]
ModelT = TypeVar("ModelT", bound=BaseModel)


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


class RebyteClient:
    """A client for the Rebyte v1 API.

    ``api_key`` defaults to ``$REBYTE_API_KEY`` and ``base_url`` to ``$REBYTE_BASE_URL``,
    then to ``https://api.rebyte.ai``. Every API call sends the key in the ``API_KEY``
    header; the key is never sent anywhere else (not to an upload URL) and never appears
    in a repr, a log line or an exception.

    Use it as a context manager, or call :meth:`close`, to release its connections.
    ``sleep``, ``clock`` and ``rng`` exist so tests can observe waits without waiting.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        create_timeout: float = DEFAULT_CREATE_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("REBYTE_API_KEY", "")
        key = key.strip()
        if not key:
            raise ValueError(
                "api_key: no Rebyte API key given; pass api_key= or set REBYTE_API_KEY "
                "(keys look like rbk_..., from https://app.rebyte.ai/settings/api-keys)"
            )
        self._key = SecretStr(key)
        base = (base_url or os.environ.get("REBYTE_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        # Every path carries /v1 already; a base URL given with it would double it.
        self.base_url = base.removesuffix("/v1")
        self.retry = retry
        self.create_timeout = create_timeout
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._timeout = timeout
        self._timeouts = httpx.Timeout(timeout)
        self._transport = transport
        self._client: httpx.Client | None = None
        self._plain = PlainHTTP()  # http:// without httpx's layers (wire.py); nothing opened yet

    def __repr__(self) -> str:
        return f"RebyteClient(base_url={self.base_url!r})"

    def __enter__(self) -> RebyteClient:
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

    # -- files -----------------------------------------------------------------------

    def upload_file(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Upload:
        """Upload a file for a later task: ``POST /v1/files``, then ``PUT`` of the bytes.

        ``source`` is a path or the bytes themselves (then ``filename`` is required). The
        returned :class:`Upload` carries the uniquified filename to pass to
        :meth:`create_task` (``files=[upload]``).
        """
        if isinstance(source, bytes):
            if not filename:
                raise ValueError("filename: required when uploading bytes")
            data = source
        else:
            path = Path(source)
            if not path.is_file():
                raise ValueError(f"source: no such file: {path}")
            data = path.read_bytes()
            filename = filename or path.name
        _check_filename(filename)
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = self._request(
            "POST", "/v1/files", json={"filename": filename, "contentType": content_type}, idempotent=True
        )
        upload = _parse(Upload, response)
        # A signed URL: it is its own credential, and the API key must not travel to it.
        self._send(
            "PUT",
            upload.upload_url,
            content=data,
            headers={"Content-Type": content_type},
            authenticated=False,
            idempotent=True,
        )
        return upload

    # -- tasks -----------------------------------------------------------------------

    def create_task(
        self,
        prompt: str,
        *,
        executor: Executor | str | None = None,
        model: str | None = None,
        skills: Sequence[str] | None = None,
        files: Sequence[FileLike] | None = None,
        github_url: str | None = None,
        branch_name: str | None = None,
        workspace_id: str | None = None,
    ) -> CreatedTask:
        """Start a task: ``POST /v1/tasks``. Blocks until the VM is up (seconds to minutes).

        Creating a task is not idempotent: every accepted request starts a VM and costs
        money. So this call is retried only when the failure proves the request never
        reached the server (connection refused, connect timeout) or when the server
        refused it with 429 ``limit_exceeded``. After a read timeout, a dropped
        connection or a 5xx it is *not* sent again; a :class:`TransportError` with
        ``maybe_delivered=True`` (or the :class:`APIError`) is raised instead, and the
        caller should look for the task (:meth:`list_tasks`) before trying again.
        """
        body: dict[str, Any] = {"prompt": _check_prompt(prompt)}
        if executor:
            body["executor"] = str(executor)
        if model:
            body["model"] = model
        if skills:
            body["skills"] = _check_skills(skills)
        if files:
            body["files"] = [_file_ref(f).to_json_dict() for f in files]
        if github_url:
            if not GITHUB_REPO_PATTERN.match(github_url):
                raise ValueError(f"github_url: expected 'owner/repo', got {github_url!r}")
            body["githubUrl"] = github_url
        if branch_name:
            body["branchName"] = branch_name
        if workspace_id:
            body["workspaceId"] = workspace_id
        response = self._request(
            "POST", "/v1/tasks", json=body, idempotent=False, timeout=self.create_timeout
        )
        return _parse(CreatedTask, response)

    def get_task(self, task_id: str) -> Task:
        """Fetch a task with its status and prompts: ``GET /v1/tasks/{id}``."""
        return _parse(Task, self._request("GET", _task_path(task_id)))

    def list_tasks(self, *, limit: int = 50, offset: int = 0) -> TaskPage:
        """One page of tasks, newest first: ``GET /v1/tasks?limit=&offset=``."""
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit: must be a whole number from 1 to {MAX_PAGE_SIZE}, got {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset: must be a whole number of 0 or more, got {offset!r}")
        response = self._request("GET", "/v1/tasks", params={"limit": limit, "offset": offset})
        return _parse(TaskPage, response)

    def iter_tasks(self, *, page_size: int = MAX_PAGE_SIZE) -> Iterator[TaskSummary]:
        """Every task, newest first, fetching page after page as it is consumed.

        A task created while iterating shifts later pages; a task already yielded is not
        yielded again.
        """
        seen: set[str] = set()
        offset = 0
        while True:
            page = self.list_tasks(limit=page_size, offset=offset)
            for task in page.data:
                if task.id not in seen:
                    seen.add(task.id)
                    yield task
            offset += len(page.data)
            if not page.data or offset >= page.total:
                return

    def follow_up(self, task_id: str, prompt: str, *, skills: Sequence[str] | None = None) -> FollowUp:
        """Send another prompt to a task, resuming its VM: ``POST /v1/tasks/{id}/prompts``.

        Not idempotent, so retried under the same rules as :meth:`create_task`.
        """
        body: dict[str, Any] = {"prompt": _check_prompt(prompt)}
        if skills:
            body["skills"] = _check_skills(skills)
        response = self._request("POST", f"{_task_path(task_id)}/prompts", json=body, idempotent=False)
        return _parse(FollowUp, response)

    def set_visibility(self, task_id: str, visibility: Visibility | str) -> VisibilityChange:
        """Set who can see a task: ``PATCH /v1/tasks/{id}/visibility``.

        ``public`` returns a ``share_url`` anyone can open, read-only.
        """
        if str(visibility) not in KNOWN_VISIBILITIES:
            known = ", ".join(KNOWN_VISIBILITIES)
            raise ValueError(f"visibility: must be one of {known}, got {visibility!r}")
        response = self._request(
            "PATCH", f"{_task_path(task_id)}/visibility", json={"visibility": str(visibility)}
        )
        return _parse(VisibilityChange, response)

    def delete_task(self, task_id: str) -> None:
        """Soft-delete a task: ``DELETE /v1/tasks/{id}`` (204). It then answers 404.

        A success answer with a body that is not JSON (a proxy's HTML page) did not come from
        Rebyte: :class:`UnexpectedResponse`, as the task may still be there.
        """
        response = self._request("DELETE", _task_path(task_id), missing_ok_on_retry=True)
        if response.is_success and response.content.strip():
            try:
                response.json()
            except ValueError:
                raise UnexpectedResponse(
                    f"DELETE {_display(response.url)} answered HTTP {response.status_code} "
                    "with a body that is not JSON, not Rebyte's answer (a proxy or gateway answered): "
                    "the task may not be deleted",
                    status=response.status_code,
                ) from None

    def wait_for_task(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        interval: float = 2.0,
        max_interval: float = 30.0,
        growth: float = 1.5,
        on_change: Callable[[Task], None] | None = None,
    ) -> Task:
        """Poll ``GET /v1/tasks/{id}`` until the task is completed, failed or canceled.

        The first poll comes after ``interval`` seconds, and each wait grows by ``growth``
        up to ``max_interval``, so a long task costs few requests. ``on_change`` is called
        with the task on the first poll and whenever its status changes. After
        ``timeout`` seconds :class:`WaitTimeout` is raised, carrying the last task seen.
        The task's own failure is not an exception: check ``task.status``.
        """
        deadline = None if timeout is None else self._clock() + timeout
        last_status: TaskStatus | None = None
        wait = interval
        while True:
            # The caller has just seen the task (it created or read it): look again only later.
            pause = wait if deadline is None else min(wait, max(0.0, deadline - self._clock()))
            self._sleep(pause)
            wait = min(max_interval, wait * growth)
            task = self.get_task(task_id)
            if task.status != last_status:
                last_status = task.status
                if on_change is not None:
                    on_change(task)
            if task.status.is_terminal:
                return task
            if deadline is not None and deadline - self._clock() <= 0:
                raise WaitTimeout(f"task {task_id} still {task.status.value} after {timeout:g}s", task)

    # -- transport -------------------------------------------------------------------

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


def _parse(model: type[ModelT], response: Answer) -> ModelT:
    """The answer as ``model``; a body that is not that shape is an :class:`UnexpectedResponse`."""
    try:
        return model.model_validate_json(response.content)  # parsed and validated in one pass
    except (ValueError, PydanticValidationError) as error:
        first = str(error).splitlines()[0][:200]
        raise UnexpectedResponse(
            f"{response.method} {_display(response.url)} answered HTTP "
            f"{response.status_code} with a body that is not a {model.__name__}: {first}",
            status=response.status_code,
        ) from None


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


def _task_path(task_id: str) -> str:
    if not isinstance(task_id, str) or not task_id.strip():
        raise ValueError("task_id: must be a non-empty task id")
    return f"/v1/tasks/{quote(task_id.strip(), safe='')}"


def _check_prompt(prompt: str) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt: must not be empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"prompt: {len(prompt):,} characters is over the limit of {MAX_PROMPT_CHARS:,}")
    return prompt


def _check_skills(skills: Sequence[str]) -> list[str]:
    if isinstance(skills, str):
        raise ValueError("skills: must be a list of skill slugs, not one string")
    return [s.strip() for s in skills if s and s.strip()]


def _check_filename(filename: str) -> None:
    if not filename or not filename.strip():
        raise ValueError("filename: must not be empty")
    if len(filename) > MAX_FILENAME_CHARS:
        raise ValueError(f"filename: {len(filename)} characters is over the limit of {MAX_FILENAME_CHARS}")


def _file_ref(item: FileLike) -> FileRef:
    if isinstance(item, FileRef):
        return item
    if isinstance(item, Upload):
        return item.ref()
    try:
        return FileRef(id=item["id"], filename=item["filename"])
    except (KeyError, TypeError) as exc:
        raise ValueError("files: each file needs an 'id' and a 'filename' (pass the Upload itself)") from exc
