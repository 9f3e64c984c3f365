"""Requests per trigger: each scenario run through the real entry point, counted by both servers."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from ..action_harness import Action, comment_event, load_event, review_comment_event


@dataclass(frozen=True)
class Scenario:
    name: str
    event_name: str
    event: Callable[[], dict[str, Any]]
    minimum: tuple[int, int]  # GitHub, Rebyte: each call justified in tests/bench/README.md
    inputs: dict[str, str]
    before: Callable[[Action], None] | None = None  # runs not counted (an earlier request)
    env: dict[str, str] | None = None
    arrange: Callable[[Action], dict[str, Any]] | None = None  # readies the servers; gives the event


def _labeled(name: str) -> Callable[[], dict[str, Any]]:
    def event() -> dict[str, Any]:
        payload = load_event(name)
        payload["label"]["name"] = "rebyte"
        return payload

    return event


def _dispatch() -> dict[str, Any]:
    payload = load_event("workflow_dispatch")
    payload["repository"]["full_name"] = "Codertocat/Hello-World"
    return payload


def _later(body: str) -> Callable[[], dict[str, Any]]:
    def event() -> dict[str, Any]:
        payload = comment_event(body)
        payload["comment"]["id"] = 492700999
        return payload

    return event


def _with_attachments(action: Action) -> dict[str, Any]:
    """A comment with an image and a file that the fake GitHub hosts, GITHUB_SERVER_URL its host."""
    action.server_url = action.github.url
    image = action.github.attachments.asset(b"\x89PNG" + bytes(4096), content_type="image/png")
    log = action.github.attachments.file("crash.log", b"Traceback ...\n" * 100, content_type="text/plain")
    return comment_event(f"/rebyte why does it crash?\n\n![screenshot]({image})\n\n[crash.log]({log})")


def _follow_up_with_attachment(action: Action) -> dict[str, Any]:
    """A later comment in the thread, with an image: sent to the thread's task, nothing fetched."""
    event = _with_attachments(action)
    event["comment"]["id"] = 492700999
    return event


def _first_request(action: Action) -> None:
    action.run("issue_comment", comment_event("/rebyte fix the typo"))


CONFIG = {"config_file": ".github/rebyte.yml"}  # action.yml's default, as the runner passes it


def _config_file(action: Action) -> None:
    action.github.set_file(
        ".github/rebyte.yml",
        "defaults:\n  model: pro\nlabels:\n  bug:\n    prompt: Fix the bug.\n"
        "commands:\n  review:\n    prompt: Review this.\n",
    )


def _file_and_first_request(action: Action) -> None:
    _config_file(action)
    _first_request(action)


def _bug_label(name: str) -> Callable[[], dict[str, Any]]:
    def event() -> dict[str, Any]:
        payload = load_event("issues.labeled")
        payload["label"]["name"] = name
        return payload

    return event


LIMITED = {"max_running": "1"}


def _in_issue(number: int, body: str) -> Callable[[], dict[str, Any]]:
    def event() -> dict[str, Any]:
        payload = comment_event(body)
        payload["issue"]["number"] = number
        payload["comment"]["id"] = 492700000 + number
        return payload

    return event


def _one_running(action: Action) -> None:
    action.run("issue_comment", comment_event("/rebyte fix the typo"), **LIMITED)


def _one_running_one_queued(action: Action) -> None:
    _one_running(action)
    action.run("issue_comment", _in_issue(2, "/rebyte and the docs")(), **LIMITED)


FAN_OUT = "/rebyte --executor claude,codex fix the typo"


def _first_fan_out(action: Action) -> None:
    action.run("issue_comment", comment_event(FAN_OUT))


