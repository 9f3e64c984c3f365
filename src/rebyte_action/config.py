"""The repository's config file (``.github/rebyte.yml``): its schema, read from YAML text with line numbers.

:func:`parse_config` is pure: text in, a :class:`RepositoryConfig` or a :class:`ConfigError` out.
:func:`fetch_config` reads the file from a branch with the one GitHub call it needs; applying it
to a request is ``presets.py``.

    defaults:    executor, model, skills, branch, visibility: over the action's inputs
    labels:      a preset per label; each listed label triggers
    commands:    a preset per ``/rebyte <name>``; a name cannot be a built-in verb
    limits:      max-running, max-running-per-user, queue, queue-hours (read by the queue)

A preset is ``prompt``, ``executor`` (one name, or a list: one task each), ``model``, ``skills``,
``branch`` and ``permission``, each optional. Label and command names are case-insensitive.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .commands import BRANCH, MAX_FAN_OUT, SLUG, VERBS
from .gate import DEFAULT_CONFIG_FILE
from .rebyte.models import KNOWN_EXECUTORS, KNOWN_VISIBILITIES
from .settings import ROLES

if TYPE_CHECKING:
    import yaml

    from .github import GitHub

MAX_CONFIG_BYTES = 256 * 1024  # far more than any preset list needs; a bigger file is refused
COMMAND_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
PRESET_KEYS = ("prompt", "executor", "model", "skills", "branch", "permission")
PRESET_KEY_HINT = ", ".join(PRESET_KEYS)
SECTION_KEYS = {
    (): "defaults, labels, commands, limits",
    ("defaults",): "executor, model, skills, branch, visibility",
    ("limits",): "max-running, max-running-per-user, queue, queue-hours",
}


class ConfigError(ValueError):
    """The file cannot be used; the message names the file, the line and the key, and what to do."""

    def __init__(self, path: str, line: int | None, key: str | None, problem: str):
        self.path, self.line, self.key, self.problem = path, line, key, problem
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: `{key}`: {problem}" if key else f"{where}: {problem}")


def _names(value: Any) -> list[str]:
    """One name, or a list of names (a YAML list, or ``a, b``), as a list."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    if not all(isinstance(item, str) for item in items):
        raise ValueError("must be a name or a list of names")
    return [item.strip() for item in items if item.strip()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Options(_Strict):
    """What a task is started with; shared by ``defaults`` and every preset."""

    executor: list[str] = Field(default_factory=list)
    model: str | None = None
    skills: list[str] = Field(default_factory=list)
    branch: str | None = None

    @field_validator("executor", mode="before")
    @classmethod
    def _executors(cls, value: Any) -> list[str]:
        names = [name.lower() for name in _names(value)]
        for name in names:
            if name not in KNOWN_EXECUTORS:
                raise ValueError(f"unknown executor {name!r}; choose from {', '.join(KNOWN_EXECUTORS)}")
        names = list(dict.fromkeys(names))
        if len(names) > MAX_FAN_OUT:
            raise ValueError(f"lists {len(names)} executors; at most {MAX_FAN_OUT} run side by side")
        return names

    @field_validator("skills", mode="before")
    @classmethod
    def _skills(cls, value: Any) -> list[str]:
        skills = _names(value)
        for skill in skills:
            if not SLUG.match(skill):
                raise ValueError(f"{skill!r} is not a skill slug")
        return list(dict.fromkeys(skills))

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is not None and not BRANCH.match(value.strip()):
            raise ValueError(f"{value!r} is not a valid git branch name")
        return value.strip() if value else None

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class Defaults(_Options):
    """``defaults:``: over the action's inputs, under a preset and a command's own options."""

    visibility: str | None = None

    @field_validator("executor")
    @classmethod
    def _one_executor(cls, value: list[str]) -> list[str]:
        if len(value) > 1:  # it stands for the executor input: one agent
            raise ValueError("takes one executor; list several in a label's or a command's preset")
        return value

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() not in KNOWN_VISIBILITIES:
            raise ValueError(f"must be one of {', '.join(KNOWN_VISIBILITIES)}")
        return value.strip().lower() if value else None


class Preset(_Options):
    """A label's or a command's preset; ``name`` is its key as the file spells it (set by the file)."""

    name: str = ""
    prompt: str | None = None
    permission: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_name(cls, data: Any) -> Any:
        if data is None:  # `docs:` with nothing under it: a preset that changes nothing but triggers
            return {}
        if isinstance(data, dict) and "name" in data:
            raise ValueError(f"`name` is not a key here; the keys are {PRESET_KEY_HINT}")
        return data

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("permission")
    @classmethod
    def _permission(cls, value: str | None) -> str | None:
        if value is not None and value.strip().lower() not in ROLES:
            raise ValueError(f"must be one of {', '.join(ROLES)}")
        return value.strip().lower() if value else None

    @property
    def first_line(self) -> str:
        """The prompt's first line, for help (empty without a prompt)."""
        return self.prompt.splitlines()[0].strip() if self.prompt else ""


class Limits(_Strict):
    """``limits:`` (issue #11's spend guard); each unset key leaves the matching input in force."""

    # strict: YAML reads `on`, `yes` and `false` as booleans, which are not numbers of tasks
    max_running: int | None = Field(None, ge=0, strict=True, alias="max-running")
    max_running_per_user: int | None = Field(None, ge=0, strict=True, alias="max-running-per-user")
    queue: bool | None = None
    queue_hours: float | None = Field(None, gt=0, le=8784, allow_inf_nan=False, alias="queue-hours")


class RepositoryConfig(_Strict):
    """The whole file; an absent file is ``RepositoryConfig()``, which changes nothing."""

    path: str = Field("", exclude=True)  # where it was read from; "" when there was no file
    defaults: Defaults = Field(default_factory=Defaults)
    labels: dict[str, Preset] = Field(default_factory=dict)
    commands: dict[str, Preset] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)

    @field_validator("defaults", "labels", "commands", "limits", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value  # a section with nothing under it (all commented out)

    @model_validator(mode="after")
    def _names(self) -> RepositoryConfig:
        for names in (self.labels, self.commands):
            folded: set[str] = set()
            for name in names:
                if name.casefold() in folded:
                    raise ValueError(f"`{name}` is given twice; names ignore case")
                folded.add(name.casefold())
        for name in self.labels:
            if problem := label_name_problem(name):
                raise ValueError(problem)
        for name in self.commands:
            if problem := command_name_problem(name):
                raise ValueError(problem)
        named = {k: p.model_copy(update={"name": k}) for k, p in self.labels.items()}
        object.__setattr__(self, "labels", named)  # frozen: set once, here
        named = {k: p.model_copy(update={"name": k}) for k, p in self.commands.items()}
        object.__setattr__(self, "commands", named)
        return self

    def label(self, name: str) -> Preset | None:
        """The preset of the label ``name`` (case aside), or None."""
        return _find(self.labels, name)

    def command(self, name: str) -> Preset | None:
        """The preset of the command ``name`` (case aside), or None."""
        return _find(self.commands, name)


def command_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a command (a built-in verb, not one word), or None."""
    if name.lower() in VERBS:
        return f"`{name}` is a built-in command ({', '.join(VERBS)}) and cannot be redefined: rename it"
    if not re.match(COMMAND_NAME, name):
        return f"`{name}` cannot be a command name: use one word of letters, digits, `.`, `_` or `-`"
    return None


def label_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a GitHub label's name, or None."""
    if not name.strip():
        return "a label name is empty"
    if len(name) > 50:
        return f"`{name[:20]}…` is longer than GitHub's 50 characters for a label name"
    return None


def _find(presets: dict[str, Preset], name: str) -> Preset | None:
    wanted = name.strip().casefold()
    return next((preset for key, preset in presets.items() if key.casefold() == wanted), None)


def fetch_config(github: GitHub, path: str, branch: str | None) -> RepositoryConfig:
    """``GET /repos/{repo}/contents/{path}?ref={branch}``, parsed: the file as it is on ``branch``
    (the default branch when None). No file (404) is an empty config.

    Raises :class:`ConfigError` when the file is not valid, and
    :class:`~rebyte_action.github.GitHubError` when GitHub refuses the read.
    """
    data = github.contents(path, branch)
    if data is None:
        return RepositoryConfig()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, None, None, "is not UTF-8 text") from None
    return parse_config(text, path)


