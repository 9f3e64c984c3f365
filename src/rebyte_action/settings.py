"""Every input of the action and every GITHUB_* variable it reads, in one settings class.

A Docker action gets its inputs as ``INPUT_<NAME>`` with the name upper-cased and hyphens
kept (``INPUT_REBYTE-API-KEY``); the underscore spelling is accepted too. An input left
empty means its default.
"""

from __future__ import annotations

import os
import re
from enum import IntEnum
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .commands import BRANCH, SLUG
from .events import DEFAULT_LABEL, DEFAULT_TRIGGER_PHRASE
from .gate import DEFAULT_CONFIG_FILE
from .rebyte.client import DEFAULT_BASE_URL, check_base_url
from .rebyte.models import KNOWN_EXECUTORS, KNOWN_VISIBILITIES

# The step's roles, weakest first; "none" is a role a sender may have, never a bar to set.
ROLES = ("read", "triage", "write", "maintain", "admin")
# What pydantic reads as a boolean, case-insensitively: true/false, yes/no, on/off, 1/0, t/f, y/n.
BOOLEAN_WORDS = "true or false (yes/no, on/off and 1/0 work too)"
# What a number input takes, in the error that names it.
NUMBER_HINTS = {
    "timeout-minutes": "a number of minutes > 0, at most 50400 (35 days)",
    "reconcile-max": "a whole number of comments ≥ 1",
    "reconcile-days": "a number of days > 0, at most 3660 (ten years)",
    "max-running": "a whole number of tasks ≥ 0 (0: no limit)",
    "max-running-per-user": "a whole number of tasks ≥ 0 (0: no limit)",
    "queue-hours": "a number of hours > 0, at most 8784 (a year)",
}


class Permission(IntEnum):
    """Repository roles, weakest first, so that ``role >= required`` reads as it should."""

    NONE = 0
    READ = 1
    TRIAGE = 2
    WRITE = 3
    MAINTAIN = 4
    ADMIN = 5

    @classmethod
    def parse(cls, value: str) -> Permission:
        return cls[value.strip().upper()]


def _input(name: str) -> AliasChoices:
    upper = name.upper()
    return AliasChoices(f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}")


def _config_file_unset_or_empty() -> str:
    """The ``config-file`` input when its variable is unset (action.yml's default) or empty ("": off)."""
    present = any(name in os.environ for name in ("INPUT_CONFIG-FILE", "INPUT_CONFIG_FILE"))
    return "" if present else DEFAULT_CONFIG_FILE


