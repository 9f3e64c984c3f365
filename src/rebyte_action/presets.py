"""The repository's config file applied to one request, as pure functions of plain data.

Which preset a request names, the role it needs, the command it runs and the defaults under it.
Precedence, strongest first: a command's own options (``--executor`` ...), the preset, the
file's ``defaults:``, the action's inputs.
"""

from __future__ import annotations

from .commands import VERBS, Command, UsageError, parse_command
from .config import Defaults, Preset, RepositoryConfig
from .decide import read_command
from .events import Trigger
from .settings import Permission, Settings

# Verbs that act on the thread's task alone: they name no preset and start nothing, so a run for
# one of them does not read the file. ``help`` lists the file's presets, so it does.
THREAD_VERBS = tuple(verb for verb in VERBS if verb != "help")


def needs_config(trigger: Trigger) -> bool:
    """Whether the request may use the file: everything but ``status``, ``share`` and ``cancel``."""
    if trigger.kind not in ("comment", "review_comment"):
        return True
    words = trigger.text.split(maxsplit=1)
    return not (words and words[0].lower() in THREAD_VERBS)


def find_preset(trigger: Trigger, config: RepositoryConfig | None) -> Preset | None:
    """The preset a request names: its label's, or the command named by the comment's first word."""
    if config is None:
        return None
    if trigger.kind == "label":
        return config.label(trigger.label or "")
    if trigger.kind in ("comment", "review_comment"):
        words = trigger.text.split(maxsplit=1)
        return config.command(words[0]) if words else None
    return None


def required_permission(preset: Preset | None, setting: Permission) -> Permission:
    """The role a request needs: its preset's ``permission`` (lower or higher), else the input's."""
    if preset is not None and preset.permission:
        return Permission.parse(preset.permission)
    return setting


def read_request(trigger: Trigger, config: RepositoryConfig | None) -> Command:
    """The command a request runs, with its preset (if it names one) under its own options.

    ``/rebyte <name> [options] [text]``: the preset's prompt, then the text. A label with a
    preset runs the preset's prompt (or the usual one when it has none). Raises
    :class:`UsageError` when the command is malformed, or names a preset without a prompt and
    gives no text.
    """
    preset = find_preset(trigger, config)
    if preset is None or config is None:
        return read_command(trigger)
    if trigger.kind == "label":
        # With a prompt of its own the preset says what to do (apply_preset puts it first, once).
        command = read_command(trigger) if preset.prompt is None else Command()
        return apply_preset(command, preset, f"the `{preset.name}` label of `{config.path}`")
    words = trigger.text.split(maxsplit=1)
    name, rest = words[0], words[1] if len(words) > 1 else ""
    own = parse_command(rest, after_preset=True)
    if not (preset.prompt or own.prompt):
        raise UsageError(
            f"`{name}` needs a prompt after it: its preset in `{config.path}` has none; "
            f"say what the agent should do after `{name}`"
        )
    return apply_preset(own, preset, f"the `{preset.name}` command of `{config.path}`")


def apply_preset(command: Command, preset: Preset, origin: str) -> Command:
    """``command``'s own options over ``preset``'s; the preset's prompt first, the user's text after it.

    A preset's list of executors is a fan-out (``executors``), as ``--executor a,b`` is."""
    prompt = "\n\n".join(part for part in (preset.prompt, command.prompt) if part)
    # the user's --executor (one, or several), else the preset's
    executors = ((command.executor,) if command.executor else command.executors) or tuple(preset.executor)
    return Command(
        prompt=prompt,
        executor=executors[0] if len(executors) == 1 else None,
        executors=executors if len(executors) > 1 else (),
        model=command.model or preset.model,
        skills=command.skills or tuple(preset.skills),
        branch=command.branch or preset.branch,
        public=command.public,
        new=command.new,
        preset=origin,
    )


def with_defaults(settings: Settings, defaults: Defaults) -> Settings:
    """The settings with the file's ``defaults:`` over the matching inputs (unset keys leave them)."""
    updates: dict[str, object] = {}
    if defaults.executor:
        updates["executor"] = defaults.executor[0]
    if defaults.skills:
        updates["skills"] = list(defaults.skills)
    for key in ("model", "branch", "visibility"):
        if getattr(defaults, key):
            updates[key] = getattr(defaults, key)
    return settings.model_copy(update=updates) if updates else settings


def presets_help(config: RepositoryConfig | None, phrase: str) -> str:
    """Markdown listing the file's commands and labels with their prompts' first lines ("" without any)."""
    if config is None or not (config.commands or config.labels):
        return ""
    parts = []
    if config.commands:
        lines = [f"Commands from `{config.path}`:", ""]
        for preset in config.commands.values():
            lines.append(f"- `{phrase} {preset.name} [text]`{_describe(preset)}")
        parts.append("\n".join(lines))
    if config.labels:
        lines = [f"Labels from `{config.path}` (add one to an issue or pull request):", ""]
        lines += [f"- `{preset.name}`{_describe(preset)}" for preset in config.labels.values()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _describe(preset: Preset) -> str:
    line = preset.first_line
    text = f": {line[:117]}…" if len(line) > 120 else (f": {line}" if line else "")
    if preset.permission:
        text += f" (needs **{preset.permission}**)"
    return text
