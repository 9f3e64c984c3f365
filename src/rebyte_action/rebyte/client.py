"""The Rebyte v1 API client: one :class:`RebyteClient` on one ``httpx.Client``.

This module is the API's calls: their arguments checked, their requests built, their answers
parsed into :mod:`.models`. Sending, retrying and turning failures into errors is
:mod:`.transport`'s.
"""

from __future__ import annotations

import mimetypes
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError

from .errors import UnexpectedResponse, WaitTimeout
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

# Re-exported: the retry policy is the client's public knob (rebyte/__init__.py names it here).
from .transport import NO_RETRY as NO_RETRY
from .transport import Clock, Sleep, Transport, _display
from .transport import RetryPolicy as RetryPolicy
from .wire import Answer

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

FileLike = FileRef | Upload | Mapping[str, str]
ModelT = TypeVar("ModelT", bound=BaseModel)


class RebyteClient(Transport):
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
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen, so one default is safe to share)
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
        base = (base_url or os.environ.get("REBYTE_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        super().__init__(
            key=SecretStr(key),
            # Every path carries /v1 already; a base URL given with it would double it.
            base_url=base.removesuffix("/v1"),
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            clock=clock,
            rng=rng,
            transport=transport,
        )
        self.create_timeout = create_timeout

    def __repr__(self) -> str:
        return f"RebyteClient(base_url={self.base_url!r})"

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
