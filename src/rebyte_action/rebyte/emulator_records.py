"""The records the emulator keeps: tasks, their prompts, uploads and the request log.

A task's and a prompt's status follow the wall clock (no background threads): each is
computed from the moments stored when it was created.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
