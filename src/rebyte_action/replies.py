"""The action's replies in a thread: help and usage, refusals, and the verbs' answers.

Each addresses the asker and links the request where the event gives it, and carries a
``reply`` marker (with the request's key) so that it is never taken for a request.
"""

from __future__ import annotations

from .commands import usage
from .rebyte.models import Task
from .report import STATUS_ICONS, Marker, duration, when


def reply_comment(text: str, request_key: str | None = None) -> str:
    return f"{text}\n\n{Marker('reply', request=request_key).render()}"


def addressed(asker: str, request_url: str | None) -> str:
    """``@asker, about [your request](url)`` (as much of it as is known), to open a reply."""
    who = f"@{asker}" if asker else "Hello"
    return f"{who}, about [your request]({request_url})" if request_url else who


def usage_comment(
    phrase: str,
    problem: str | None,
    *,
    asker: str = "",
    request_url: str | None = None,
    request_key: str | None = None,
) -> str:
    """The usage with the configured phrase; with ``problem`` what could not be read first."""
    if problem:
        head = f"⚠️ {addressed(asker, request_url)}: I could not read that command: {problem}."
    else:
        head = f"{addressed(asker, request_url)}: here is what I understand."
    return reply_comment(f"{head}\n\nUsage:\n\n```text\n{usage(phrase)}\n```", request_key)


def prompt_too_long_comment(
    problem: str, *, asker: str = "", request_url: str | None = None, request_key: str | None = None
) -> str:
    """The prompt is over Rebyte's limit: by how much (``problem``) and what to do instead."""
    return reply_comment(
        f"⚠️ {addressed(asker, request_url)}: the prompt is too long: {problem}. Nothing was "
        "started. Shorten it and ask again; a long text can go in a file in the repository, "
        "which the agent can read when the prompt names it.",
        request_key,
    )


def permission_comment(login: str, have: str, need: str) -> str:
    return reply_comment(
        f"@{login}, starting a Rebyte task here needs **{need}** permission on this repository, "
        f"and you have **{have}**. A maintainer can start it for you."
    )


def permission_unknown_comment(login: str, need: str) -> str:
    return reply_comment(
        f"@{login}, starting a Rebyte task here needs **{need}** permission on this repository, "
        "and GitHub would not tell this workflow yours, so nothing was started. A maintainer can "
        "start it for you."
    )


def fork_comment(head_repo: str) -> str:
    return reply_comment(
        f"This pull request comes from the fork `{head_repo}`, and this workflow does not start "
        "Rebyte tasks for pull requests from forks (its `allow-forks` input is off), so that code "
        "from outside the repository never runs on this repository's account."
    )


def no_task_comment(verb: str, phrase: str, asker: str, request_url: str | None, request_key: str) -> str:
    """A verb asked in a thread without a task (or whose task is gone)."""
    return reply_comment(
        f"{addressed(asker, request_url)}: `{phrase} {verb}` acts on this thread's Rebyte task, and "
        f"this thread has none yet. `{phrase} <what the agent should do>` starts one.",
        request_key,
    )


def status_comment(task: Task, asker: str, request_url: str | None, request_key: str) -> str:
    """The answer to ``status``: the task's status, its prompts with times, the live URL."""
    state = task.status.value
    lines = [
        f"{addressed(asker, request_url)}: this thread's Rebyte task is "
        f"{STATUS_ICONS.get(state, '⚠️')} **{state}**: [watch it live]({task.url})",
        "",
        "| Prompt | Status | Sent | Finished |",
        "|---|---|---|---|",
    ]
    for number, prompt in enumerate(task.prompts, 1):
        sent = when(prompt.submitted_at) if prompt.submitted_at else "?"
        done = when(prompt.completed_at) if prompt.completed_at else "not yet"
        lines.append(f"| {number} | {prompt.status.value} | {sent} | {done} |")
    if task.created_at and task.completed_at and task.status.is_terminal:
        took = duration((task.completed_at - task.created_at).total_seconds())
        lines += ["", f"Ended {when(task.completed_at)}, {took} after it started."]
    return reply_comment("\n".join(lines), request_key)


def share_comment(share_url: str, task_url: str, asker: str, request_url: str | None, key: str) -> str:
    """The answer to ``share``: the public link."""
    return reply_comment(
        f"🔗 {addressed(asker, request_url)}: this thread's Rebyte task is public now. Anyone with "
        f"this link can watch it (read-only): {share_url}\n\n[Open the task]({task_url})",
        key,
    )


def cancel_comment(task_url: str, asker: str, request_url: str | None, key: str, *, gone: bool) -> str:
    """The answer to ``cancel``: the task is stopped (or was gone already)."""
    what = "was gone already (deleted on Rebyte)" if gone else "is canceled"
    return reply_comment(
        f"🚫 {addressed(asker, request_url)}: this thread's [Rebyte task]({task_url}) {what}. "
        "The next request in this thread starts a new task.",
        key,
    )
