from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rebyte_action.rebyte import RebyteClient, RetryPolicy
from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from .action_harness import Action

API_KEY = "rbk_test_0123456789abcdef"


class FakeTime:
    """A clock that moves only when the code under test sleeps: waits are observed, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(task_seconds=0.2)) as running:
        yield running


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(emulator: Emulator, fake_time: FakeTime) -> Iterator[RebyteClient]:
    with RebyteClient(
        API_KEY,
        base_url=emulator.url,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        retry=RetryPolicy(max_attempts=4, jitter=0.0),
        timeout=5.0,
    ) as rebyte:
        yield rebyte


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.set_permission("Codertocat", "admin")
        yield fake


@pytest.fixture
def action(emulator: Emulator, github: FakeGitHub, tmp_path: Path) -> Action:
    return Action(emulator, github, tmp_path)
