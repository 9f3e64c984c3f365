"""A local, in-memory emulator of the Rebyte v1 API, on the standard library's HTTP server.

It serves every endpoint of the contract with the same shapes, statuses and error bodies,
so the seed's curl examples and this package's client run against it unchanged apart
from the base URL. Tasks follow a lifecycle driven by the wall clock (no background
threads), prompts may carry ``[emulate:...]`` directives, and faults can be injected at
start or at run time for retry tests.

    with Emulator(EmulatorConfig(task_seconds=0.2)) as emulator:
        client = RebyteClient("rbk_test", base_url=emulator.url)
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..loopback import BackgroundServer, QuietServer
from .client import GITHUB_REPO_PATTERN, MAX_FILENAME_CHARS, MAX_PAGE_SIZE
from .limits import MAX_PROMPT_CHARS
from .models import KNOWN_EXECUTORS, KNOWN_VISIBILITIES

DIRECTIVE = re.compile(r"\[emulate:([a-z-]+)(?:=([0-9.]+))?\]")
UPLOAD_TTL_SECONDS = 3600.0
STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    404: "not_found",
    429: "limit_exceeded",
    500: "internal_error",
}


@dataclass
class Fault:
    """One injected failure, matched against ``"METHOD /path"`` of incoming API requests.

    kinds:
      - ``status``: answer ``status`` with the contract's JSON error body (a 429 carries
        ``Retry-After: retry_after``); the request has no effect.
      - ``html``: answer ``status`` with an HTML page, as a proxy or gateway would.
      - ``drop``: close the connection without an answer. With ``after=True`` the request
        is carried out first (a task really is created), then the answer is lost.
      - ``delay``: carry out the request, then wait ``seconds`` before answering (a slow
        service; a client's read timeout fires while the effect stands).
      - ``corrupt``: carry out the request, then answer 200 with a JSON body of the wrong
        shape (a service that changed under the client).
    ``match`` is a prefix of ``"METHOD /path"`` (empty: every API request); ``times`` is
    how many requests it hits (``-1``: all of them).
    """

    kind: str = "status"
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    after: bool = False
    match: str = ""
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("status", "html", "drop", "delay", "corrupt"):
            raise ValueError(f"fault kind: must be status, html, drop, delay or corrupt, got {self.kind!r}")

    @property
    def strikes_after_work(self) -> bool:
        return self.kind in ("delay", "corrupt") or (self.kind == "drop" and self.after)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"fault: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)


@dataclass
class EmulatorConfig:
    """How the emulator behaves; every field can be set from ``rebyte emulator`` flags."""

    key_prefix: str = "rbk_"
    task_seconds: float = 2.0
    provision_seconds: float = 0.0
    latency: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    seed: int | None = None
    app_url: str = "https://app.rebyte.ai"
    faults: list[Fault] = field(default_factory=list)
    # The account's limit: 0 is none; N refuses a create (429 limit_exceeded) while N tasks run.
    max_running: int = 0


@dataclass
class _Prompt:
    id: str
    text: str
    skills: list[str]
    submitted_at: float
    starts_at: float
    ends_at: float  # inf for a prompt that never finishes
    outcome: str

    def status(self, now: float) -> str:
        if now < self.starts_at:
            return "pending"
        if now < self.ends_at:
            return "running"
        return self.outcome

    def completed_at(self, now: float) -> float | None:
        return self.ends_at if now >= self.ends_at else None


@dataclass
class _Task:
    id: str
    workspace_id: str
    executor: str
    model: str
    skills: list[str]
    files: list[dict[str, str]]
    github_url: str | None
    branch_name: str
    created_at: float
    title: str
    prompts: list[_Prompt] = field(default_factory=list)
    visibility: str = "shared"
    deleted: bool = False

    def status(self, now: float) -> str:
        statuses = [p.status(now) for p in self.prompts]
        if any(s in ("pending", "running") for s in statuses):
            return "running"
        return {"succeeded": "completed", "failed": "failed", "canceled": "canceled"}[statuses[-1]]

    def completed_at(self, now: float) -> float | None:
        if self.status(now) == "running":
            return None
        return self.prompts[-1].completed_at(now)


@dataclass
class _Upload:
    id: str
    filename: str
    content_type: str
    token: str
    expires_at: float
    data: bytes | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    status: int
    sent_api_key: bool


class _ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        self.headers = headers or {}


class EmulatorState:
    """The emulator's memory. Every method holds the lock: the server is threaded."""

    def __init__(self, config: EmulatorConfig):
        self.config = config
        self.lock = threading.RLock()
        self.tasks: dict[str, _Task] = {}
        self.order: list[str] = []
        self.uploads: dict[str, _Upload] = {}
        self.workspaces: set[str] = set()
        self.faults: list[Fault] = list(config.faults)
        self.requests: list[RecordedRequest] = []
        self.rng = random.Random(config.seed)

    def now(self) -> float:
        return time.time()

    # -- run-time settings -----------------------------------------------------------

    TUNABLE = ("task_seconds", "provision_seconds", "latency", "error_rate", "max_running")

    def tunables(self) -> dict[str, float]:
        with self.lock:
            return {name: getattr(self.config, name) for name in self.TUNABLE}

    def tune(self, changes: Any) -> None:
        """Change how the emulator behaves from now on (``PATCH /_emulator/config``)."""
        if not isinstance(changes, dict):
            raise ValueError("config: expected a JSON object")
        unknown = set(changes) - set(self.TUNABLE)
        if unknown:
            raise ValueError(
                f"config: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(self.TUNABLE)}"
            )
        for name, value in changes.items():
            if not isinstance(value, int | float) or value < 0 or (name == "error_rate" and value > 1):
                raise ValueError(f"config: {name} must be a number of 0 or more (error_rate at most 1)")
        with self.lock:
            for name, value in changes.items():
                setattr(self.config, name, int(value) if name == "max_running" else float(value))

    # -- faults ----------------------------------------------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        target = f"{method} {path}"
        with self.lock:
            for fault in self.faults:
                if target.startswith(fault.match) and fault.times != 0:
                    if fault.times > 0:
                        fault.times -= 1
                    self.faults = [f for f in self.faults if f.times != 0]
                    return fault
            if self.config.error_rate and self.rng.random() < self.config.error_rate:
                return Fault(kind="status", status=self.rng.choice(self.config.error_statuses))
        return None

    def add_faults(self, faults: Iterable[Fault]) -> None:
        with self.lock:
            self.faults.extend(faults)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    # -- files -----------------------------------------------------------------------

    def create_upload(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        filename = body.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise _ApiError(400, "filename is required")
        if len(filename) > MAX_FILENAME_CHARS:
            raise _ApiError(400, f"filename must be at most {MAX_FILENAME_CHARS} characters")
        content_type = body.get("contentType", "application/octet-stream")
        if not isinstance(content_type, str):
            raise _ApiError(400, "contentType must be a string")
        stem, dot, ext = filename.rpartition(".")
        suffix = secrets.token_hex(4)
        unique = f"{stem}-{suffix}.{ext}" if dot and stem else f"{filename}-{suffix}"
        upload = _Upload(
            id=str(uuid.uuid4()),
            filename=unique,
            content_type=content_type,
            token=secrets.token_urlsafe(16),
            expires_at=self.now() + UPLOAD_TTL_SECONDS,
        )
        with self.lock:
            self.uploads[upload.id] = upload
        return {
            "id": upload.id,
            "filename": upload.filename,
            "uploadUrl": f"{base_url}/_uploads/{upload.id}?token={upload.token}",
        }

    def signed_upload(self, upload_id: str, token: str) -> _Upload:
        with self.lock:
            upload = self.uploads.get(upload_id)
        if upload is None or not secrets.compare_digest(upload.token, token):
            raise _ApiError(404, "upload not found")
        if self.now() > upload.expires_at:
            raise _ApiError(401, "upload URL expired")
        return upload

    # -- tasks -----------------------------------------------------------------------

    def _new_prompt(self, task: _Task | None, text: str, skills: list[str]) -> _Prompt:
        now = self.now()
        outcome, seconds = "succeeded", self.config.task_seconds
        for name, value in DIRECTIVE.findall(text):
            if name == "fail":
                outcome = "failed"
            elif name == "cancel":
                outcome = "canceled"
            elif name == "hang":
                seconds = float("inf")
            elif name == "seconds" and value:
                seconds = float(value)
        starts_at = now
        if task is not None and task.prompts:
            starts_at = max(now, task.prompts[-1].ends_at)
        return _Prompt(
            id=str(uuid.uuid4()),
            text=text,
            skills=skills,
            submitted_at=now,
            starts_at=starts_at,
            ends_at=starts_at + seconds,
            outcome=outcome,
        )

    def create_task(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = _prompt_from(body)
        executor = body.get("executor", "opencode")
        if executor not in KNOWN_EXECUTORS:
            raise _ApiError(400, f"executor must be one of {', '.join(KNOWN_EXECUTORS)}")
        model = body.get("model", "lite")
        if not isinstance(model, str) or not model:
            raise _ApiError(400, "model must be a non-empty string")
        skills = _skills_from(body)
        github_url = body.get("githubUrl")
        if github_url is not None and (
            not isinstance(github_url, str) or not GITHUB_REPO_PATTERN.match(github_url)
        ):
            raise _ApiError(400, "githubUrl must look like owner/repo")
        branch = body.get("branchName", "main")
        if not isinstance(branch, str) or not branch:
            raise _ApiError(400, "branchName must be a non-empty string")
        files = self._files_from(body.get("files", []))
        workspace_id = body.get("workspaceId")
        with self.lock:
            self._check_account_limit()
            if workspace_id is not None:
                if not isinstance(workspace_id, str) or workspace_id not in self.workspaces:
                    raise _ApiError(404, f"workspace {workspace_id} not found")
            else:
                workspace_id = str(uuid.uuid4())
                self.workspaces.add(workspace_id)
            task = _Task(
                id=str(uuid.uuid4()),
                workspace_id=workspace_id,
                executor=executor,
                model=model,
                skills=skills,
                files=files,
                github_url=github_url,
                branch_name=branch,
                created_at=self.now(),
                title=_title(prompt),
            )
            task.prompts.append(self._new_prompt(None, prompt, skills))
            self.tasks[task.id] = task
            self.order.append(task.id)
        return {
            "id": task.id,
            "workspaceId": task.workspace_id,
            "url": self.task_url(task.id),
            "status": task.status(self.now()),
            "createdAt": _iso(task.created_at),
        }

    def _check_account_limit(self) -> None:
        """429 ``limit_exceeded`` (the contract's error body) while ``max_running`` tasks run."""
        limit = self.config.max_running
        if not limit:
            return
        now = self.now()
        running = sum(1 for t in self.tasks.values() if not t.deleted and t.status(now) == "running")
        if running >= limit:
            raise _ApiError(
                429, f"concurrent task limit reached: {running} tasks running, this account allows {limit}"
            )

    def _files_from(self, raw: Any) -> list[dict[str, str]]:
        if not isinstance(raw, list):
            raise _ApiError(400, "files must be a list of {id, filename}")
        files = []
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise _ApiError(400, "each file needs an id and a filename")
            with self.lock:
                upload = self.uploads.get(item["id"])
            if upload is None:
                raise _ApiError(400, f"file {item['id']} not found")
            if item.get("filename") != upload.filename:
                raise _ApiError(400, f"file {item['id']} is named {upload.filename!r}")
            if upload.data is None:
                raise _ApiError(400, f"file {upload.filename} was never uploaded")
            files.append({"id": upload.id, "filename": upload.filename})
        return files

    def task_url(self, task_id: str) -> str:
        return f"{self.config.app_url}/run/{task_id}"

    def _live(self, task_id: str) -> _Task:
        task = self.tasks.get(task_id)
        if task is None or task.deleted:
            raise _ApiError(404, f"task {task_id} not found")
        return task

    def get_task(self, task_id: str) -> dict[str, Any]:
        now = self.now()
        with self.lock:
            task = self._live(task_id)
            return {
                **self._summary(task, now),
                "status": task.status(now),
                "prompts": [
                    {
                        "id": p.id,
                        "status": p.status(now),
                        "submittedAt": _iso(p.submitted_at),
                        "completedAt": _iso(p.completed_at(now)),
                    }
                    for p in task.prompts
                ],
            }

    def _summary(self, task: _Task, now: float) -> dict[str, Any]:
        return {
            "id": task.id,
            "url": self.task_url(task.id),
            "title": task.title,
            "executor": task.executor,
            "model": task.model,
            "createdAt": _iso(task.created_at),
            "completedAt": _iso(task.completed_at(now)),
        }

    def list_tasks(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = _int_param(query, "limit", 50)
        offset = _int_param(query, "offset", 0)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise _ApiError(400, f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if offset < 0:
            raise _ApiError(400, "offset must be 0 or more")
        now = self.now()
        with self.lock:
            live = [self.tasks[i] for i in reversed(self.order) if not self.tasks[i].deleted]
            page = [self._summary(t, now) for t in live[offset : offset + limit]]
        return {"data": page, "total": len(live), "limit": limit, "offset": offset}

    def follow_up(self, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
        prompt = _prompt_from(body)
        skills = _skills_from(body)
        with self.lock:
            task = self._live(task_id)
            new = self._new_prompt(task, prompt, skills)
            task.prompts.append(new)
        return {"promptId": new.id}

    def set_visibility(self, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
        visibility = body.get("visibility")
        if visibility not in KNOWN_VISIBILITIES:
            raise _ApiError(400, f"visibility must be one of {', '.join(KNOWN_VISIBILITIES)}")
        with self.lock:
            task = self._live(task_id)
            task.visibility = visibility
        answer: dict[str, Any] = {"visibility": visibility}
        if visibility == "public":
            answer["shareUrl"] = f"{self.config.app_url}/share/{task_id}"
        return answer

    def delete_task(self, task_id: str) -> None:
        with self.lock:
            self._live(task_id).deleted = True

    def reset(self) -> None:
        with self.lock:
            self.tasks.clear()
            self.order.clear()
            self.uploads.clear()
            self.workspaces.clear()
            self.faults.clear()
            self.requests.clear()


def _prompt_from(body: dict[str, Any]) -> str:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _ApiError(400, "prompt is required")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _ApiError(400, f"prompt must be at most {MAX_PROMPT_CHARS} characters")
    return prompt


def _skills_from(body: dict[str, Any]) -> list[str]:
    skills = body.get("skills", [])
    if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
        raise _ApiError(400, "skills must be a list of skill slugs")
    return list(skills)


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise _ApiError(400, f"{name} must be an integer") from None


def _title(prompt: str) -> str:
    first = DIRECTIVE.sub("", prompt).strip().splitlines()
    line = first[0].strip() if first else "Untitled task"
    return line if len(line) <= 80 else line[:79] + "…"


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return (
        datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(moment * 1000) % 1000:03d}Z"
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it a keep-alive client waits out Nagle plus delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing --------------------------------------------------------------------

    def _dispatch(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        self._recorded = False
        body = self._read_body()
        try:
            if body is None:
                raise _ApiError(400, "Content-Length is not a whole number")
            raw = body
            if path.startswith("/_emulator/"):
                self._control(path, raw)
                return
            if path.startswith("/_uploads/"):
                self._upload(path, query, raw)
                return
            if not path.startswith("/v1/"):
                raise _ApiError(404, f"no route {self.command} {path}")
            if state.config.latency:
                time.sleep(state.config.latency)
            fault = state.take_fault(self.command, path)
            if fault is not None and not fault.strikes_after_work:
                self._fail(fault)
                return
            self._authenticate()
            code, body = self._route(path, query, raw)
            if fault is not None:  # a fault that strikes after the work is done
                if fault.kind == "delay":
                    time.sleep(fault.seconds)
                else:
                    self._fail(fault)
                    return
            self._send_json(code, body)
        except _ApiError as error:
            self._send_error(error)

    def _record(self, status: int) -> None:
        """Log the request before its answer leaves, so a client never sees an answer not yet logged."""
        if self._recorded:
            return
        self._recorded = True
        path = urlsplit(self.path).path
        with self.server.state.lock:
            self.server.state.requests.append(
                RecordedRequest(self.command, path, status, "API_KEY" in self.headers)
            )

    def _read_body(self) -> bytes | None:
        """The request body; None when Content-Length is malformed (the connection is then spent)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _json_body(self, raw: bytes) -> dict[str, Any]:
        if not raw:
            raise _ApiError(400, "request body must be a JSON object")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _ApiError(400, "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "request body must be a JSON object")
        return body

    def _authenticate(self) -> None:
        key = self.headers.get("API_KEY")
        if not key:
            raise _ApiError(401, "missing API_KEY header")
        if not key.startswith(self.server.state.config.key_prefix):
            raise _ApiError(401, "invalid API key")

    def _route(self, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        state = self.server.state
        parts = path.rstrip("/").split("/")[2:]  # after "", "v1"
        method = self.command
        if parts == ["files"] and method == "POST":
            return 201, state.create_upload(self._json_body(raw), self.server.base_url)
        if parts == ["tasks"]:
            if method == "POST":
                body = self._json_body(raw)
                answer = state.create_task(body)
                if state.config.provision_seconds:
                    time.sleep(state.config.provision_seconds)
                return 201, answer
            if method == "GET":
                return 200, state.list_tasks(query)
        if len(parts) == 2 and parts[0] == "tasks":
            if method == "GET":
                return 200, state.get_task(parts[1])
            if method == "DELETE":
                state.delete_task(parts[1])
                return 204, None
        if len(parts) == 3 and parts[0] == "tasks":
            if parts[2] == "prompts" and method == "POST":
                return 201, state.follow_up(parts[1], self._json_body(raw))
            if parts[2] == "visibility" and method == "PATCH":
                return 200, state.set_visibility(parts[1], self._json_body(raw))
        raise _ApiError(404, f"no route {method} {path}")

    def _upload(self, path: str, query: dict[str, list[str]], raw: bytes) -> int:
        upload = self.server.state.signed_upload(path.rsplit("/", 1)[-1], (query.get("token") or [""])[0])
        if self.command == "PUT":
            with self.server.state.lock:
                upload.data = raw
            self._send_raw(200, b"", "text/plain")
            return 200
        if self.command == "GET" and upload.data is not None:
            self._send_raw(200, upload.data, upload.content_type)
            return 200
        raise _ApiError(404, "nothing uploaded here")

    def _control(self, path: str, raw: bytes) -> int:
        state = self.server.state
        if path == "/_emulator/health" and self.command == "GET":
            self._send_json(200, {"ok": True})
        elif path == "/_emulator/faults" and self.command == "POST":
            body = json.loads(raw or b"[]")
            items = body if isinstance(body, list) else [body]
            try:
                state.add_faults(Fault.from_json(item) for item in items)
            except (TypeError, ValueError) as exc:
                raise _ApiError(400, str(exc)) from None
            self._send_json(200, {"faults": [asdict(f) for f in state.faults]})
        elif path == "/_emulator/faults" and self.command == "DELETE":
            state.clear_faults()
            self._send_json(200, {"faults": []})
        elif path == "/_emulator/requests" and self.command == "GET":
            with state.lock:
                log = [asdict(r) for r in state.requests]
            self._send_json(200, {"requests": log})
        elif path == "/_emulator/config" and self.command in ("GET", "PATCH"):
            if self.command == "PATCH":
                try:
                    state.tune(json.loads(raw or b"{}"))
                except (TypeError, ValueError) as exc:
                    raise _ApiError(400, str(exc)) from None
            self._send_json(200, state.tunables())
        elif path == "/_emulator/reset" and self.command == "POST":
            state.reset()
            self._send_json(200, {"ok": True})
        else:
            raise _ApiError(404, f"no route {self.command} {path}")
        return 200

    def _fail(self, fault: Fault) -> int:
        if fault.kind == "drop":
            self._record(0)
            self.close_connection = True
            return 0
        if fault.kind == "corrupt":
            self._send_json(200, {"unexpected": True})
            return 200
        if fault.kind == "html":
            page = f"<html><body><h1>{fault.status} {HTTPStatus(fault.status).phrase}</h1></body></html>"
            self._send_raw(fault.status, page.encode(), "text/html")
            return fault.status
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        self._send_error(_ApiError(fault.status, "injected fault", headers))
        return fault.status

    def _send_error(self, error: _ApiError) -> None:
        code = STATUS_CODES.get(error.status, "internal_error" if error.status >= 500 else "validation_error")
        body = {"error": {"code": code, "message": error.message}}
        self._send_json(error.status, body, error.headers)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if status == 204:
            self._record(204)
            self.send_response(204)
            self.send_header("X-Request-Id", uuid.uuid4().hex)
            self.end_headers()
            return
        self._send_raw(status, json.dumps(body).encode(), "application/json", headers)

    def _send_raw(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _Server(QuietServer):
    state: EmulatorState
    verbose: bool
    base_url: str


class Emulator(BackgroundServer):
    """The emulator as a server: ``start()``/``stop()`` or a ``with`` block.

    ``port=0`` picks a free port; :attr:`url` is the base URL to give a client.
    """

    thread_name = "rebyte-emulator"

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ):
        super().__init__(_Handler, host, port, _Server)
        self.config = config or EmulatorConfig()
        self.state = EmulatorState(self.config)
        server = self._server
        assert isinstance(server, _Server)
        server.state = self.state
        server.verbose = verbose
        server.base_url = self.url

    # Conveniences for tests and demos.
    def add_fault(self, **kwargs: Any) -> None:
        self.state.add_faults([Fault(**kwargs)])

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        with self.state.lock:
            return [
                r
                for r in self.state.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]
