"""Typed results of the Rebyte v1 API.

Field names are snake_case in Python and camelCase on the wire. Fields the service adds
later are kept (``extra="allow"``), and enum fields accept values this client does not
know yet, so a newer service never breaks an older client.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class OpenEnum(StrEnum):
    """A string enum that turns an unknown value into a new member instead of failing."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper().replace("-", "_")
        member._value_ = value
        return member


class Executor(OpenEnum):
    OPENCODE = "opencode"
    CLAUDE = "claude"
    GEMINI = "gemini"
    CODEX = "codex"


class Visibility(OpenEnum):
    PRIVATE = "private"
    SHARED = "shared"
    PUBLIC = "public"


class TaskStatus(OpenEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


class PromptStatus(OpenEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


_TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED})
KNOWN_EXECUTORS = tuple(e.value for e in Executor)
KNOWN_VISIBILITIES = tuple(v.value for v in Visibility)


class ApiModel(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        frozen=True,
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The wire shape (camelCase, JSON types), extra fields included."""
        return self.model_dump(mode="json", by_alias=True)


class FileRef(ApiModel):
    """A file to attach to a task: the ``id`` and the uniquified ``filename`` of an upload."""

    id: str
    filename: str


class Upload(ApiModel):
    """The answer to ``POST /v1/files``; ``filename`` is the uniquified name to pass on."""

    id: str
    filename: str
    upload_url: str

    def ref(self) -> FileRef:
        return FileRef(id=self.id, filename=self.filename)


class CreatedTask(ApiModel):
    """The answer to ``POST /v1/tasks``."""

    id: str
    workspace_id: str
    url: str
    status: TaskStatus = TaskStatus.RUNNING
    created_at: datetime | None = None


class PromptInfo(ApiModel):
    id: str
    status: PromptStatus
    submitted_at: datetime | None = None
    completed_at: datetime | None = None


class TaskSummary(ApiModel):
    """One row of ``GET /v1/tasks``."""

    id: str
    url: str
    title: str | None = None
    executor: Executor | None = None
    model: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None


class Task(TaskSummary):
    """``GET /v1/tasks/{id}``: a task with its status and prompts."""

    status: TaskStatus
    prompts: list[PromptInfo] = []


class TaskPage(ApiModel):
    """One page of ``GET /v1/tasks``, newest first."""

    data: list[TaskSummary]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.data) < self.total


class FollowUp(ApiModel):
    """The answer to ``POST /v1/tasks/{id}/prompts``."""

    prompt_id: str


class VisibilityChange(ApiModel):
    """The answer to ``PATCH /v1/tasks/{id}/visibility``; ``share_url`` only when public."""

    visibility: Visibility
    share_url: str | None = None
