"""The ``/rebyte`` grammar: the text after the phrase in, a :class:`Command` or :class:`UsageError` out.

    /rebyte [options] <prompt>
    /rebyte --executor claude,codex <prompt>     (fan-out: one task per executor, at most 4)
    /rebyte status | share | cancel | help

Options come before the prompt, as ``--name value``, ``--name=value`` or ``name=value``.
The first word that is not an option starts the prompt, which runs to the end of the
comment with its line breaks kept. ``--`` ends the options early. A verb stands alone:
a prompt that starts with one (``status of the migration?``) needs ``--`` before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .rebyte.models import KNOWN_EXECUTORS

USAGE = """\
{phrase} [options] <what the agent should do>

options (before the prompt):
  --executor NAME   opencode, claude, gemini or codex
  --executor A,B    one task per agent, side by side (at most 4)
  --model TIER      the model tier, e.g. lite
  --skill SLUG      a skill to load (repeatable)
  --skills A,B      several skills at once
  --branch NAME     the branch to work on
  --public          anyone with the link can watch the task
  --new             start a new task instead of continuing this thread's task

also written as key=value: executor=claude model=lite skills=a,b branch=dev
{phrase} -- <prompt>   a prompt that starts with a verb or a dash

commands (status, share and cancel act on this thread's task):
{verbs}"""
VERBS = ("status", "share", "cancel", "help")
VERB_HELP = {
    "status": "the task's status, its prompts and the live URL",
    "share": "make the task public and answer with its share link",
    "cancel": "stop the task; a later request starts a new one",
    "help": "shows this help",
}

MAX_FAN_OUT = 4  # tasks one request may start side by side (Rebyte has four executors)
VALUE_OPTIONS = ("executor", "model", "skill", "skills", "branch")
FLAG_OPTIONS = ("public", "new")
TOKEN = re.compile(r"\S+")
LIST_OPTIONS = ("executor", "skill", "skills")  # comma-separated values
DASHES = "\u2014\u2013\u2212"  # em dash, en dash, minus: what editors make of a typed `--`
VERB_PUNCTUATION = ".!?:;,"  # `/rebyte status.` is the verb
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
# Roughly git check-ref-format: no spaces, control characters or the few forbidden marks.
BRANCH = re.compile(r"^(?!-)(?!.*\.\.)(?!.*@\{)(?!.*//)[^\s~^:?*\[\\\x00-\x1f\x7f]+(?<![./])$")


class UsageError(ValueError):
    """The command is malformed; the message says what is wrong, in words for the commenter."""


@dataclass(frozen=True)
class Command:
    prompt: str = ""
    executor: str | None = None
    model: str | None = None
    skills: tuple[str, ...] = field(default_factory=tuple)
    branch: str | None = None
    public: bool = False
    new: bool = False
    verb: str | None = None  # one of VERBS; then there is no prompt
    # Two to MAX_FAN_OUT distinct executors (``--executor a,b``): one task each; ``executor`` is None.
    executors: tuple[str, ...] = ()
    preset: str | None = None  # the config file's preset it came from, in words (presets.py)

    @property
    def help(self) -> bool:
        return self.verb == "help"


def usage(phrase: str) -> str:
    """The usage text with the configured trigger phrase."""
    width = max(len(f"{phrase} {v}") for v in VERBS) + 2
    verbs = "\n".join(f"  {f'{phrase} {verb}':<{width}}{VERB_HELP[verb]}" for verb in VERBS)
    return USAGE.format(phrase=phrase, verbs=verbs)


def parse_command(text: str, *, after_preset: bool = False) -> Command:
    """Parse everything after the trigger phrase: a verb alone, or options and a prompt.

    ``after_preset``: ``text`` follows a preset's name (``/rebyte review ...``), so it holds no
    verb and may have no prompt. Raises :class:`UsageError` (its message in words for the
    commenter) when malformed.
    """
    stripped = text.strip()
    if stripped.lower() in ("--help", "-h") and not after_preset:
        return Command(verb="help")
    first = stripped.split(maxsplit=1)[0] if stripped else ""
    if first.lower().rstrip(VERB_PUNCTUATION) in VERBS and not after_preset:  # `status.` too
        verb = first.lower().rstrip(VERB_PUNCTUATION)
        if stripped[len(first) :].strip():
            raise UsageError(
                f"`{verb}` takes nothing after it; to send a prompt that starts with “{first}”, "
                f"put `--` before it"
            )
        return Command(verb=verb)
    values: dict[str, str] = {}
    skills: list[str] = []
    flags: set[str] = set()
    tokens = list(TOKEN.finditer(stripped))
    index = 0
    while index < len(tokens):
        token = tokens[index].group()
        name, value, spelled = _split_option(token)
        if token == "--":  # noqa: S105 - the end-of-options marker, not a password
            index += 1
            break
        if name is None:
            break
        if name in FLAG_OPTIONS:
            if value is not None:
                raise UsageError(f"`--{name}` takes no value")
            flags.add(name)
        elif name in VALUE_OPTIONS:
            if value is None:
                if index + 1 >= len(tokens):
                    raise UsageError(f"`{spelled}` needs a value")
                index += 1
                value = tokens[index].group()
            while (
                name in LIST_OPTIONS and value.endswith(",") and value.strip(",") and index + 1 < len(tokens)
            ):
                index += 1  # `--executor claude, codex`: the list goes on after the space
                value += tokens[index].group()
            if name in ("skill", "skills"):
                skills.extend(_skills(value, spelled))
            elif name in values:
                raise UsageError(f"`{spelled}` is given twice")
            else:
                values[name] = value
        else:
            known = ", ".join(f"--{o}" for o in (*VALUE_OPTIONS, *FLAG_OPTIONS))
            raise UsageError(f"unknown option `{spelled}`; the options are {known}")
        index += 1
    prompt = stripped[tokens[index].start() :].strip() if index < len(tokens) else ""
    if not prompt and not after_preset:
        raise UsageError("the prompt is empty: say what the agent should do after the options")
    executors = executor_list(values["executor"]) if "executor" in values else ()
    executor = executors[0] if len(executors) == 1 else None
    branch = values.get("branch")
    if branch is not None and not BRANCH.match(branch):
        raise UsageError(f"`{branch}` is not a valid branch name")
    return Command(
        prompt=prompt,
        executor=executor,
        model=values.get("model"),
        skills=tuple(dict.fromkeys(skills)),
        branch=branch,
        public="public" in flags,
        new="new" in flags,
        executors=executors if len(executors) > 1 else (),
    )


def executor_list(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``claude,codex`` (or a preset's list) as distinct known executors, lower-cased, in order.

    Raises :class:`UsageError` for an empty list, more than :data:`MAX_FAN_OUT` distinct names,
    or an unknown name.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    if not names:
        raise UsageError("`--executor` needs a name: " + ", ".join(KNOWN_EXECUTORS))
    if len(names) > MAX_FAN_OUT:
        raise UsageError(
            f"`--executor` names {len(names)} agents; at most {MAX_FAN_OUT} run side by side on one request"
        )
    for name in names:
        if name not in KNOWN_EXECUTORS:
            raise UsageError(f"unknown executor `{name}`; choose one of {', '.join(KNOWN_EXECUTORS)}")
    return names


def _split_option(token: str) -> tuple[str | None, str | None, str]:
    """``--name=value``, ``--name`` or ``name=value`` (known names only) into its parts."""
    if token.startswith("--") and len(token) > 2:
        name, equals, value = token[2:].partition("=")
        return name.lower(), (value if equals else None), token
    if token[:1] in DASHES and len(token) > 1:  # `—executor`: `--` turned into a dash by autocorrect
        name, equals, value = token[1:].partition("=")
        if name.lower() in (*VALUE_OPTIONS, *FLAG_OPTIONS):
            return name.lower(), (value if equals else None), token
    name, equals, value = token.partition("=")
    if equals and name.lower() in (*VALUE_OPTIONS, *FLAG_OPTIONS):
        if not value:
            raise UsageError(f"`{token}` needs a value after the `=`")
        return name.lower(), value, token
    return None, None, token


def _skills(value: str, spelled: str) -> list[str]:
    skills = [s.strip() for s in value.split(",") if s.strip()]
    for skill in skills:
        if not SLUG.match(skill):
            raise UsageError(f"`{skill}` in `{spelled}` is not a skill slug")
    if not skills:
        raise UsageError(f"`{spelled}` needs at least one skill")
    return skills
