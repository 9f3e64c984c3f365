"""The secret watch (tests/leaks.py, on for every test) can fail, and the action leaks nothing.

The watch's checker is called directly on deliberate leaks, so that no test here fails on
purpose; the autouse fixture in conftest.py then checks every other test's runs.
"""

from __future__ import annotations

import httpx
import pytest

from rebyte_action.rebyte.emulator import Emulator, EmulatorConfig
from rebyte_action.testing import FakeGitHub

from .action_harness import GITHUB_TOKEN, REBYTE_KEY, Action, ActionResult, comment_event
from .leaks import CLIENT_KEY, SecretWatch, find_leaks, fragments


def test_the_checker_finds_a_secret_whole_or_any_eight_characters_of_it_but_not_seven() -> None:
    assert find_leaks([("log", f"key={REBYTE_KEY}")])
    assert find_leaks([("log", f"token …{GITHUB_TOKEN[9:17]}…")])  # 8 from the middle
    assert find_leaks([("log", CLIENT_KEY[-8:])])
    assert not find_leaks([("log", f"…{REBYTE_KEY[5:12]}…")])  # 7 are not enough
    assert not find_leaks([("log", f"::add-mask::{REBYTE_KEY}\n::add-mask::{GITHUB_TOKEN}")])
    assert find_leaks([("log", f"::add-mask::x\nsaid {REBYTE_KEY}")]) == [f"log: {REBYTE_KEY!r} (of rbk_…)"]
    assert len(fragments(GITHUB_TOKEN)) == len(GITHUB_TOKEN) - 7


def test_the_watch_catches_a_leak_in_a_comment_a_header_a_prompt_and_a_run() -> None:
    watch = SecretWatch()
    with FakeGitHub() as github, Emulator(EmulatorConfig(task_seconds=0.2)) as emulator:
        watch.github.append(github)
        watch.emulators.append(emulator)
        assert watch.leaks() == []
        httpx.post(
            f"{github.url}/repos/{github.repository}/issues/1/comments",
            json={"body": f"the key is {REBYTE_KEY}"},
            headers={"Authorization": f"token {GITHUB_TOKEN}"},  # where the token belongs: not a leak
        )
        httpx.get(f"{github.url}/repos/{github.repository}", headers={"X-Debug": GITHUB_TOKEN[4:14]})
        httpx.post(
            f"{emulator.url}/v1/tasks",
            json={"prompt": f"deploy with {CLIENT_KEY}"},
            headers={"API_KEY": CLIENT_KEY},  # the Rebyte key's place: not recorded, not a leak
        )
        watch.results.append(ActionResult(0, f"::add-mask::{REBYTE_KEY}\n", "", {"x": REBYTE_KEY[:9]}, ""))
        leaks = watch.leaks()
    places = sorted({leak.split(":")[0].split(" body")[0] for leak in leaks})
    assert [p for p in places if p.startswith("GitHub request POST")]  # the comment's body
    assert [p for p in places if p.startswith("GitHub request GET")]  # the header
    assert [p for p in places if p.startswith("GitHub comment")]
    assert [p for p in places if p.startswith("Rebyte task") and p.endswith("prompt")]
    assert [p for p in places if p.startswith("Rebyte task") and p.endswith("title")]
    assert places[-1] == "run 1 outputs"
    assert not [leak for leak in leaks if "stdout" in leak]  # the ::add-mask:: line


@pytest.mark.parametrize(
    "text",
    [
        f"/rebyte deploy it, the key is {REBYTE_KEY} and the token {GITHUB_TOKEN}",
        f"/rebyte --skill {REBYTE_KEY} deploy it",
        f"/rebyte --bogus {GITHUB_TOKEN}",
        f"/rebyte --executor {REBYTE_KEY} fix it",
    ],
    ids=["in-the-prompt", "as-an-option", "in-a-usage-error", "as-an-unknown-executor"],
)
def test_a_secret_a_user_writes_in_a_request_is_neither_sent_nor_repeated(
    action: Action, emulator: Emulator, github: FakeGitHub, text: str
) -> None:
    """The user's own text, but the step's secrets: replaced by *** in the prompt and in
    whatever the action writes; the autouse watch checks the rest of the run."""
    result = action.run("issue_comment", comment_event(text))
    assert result.returncode == 0, result.log
    shown = [line for line in result.log.splitlines() if not line.startswith("::add-mask::")]
    written = (
        "\n".join(shown) + str(result.outputs) + result.summary + str([c["body"] for c in github.comments(1)])
    )
    assert REBYTE_KEY.lower() not in written.lower() and GITHUB_TOKEN.lower() not in written.lower()
    for task in emulator.state.tasks.values():
        assert "***" in task.prompts[0].text + " ".join(task.skills)
        assert "Rebyte key or GitHub token: replaced by ***" in result.log
