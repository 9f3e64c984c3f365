"""The emulator's memory and the contract's rules: what each API call does and refuses.

:class:`EmulatorState` validates a request body as the service does, changes the records
(:mod:`.emulator_records`) under one lock, and answers with the contract's shapes; a
refusal is an ``_ApiError`` that the HTTP server (:mod:`.emulator`) turns into the
contract's error body. ``[emulate:...]`` directives in a prompt set its outcome and length.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .client import GITHUB_REPO_PATTERN, MAX_FILENAME_CHARS, MAX_PAGE_SIZE
from .emulator_config import EmulatorConfig, Fault
from .emulator_records import RecordedRequest, _Prompt, _Task, _Upload
from .limits import MAX_PROMPT_CHARS
from .models import KNOWN_EXECUTORS, KNOWN_VISIBILITIES

DIRECTIVE = re.compile(r"\[emulate:([a-z-]+)(?:=([0-9.]+))?\]")
UPLOAD_TTL_SECONDS = 3600.0


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
