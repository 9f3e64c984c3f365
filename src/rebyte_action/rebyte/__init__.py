"""A typed client for the Rebyte v1 API, usable on its own.

from rebyte_action.rebyte import RebyteClient

with RebyteClient() as rebyte:            # key from REBYTE_API_KEY
    task = rebyte.create_task("Add tests for the parser", github_url="owner/repo")
    print(task.url)                       # live at once
    done = rebyte.wait_for_task(task.id)  # completed, failed or canceled
"""

from .client import DEFAULT_BASE_URL, MAX_PROMPT_CHARS, NO_RETRY, RebyteClient, RetryPolicy
from .errors import (
    APIError,
    LimitExceededError,
    NotFoundError,
    RebyteError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnexpectedResponse,
    ValidationError,
    WaitTimeout,
)
from .models import (
    CreatedTask,
    Executor,
    FileRef,
    FollowUp,
    PromptInfo,
    PromptStatus,
    Task,
    TaskPage,
    TaskStatus,
    TaskSummary,
    Upload,
    Visibility,
    VisibilityChange,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PROMPT_CHARS",
    "NO_RETRY",
    "APIError",
    "CreatedTask",
    "Executor",
    "FileRef",
    "FollowUp",
    "LimitExceededError",
    "NotFoundError",
    "PromptInfo",
    "PromptStatus",
    "RebyteClient",
    "RebyteError",
    "RetryPolicy",
    "ServerError",
    "Task",
    "TaskPage",
    "TaskStatus",
    "TaskSummary",
    "TransportError",
    "UnauthorizedError",
    "UnexpectedResponse",
    "Upload",
    "ValidationError",
    "Visibility",
    "VisibilityChange",
    "WaitTimeout",
]
