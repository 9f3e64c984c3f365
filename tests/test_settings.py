"""The step's inputs as the runner passes them (INPUT_* variables), read into Settings."""

from __future__ import annotations

import os

import pytest

from rebyte_action.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("INPUT_", "GITHUB_", "REBYTE_")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        (" false ", False),
        ("No", False),
        ("off", False),
        ("0", False),
    ],
)
def test_booleans_take_what_workflow_authors_write(
    monkeypatch: pytest.MonkeyPatch, given: str, read: bool
) -> None:
    monkeypatch.setenv("INPUT_ALLOW-FORKS", given)
    monkeypatch.setenv("INPUT_WAIT", given)
    settings = load_settings()
    assert settings.allow_forks is read
    assert settings.wait == ("true" if read else "false")


def test_every_bad_input_is_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_CHECK-RUN", "maybe")
    monkeypatch.setenv("INPUT_TIMEOUT-MINUTES", "abc")
    monkeypatch.setenv("INPUT_PERMISSION", "none")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert "input 'check-run': must be true or false" in message
    assert (
        "input 'timeout-minutes': must be a number of minutes > 0, at most 50400 (35 days) (got 'abc')"
        in message
    )
    assert "input 'permission': must be one of read, triage, write, maintain, admin (got 'none')" in message
