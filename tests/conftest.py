from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rebyte_action.rebyte import RebyteClient, RetryPolicy
from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from .action_harness import FORK_SERVER, Action
from .leaks import CLIENT_KEY, WATCH

API_KEY = CLIENT_KEY


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-load", action="store_true", help="run the tests marked load (make test-load); else left out"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the load tests (minutes of many processes at once) unless --run-load is given."""
    if config.getoption("--run-load"):
        return
    load = [item for item in items if item.get_closest_marker("load")]
    if load:
        config.hook.pytest_deselected(items=load)
        items[:] = [item for item in items if not item.get_closest_marker("load")]


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


@pytest.fixture(autouse=True)
def no_secret_leaks() -> Iterator[None]:
    """Every test: no secret of the step, whole or in part, in anything the action emitted.

    Recorded (tests/leaks.py): every request the ``github`` fixture received (path, query,
    headers but Authorization, body) and every comment it holds; every prompt and title the
    ``emulator`` fixture holds; every run of the ``action`` fixture (stdout and stderr, the
    outputs, the step summary). The secrets are the harness's Rebyte key and GitHub token
    and the in-process client's key. "In part" is any 8 (``leaks.FRAGMENT``) or more consecutive
    characters of a secret. The runner's ``::add-mask::`` lines are exempt: they must name
    the secret, and the runner never shows them. Servers and runs a test makes on its own,
    outside these fixtures, are not watched.
    """
    WATCH.reset()
    yield
    leaks = WATCH.leaks()
    WATCH.reset()
    if leaks:
        pytest.fail("a secret leaked:\n" + "\n".join(leaks), pytrace=False)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(task_seconds=0.2)) as running:
        WATCH.emulators.append(running)
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
        WATCH.github.append(fake)
        yield fake


@pytest.fixture
def action(emulator: Emulator, github: FakeGitHub, tmp_path: Path) -> Action:
    """Runs forked from this worker's fork server (tests/fork_server.py; REBYTE_TEST_SUBPROCESS=1: not)."""
    return Action(emulator, github, tmp_path, fork_server=FORK_SERVER)