SCENARIOS = [
    Scenario(
        "/rebyte on an issue", "issue_comment", lambda: comment_event("/rebyte fix the typo"), (7, 1), {}
    ),
    Scenario(
        "/rebyte on a pull request",
        "issue_comment",
        lambda: comment_event("/rebyte fix it", on_pull=True),
        (8, 1),
        {},
    ),
    Scenario(
        "a review comment",
        "pull_request_review_comment",
        lambda: review_comment_event("/rebyte emoji"),
        (7, 1),
        {},
    ),
    Scenario(
        "/rebyte with two attachments",
        "issue_comment",
        dict,
        (9, 5),
        {},
        arrange=_with_attachments,
    ),
    Scenario("an issue labeled", "issues", _labeled("issues.labeled"), (7, 1), {}),
    Scenario("a pull request labeled", "pull_request", _labeled("pull_request.labeled"), (7, 1), {}),
    Scenario(
        "direct prompt, workflow_dispatch", "workflow_dispatch", _dispatch, (0, 1), {"prompt": "Update"}
    ),
    Scenario(
        "direct prompt, schedule", "schedule", lambda: {"schedule": "0 3 * * *"}, (0, 1), {"prompt": "Check"}
    ),
    Scenario(
        "a follow-up in a thread with a task",
        "issue_comment",
        _later("/rebyte now add a test"),
        (6, 1),
        {},
        _first_request,
    ),
    Scenario(
        "a follow-up with attachments (carries none)",
        "issue_comment",
        dict,
        (6, 1),
        {},
        _first_request,
        arrange=_follow_up_with_attachment,
    ),
    Scenario("/rebyte status", "issue_comment", _later("/rebyte status"), (5, 1), {}, _first_request),
    Scenario("fan-out to 2 executors", "issue_comment", lambda: comment_event(FAN_OUT), (6, 2), {}),
    Scenario(
        "a follow-up to a fan-out of 2",
        "issue_comment",
        _later("/rebyte now add a test"),
        (6, 2),
        {},
        _first_fan_out,
    ),
    Scenario(
        "/rebyte status on a fan-out of 2",
        "issue_comment",
        _later("/rebyte status"),
        (5, 2),
        {},
        _first_fan_out,
    ),
    Scenario(
        "/rebyte cancel on a fan-out of 2",
        "issue_comment",
        _later("/rebyte cancel"),
        (7, 2),
        {},
        _first_fan_out,
    ),
    Scenario(
        "a refused user (read permission)",
        "issue_comment",
        lambda: comment_event("/rebyte go", sender="reader"),
        (2, 0),
        {},
    ),
    Scenario(
        "a skipped event (no phrase)", "issue_comment", lambda: comment_event("LGTM, thanks"), (0, 0), {}
    ),
    Scenario(
        "/rebyte on an issue, max-running: 1, room free",
        "issue_comment",
        lambda: comment_event("/rebyte fix the typo"),
        (7, 1),
        LIMITED,
    ),
    Scenario(
        "/rebyte over max-running: queued",
        "issue_comment",
        _in_issue(2, "/rebyte and the docs"),
        (7, 0),
        LIMITED,
        _one_running,
    ),
    Scenario(
        "reconcile starting one queued request",
        "schedule",
        lambda: {"schedule": "*/10 * * * *"},
        (5, 2),
        {"mode": "reconcile", "max_running": "2"},
        _one_running_one_queued,
    ),
    Scenario(
        "a re-run of the same request (wait off)",
        "issue_comment",
        lambda: comment_event("/rebyte fix the typo"),
        (3, 0),
        {},
        _first_request,
        {"GITHUB_RUN_ATTEMPT": "2"},  # a re-run is the same workflow run's next attempt
    ),
    # With the repository's config file (.github/rebyte.yml): one read a run, when the run can use it.
    Scenario(
        "/rebyte review, a command of the config file",
        "issue_comment",
        lambda: comment_event("/rebyte review"),
        (8, 1),
        CONFIG,
        _config_file,
    ),
    Scenario(
        "an issue labeled bug, a label of the file", "issues", _bug_label("bug"), (8, 1), CONFIG, _config_file
    ),
    Scenario(
        "a label neither the input nor the file names",
        "issues",
        _bug_label("wontfix"),
        (1, 0),
        CONFIG,
        _config_file,
    ),
    Scenario(
        "/rebyte status, file on (not read)",
        "issue_comment",
        _later("/rebyte status"),
        (5, 1),
        CONFIG,
        _file_and_first_request,
    ),
]


def count(scenario: Scenario) -> tuple[int, int, list[str], list[str]]:
    """The GitHub and Rebyte requests of the scenario's own run (earlier runs not counted)."""
    with (
        tempfile.TemporaryDirectory() as workdir,
        Emulator(EmulatorConfig(task_seconds=30.0)) as emulator,
        FakeGitHub() as github,
    ):
        github.set_permission("Codertocat", "admin")
        github.set_permission("reader", "read")
        github.add_pull(1, head_ref="fix/typo")
        action = Action(emulator, github, Path(workdir))
        if scenario.before is not None:
            scenario.before(action)
        event = scenario.arrange(action) if scenario.arrange is not None else scenario.event()
        github_before, rebyte_before = len(github.calls()), len(emulator.requests())
        result = action.run(scenario.event_name, event, raw_env=scenario.env, **scenario.inputs)
        if result.returncode != 0:
            raise RuntimeError(f"{scenario.name}: exit {result.returncode}\n{result.log}")
        github_calls = github.calls()[github_before:]
        rebyte_calls = [f"{r.method} {r.path}" for r in emulator.requests()[rebyte_before:]]
        return len(github_calls), len(rebyte_calls), github_calls, rebyte_calls


def measure() -> tuple[dict[str, Any], list[str]]:
    figures: dict[str, Any] = {}
    table = ["| trigger | GitHub | Rebyte | minimum | |", "|---|---|---|---|---|"]
    for scenario in SCENARIOS:
        github_n, rebyte_n, github_calls, rebyte_calls = count(scenario)
        low_github, low_rebyte = scenario.minimum
        met = "ok" if github_n <= low_github and rebyte_n <= low_rebyte else "over"
        figures[scenario.name] = {
            "github": github_n,
            "rebyte": rebyte_n,
            "minimum": {"github": low_github, "rebyte": low_rebyte},
            "github_calls": github_calls,
            "rebyte_calls": rebyte_calls,
        }
        table.append(f"| {scenario.name} | {github_n} | {rebyte_n} | {low_github} + {low_rebyte} | {met} |")
    return figures, table