def split_list(value: Any) -> list[str]:
    """``a, b`` or one item a line (a YAML block) into a list; empty items dropped."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = re.split(r"[,\n]", str(value))
    return [item.strip() for item in items if item.strip()]


def _one_of(value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    cleaned = value.strip().lower()
    if cleaned not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return cleaned


ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024  # 20 MB a file
CommaList = Annotated[list[str], NoDecode]
WAIT_CHOICES = ("auto", "true", "false")
MODES = ("run", "reconcile")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=False)

    # -- inputs ----------------------------------------------------------------------
    rebyte_api_key: SecretStr | None = Field(None, validation_alias=_input("rebyte-api-key"))
    github_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices(*_input("github-token").choices, "GITHUB_TOKEN")
    )
    rebyte_base_url: str = Field(DEFAULT_BASE_URL, validation_alias=_input("rebyte-base-url"))
    trigger_phrase: str = Field(DEFAULT_TRIGGER_PHRASE, validation_alias=_input("trigger-phrase"))
    label: str = Field(DEFAULT_LABEL, validation_alias=_input("label"))
    prompt: str = Field("", validation_alias=_input("prompt"))
    executor: str | None = Field(None, validation_alias=_input("executor"))
    model: str | None = Field(None, validation_alias=_input("model"))
    skills: CommaList = Field(default_factory=list, validation_alias=_input("skills"))
    branch: str | None = Field(None, validation_alias=_input("branch"))
    permission: str = Field("write", validation_alias=_input("permission"))
    allowed_bots: CommaList = Field(default_factory=list, validation_alias=_input("allowed-bots"))
    allow_forks: bool = Field(False, validation_alias=_input("allow-forks"))
    visibility: str | None = Field(None, validation_alias=_input("visibility"))
    wait: str = Field("auto", validation_alias=_input("wait"))
    timeout_minutes: float = Field(
        30.0, gt=0, le=50400, allow_inf_nan=False, validation_alias=_input("timeout-minutes")
    )
    check_run: bool = Field(False, validation_alias=_input("check-run"))
    mode: str = Field("run", validation_alias=_input("mode"))
    reconcile_max: int = Field(200, ge=1, validation_alias=_input("reconcile-max"))
    reconcile_days: float = Field(
        14.0, gt=0, le=3660, allow_inf_nan=False, validation_alias=_input("reconcile-days")
    )
    # action.yml's default, which the runner passes; no variable at all means the same, and an
    # empty value (`config-file: ''`) turns the file off (empty values are otherwise ignored).
    config_file: str = Field(
        default_factory=lambda: _config_file_unset_or_empty(), validation_alias=_input("config-file")
    )
    attachments: bool = Field(True, validation_alias=_input("attachments"))
    max_running: int = Field(0, ge=0, validation_alias=_input("max-running"))
    max_running_per_user: int = Field(0, ge=0, validation_alias=_input("max-running-per-user"))
    queue: bool = Field(True, validation_alias=_input("queue"))
    queue_hours: float = Field(
        24.0, gt=0, le=8784, allow_inf_nan=False, validation_alias=_input("queue-hours")
    )
    # Not an input: how soon the first status poll comes (the emulator's tasks are quick).
    poll_seconds: float = Field(2.0, gt=0, validation_alias="REBYTE_ACTION_POLL_SECONDS")
    # Not an input: how long a request waits for an earlier request's task in the same thread.
    race_seconds: float = Field(120.0, gt=0, validation_alias="REBYTE_ACTION_RACE_SECONDS")
    # Not an input: the largest attachment a task gets, in bytes (tests set a small one).
    attachment_max_bytes: int = Field(
        ATTACHMENT_MAX_BYTES, gt=0, validation_alias="REBYTE_ACTION_ATTACHMENT_MAX_BYTES"
    )
    # Not an input: how long an answer from Rebyte may take (None: the client's defaults).
    rebyte_timeout: float | None = Field(None, gt=0, validation_alias="REBYTE_ACTION_TIMEOUT_SECONDS")
    # Not an input: the first wait before a retry of Rebyte's client (doubling; tests set a short one).
    rebyte_backoff: float | None = Field(None, gt=0, validation_alias="REBYTE_ACTION_RETRY_BACKOFF_SECONDS")

    # -- the runner's variables ------------------------------------------------------
    event_name: str = Field("", validation_alias="GITHUB_EVENT_NAME")
    event_path: str = Field("", validation_alias="GITHUB_EVENT_PATH")
    repository: str = Field("", validation_alias="GITHUB_REPOSITORY")
    api_url: str = Field("https://api.github.com", validation_alias="GITHUB_API_URL")
    server_url: str = Field("https://github.com", validation_alias="GITHUB_SERVER_URL")
    run_id: str = Field("", validation_alias="GITHUB_RUN_ID")
    run_attempt: int = Field(1, validation_alias="GITHUB_RUN_ATTEMPT")  # above 1 on a re-run
    job: str = Field("", validation_alias="GITHUB_JOB")
    step: str = Field("", validation_alias="GITHUB_ACTION")  # the step's id (or __owner_repo)
    sha: str = Field("", validation_alias="GITHUB_SHA")
    ref: str = Field("", validation_alias="GITHUB_REF")
    output_path: str = Field("", validation_alias="GITHUB_OUTPUT")
    summary_path: str = Field("", validation_alias="GITHUB_STEP_SUMMARY")

    @field_validator("skills", "allowed_bots", mode="before")
    @classmethod
    def _split(cls, value: Any) -> list[str]:
        return split_list(value)

    @field_validator("permission")
    @classmethod
    def _permission(cls, value: str) -> str:
        cleaned = value.strip().lower()
        if cleaned not in ROLES:
            raise ValueError(f"must be one of {', '.join(ROLES)}")
        return cleaned

    @field_validator("allow_forks", "check_run", "attachments", "queue", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("rebyte_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return check_base_url(value)

    @field_validator("skills")
    @classmethod
    def _skills(cls, value: list[str]) -> list[str]:
        for skill in value:
            if not SLUG.match(skill):
                raise ValueError(f"{skill!r} is not a skill name; separate skills with commas or new lines")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not BRANCH.match(value.strip()):
            raise ValueError("is not a valid git branch name")
        return value.strip()

    @field_validator("executor")
    @classmethod
    def _executor(cls, value: str | None) -> str | None:
        return _one_of(value, KNOWN_EXECUTORS)

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, value: str | None) -> str | None:
        return _one_of(value, KNOWN_VISIBILITIES)

    @field_validator("wait")
    @classmethod
    def _wait(cls, value: str) -> str:
        value = {"yes": "true", "on": "true", "1": "true", "no": "false", "off": "false", "0": "false"}.get(
            value.strip().lower(), value
        )
        cleaned = _one_of(value, WAIT_CHOICES)
        assert cleaned is not None
        return cleaned

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        cleaned = _one_of(value, MODES)
        assert cleaned is not None
        return cleaned

    @field_validator("config_file")
    @classmethod
    def _config_file(cls, value: str) -> str:
        path = value.strip().strip("/")
        if path and (".." in path.split("/") or any(c in path for c in "?#\\\0")):
            raise ValueError("must be a path in the repository, such as .github/rebyte.yml")
        return path

    @field_validator("trigger_phrase", "label")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @property
    def required_permission(self) -> Permission:
        return Permission.parse(self.permission)

    @property
    def following(self) -> bool:
        """Whether a run stays with its task to the end: ``wait: true``, or ``auto`` with a check run.

        With ``check-run: true`` and ``wait: false`` the run hands the check run over to the
        scheduled reconciler (``mode: reconcile``) and exits at once.
        """
        return self.wait == "true" or (self.wait == "auto" and self.check_run)

    @property
    def run_url(self) -> str | None:
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


def _describe(location: str) -> str:
    """``INPUT_ALLOW-FORKS`` or ``allow_forks`` as the user wrote it: ``input 'allow-forks'``."""
    if location.upper().startswith("INPUT_"):
        location = location[len("INPUT_") :]
    elif location.upper().startswith("GITHUB_"):
        return location.upper()
    return f"input '{location.lower().replace('_', '-')}'"


def _input_name(location: str) -> str:
    """``INPUT_TIMEOUT_MINUTES`` or ``timeout_minutes`` as the input's name: ``timeout-minutes``."""
    return location.upper().removeprefix("INPUT_").lower().replace("_", "-")


class SettingsError(Exception):
    """An input or variable is wrong; the message names it and says what to do."""


def load_settings() -> Settings:
    try:
        return Settings()
    except PydanticValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            name = _describe(field)
            given = item.get("input")
            secret = "key" in field.lower() or "token" in field.lower()
            shown = f" (got {given!r})" if isinstance(given, str) and not secret else ""
            message = str(item["msg"]).removeprefix("Value error, ")
            if item["type"].startswith("bool"):
                message = f"must be {BOOLEAN_WORDS}"
            elif (hint := NUMBER_HINTS.get(_input_name(field))) is not None:
                message = f"must be {hint}"
            problems.append(f"{name}: {message}{shown}")
        raise SettingsError("; ".join(problems)) from None
