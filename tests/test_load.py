"""Load: the emulator under many clients, and many runs of the real entry point at once.

Marked ``load``: ``make test`` leaves them out, ``make test-load`` (and ``.ci/run``) runs them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rebyte_action.rebyte import NO_RETRY, RebyteClient
from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from .action_harness import Action, comment_event
from .conftest import API_KEY

pytestmark = [pytest.mark.load, pytest.mark.timeout(600)]

CLIENTS = 50
ROUNDS = 10  # each a create, a read, a follow-up and a list: 4 requests
FAST = {"REBYTE_ACTION_POLL_SECONDS": "0.1"}


def test_the_emulator_serves_50_concurrent_clients_2000_requests_without_an_error_or_a_lost_task() -> None:
    with Emulator(EmulatorConfig(task_seconds=0.2)) as emulator:
        start = threading.Barrier(CLIENTS)

        def client(n: int) -> list[str]:
            created = []
            # No retries: an error anywhere would surface, not be hidden by a second attempt.
            with RebyteClient(API_KEY, base_url=emulator.url, retry=NO_RETRY, timeout=60) as rebyte:
                start.wait()
                for round_ in range(ROUNDS):
                    task = rebyte.create_task(f"client {n} round {round_}")
                    assert rebyte.get_task(task.id).id == task.id
                    rebyte.follow_up(task.id, f"client {n} round {round_}, again")
                    assert rebyte.list_tasks(limit=100).total >= 1
                    created.append(task.id)
            return created

        with ThreadPoolExecutor(CLIENTS) as pool:
            ids = [task for created in pool.map(client, range(CLIENTS)) for task in created]

        sent = emulator.requests()
        assert len(sent) == CLIENTS * ROUNDS * 4 == 2000
        assert [r for r in sent if not 200 <= r.status < 300] == []
        assert len(set(ids)) == len(ids) == CLIENTS * ROUNDS
        assert set(emulator.state.tasks) == set(ids)  # none lost, none made up
        assert all(len(task.prompts) == 2 for task in emulator.state.tasks.values())


def request(issue: int, comment_id: int, text: str) -> dict[str, Any]:
    event = comment_event(text)
    event["issue"]["number"] = issue
    event["comment"]["id"] = comment_id
    return event


def test_twenty_runs_at_once_for_twenty_issues_make_twenty_tasks_and_twenty_answers(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    started = [
        action.start("issue_comment", request(issue, issue * 10, f"/rebyte fix #{issue}"), raw_env=FAST)
        for issue in range(1, 21)
    ]
    results = [run.result(timeout=400) for run in started]
    assert [r.returncode for r in results] == [0] * 20, [r.log for r in results if r.returncode]
    assert len(emulator.state.tasks) == 20
    assert len(emulator.requests("POST", "/v1/tasks")) == 20
    titles = sorted(task.title for task in emulator.state.tasks.values())
    assert titles == sorted(f"fix #{issue}" for issue in range(1, 21))
    for issue, result in zip(range(1, 21), results, strict=True):
        (answer,) = github.comments(issue)
        assert "🚀 **Rebyte task started**" in answer["body"]
        assert result.outputs["task-url"] in answer["body"]
        assert emulator.state.tasks[result.outputs["task-id"]].title == f"fix #{issue}"


def test_the_same_delivery_run_twice_at_once_makes_one_task(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    emulator.config.latency = 0.3  # creating takes a while, so the runs overlap
    for issue in (31, 32, 33):
        event = request(issue, issue * 10, "/rebyte fix it")
        runs = [action.start("issue_comment", event, raw_env=FAST) for _ in range(2)]
        results = [run.result(timeout=200) for run in runs]
        assert sorted(r.returncode for r in results) == [0, 0], [r.log for r in results]
        ids = {r.outputs["task-id"] for r in results} - {""}
        assert len(ids) == 1, f"issue {issue}: {len(ids)} tasks"
        (task,) = [emulator.state.tasks[i] for i in ids]
        assert len(task.prompts) == 1  # not sent to it a second time either
        bodies = [c["body"] for c in github.comments(issue)]
        assert sum("🚀 **Rebyte task started**" in body for body in bodies) == 1, bodies
    assert len(emulator.state.tasks) == 3
