"""A typed client for the Rebyte v1 API, usable on its own.

from rebyte_action.rebyte import RebyteClient

with RebyteClient() as rebyte:            # key from REBYTE_API_KEY
    task = rebyte.create_task("Add tests for the parser", github_url="owner/repo")
    print(task.url)                       # live at once
    done = rebyte.wait_for_task(task.id)  # completed, failed or canceled
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import DEFAULT_BASE_URL, NO_RETRY, RebyteClient, RetryPolicy
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
    from .limits import MAX_PROMPT_CHARS
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

# Where each name lives: the package imports its modules only when a name is first used,
# so that the models and limits (the decisions need them) come without httpx.
_HOMES = {
    **dict.fromkeys(("DEFAULT_BASE_URL", "NO_RETRY", "RebyteClient", "RetryPolicy"), ".client"),
    "MAX_PROMPT_CHARS": ".limits",
    **dict.fromkeys(
        (
            "APIError",
            "LimitExceededError",
            "NotFoundError",
            "RebyteError",
            "ServerError",
            "TransportError",
            "UnauthorizedError",
            "UnexpectedResponse",
            "ValidationError",
            "WaitTimeout",
        ),
        ".errors",
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name, ".models" if name in __all__ else None)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, __name__), name)


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