def parse_config(text: str, path: str = DEFAULT_CONFIG_FILE) -> RepositoryConfig:
    """The file's text, validated; :class:`ConfigError` names the line and the key of the first fault.

    YAML is read with PyYAML's safe loader (no tags that build objects). Mapping keys are taken
    as written (``on:`` is the label "on", not true); names that differ only in case, or any key
    given twice, are refused, as PyYAML alone would silently keep the last.
    """
    import yaml  # here: a run that reads no file never loads it

    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise ConfigError(path, None, None, f"is larger than {MAX_CONFIG_BYTES // 1024} KB")
    lines: dict[tuple[str | int, ...], int] = {}
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:  # an empty file (or only comments)
            return RepositoryConfig(path=path)
        data = _plain(node, (), lines, path, loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise ConfigError(
            path, mark.line + 1 if mark else None, None, f"is not valid YAML: {problem}"
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(path, None, None, f"is not valid YAML: {error}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            path, node.start_mark.line + 1, None, "must be a mapping of defaults, labels, commands"
        )
    for section, fault_of in (("labels", label_name_problem), ("commands", command_name_problem)):
        presets = data.get(section)
        for name in presets if isinstance(presets, dict) else ():
            if fault := fault_of(name):
                raise ConfigError(path, lines.get((section, name)), f"{section}.{name}", fault)
    try:
        return RepositoryConfig.model_validate({**data, "path": path})
    except ValidationError as error:
        raise _explain(error.errors()[0], lines, path) from None


def _plain(
    node: yaml.Node,
    at: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
    path: str,
    loader: yaml.SafeLoader,
) -> Any:
    """A composed YAML node as plain data (scalars typed by ``loader``, keys as written); ``lines``
    learns the line of every key path."""
    import yaml

    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            line = key_node.start_mark.line + 1
            folded = key.casefold()
            if folded in seen:
                dotted = ".".join(str(p) for p in (*at, key))
                raise ConfigError(
                    path, line, dotted, f"is given twice (also on line {seen[folded]}); names ignore case"
                )
            seen[folded] = line
            result[key] = _plain(value_node, (*at, key), lines, path, loader)
            lines[(*at, key)] = line
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*at, index), lines, path, loader) for index, item in enumerate(node.value)]
    return loader.construct_object(node)


def _explain(error: Any, lines: dict[tuple[str | int, ...], int], path: str) -> ConfigError:
    """A pydantic error as a ConfigError naming the key path as written and its line."""
    loc = tuple(part for part in error["loc"] if part != "__root__")
    known = loc
    while known and known not in lines:
        known = known[:-1]
    key = ".".join(str(part) for part in loc) or None
    kind, message = error["type"], str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = loc[:-1]
        if len(parent) == 2 and parent[0] in ("labels", "commands"):
            expected = PRESET_KEY_HINT
        else:
            expected = SECTION_KEYS.get(parent, "")
        message = f"is not a key here; the keys are {expected}" if expected else "is not a key here"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        message = "must be a mapping of keys to values"
    elif kind == "missing":
        message = "is missing"
    return ConfigError(path, lines.get(known), key, message)
