"""The exception family of the Rebyte client.

Every error the client raises is a :class:`RebyteError`. Errors that carry an answer
from the service are :class:`APIError` subclasses, chosen by the ``code`` in the error
body (the body is the truth when it disagrees with the HTTP status).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Task


class RebyteError(Exception):
    """Base of every error raised by :mod:`rebyte_action.rebyte`."""


class APIError(RebyteError):
    """The service answered with an error.

    ``status`` is the HTTP status, ``code`` the contract's error code (or ``http_<status>``
    when the body was not the contract's JSON), ``message`` the service's text and
    ``request_id`` the ``X-Request-Id`` header when the service sent one.
    """

    default_code = "error"

    def __init__(self, message: str, *, status: int, code: str | None = None, request_id: str | None = None):
        self.status = status
        self.code = code or self.default_code
        self.message = message
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"{self.code} (HTTP {self.status}): {self.message}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (type(self), self.message, self.status, self.code, self.request_id))


def _rebuild_api_error(
    cls: type[APIError], message: str, status: int, code: str, request_id: str | None
) -> APIError:
    return cls(message, status=status, code=code, request_id=request_id)


class ValidationError(APIError):
    """400 ``validation_error``: the request was refused as malformed."""

    default_code = "validation_error"


class UnauthorizedError(APIError):
    """401 ``unauthorized``: the API key is missing, malformed or revoked."""

    default_code = "unauthorized"


class NotFoundError(APIError):
    """404 ``not_found``: no such task, file or workspace (or it was deleted)."""

    default_code = "not_found"


class LimitExceededError(APIError):
    """429 ``limit_exceeded``: a rate or quota limit; ``retry_after`` in seconds if the service said."""

    default_code = "limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ):
        self.retry_after = retry_after
        super().__init__(message, status=status, code=code, request_id=request_id)


class ServerError(APIError):
    """5xx or ``internal_error``: the service (or a gateway before it) failed."""

    default_code = "internal_error"


class TransportError(RebyteError):
    """No usable answer came back: the connection failed, timed out or was dropped.

    ``maybe_delivered`` is False only when the request provably never reached the server
    (for example the connection was refused). When it is True, a non-idempotent call such
    as creating a task may have taken effect.
    """

    def __init__(self, message: str, *, maybe_delivered: bool):
        self.maybe_delivered = maybe_delivered
        super().__init__(message)


class UnexpectedResponse(RebyteError):
    """The service answered success with a body this client cannot read.

    The call did take effect: after ``create_task`` a task may exist whose id was lost.
    """

    def __init__(self, message: str, *, status: int):
        self.status = status
        super().__init__(message)


class WaitTimeout(RebyteError):
    """:meth:`RebyteClient.wait_for_task` gave up; ``task`` is the last state seen."""

    def __init__(self, message: str, task: Task):
        self.task = task
        super().__init__(message)


ERRORS_BY_CODE: dict[str, type[APIError]] = {
    "validation_error": ValidationError,
    "unauthorized": UnauthorizedError,
    "not_found": NotFoundError,
    "limit_exceeded": LimitExceededError,
    "internal_error": ServerError,
}

ERRORS_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: UnauthorizedError,
    403: UnauthorizedError,
    404: NotFoundError,
    422: ValidationError,
    429: LimitExceededError,
}
