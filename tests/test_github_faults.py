"""GitHub failing under the action, through the real entry point: rate limits waited out,
server errors retried where a second try can do no harm, refusals reported where they belong.

Each test is a row of the fault table in ``tests/README.md``.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rebyte_action.github import GitHub, GitHubError
from rebyte_action.github_retry import Failure, GiveUp, Retry, RetryPolicy, Tries, decide, rate_limit_wait
from rebyte_action.rebyte.emulator import Emulator
from rebyte_action.testing import FakeGitHub
from rebyte_action.testing.github_faults import SECONDARY_MESSAGE, primary_rate_limit, secondary_rate_limit

from .action_harness import GITHUB_TOKEN, REPO, Action, ActionResult, comment_event
from .conftest import FakeTime
from .test_action import PERMISSION, POST_COMMENT_1, REACT_ON_COMMENT, R, assert_no_secrets, only_task

FAST = {"REBYTE_ACTION_POLL_SECONDS": "0.05"}
PERMISSION_ROUTE = f"{R}/collaborators/Codertocat/permission"
REACTION_ROUTE = f"{R}/issues/comments/492700400/reactions"
COMMENTS_ROUTE = f"{R}/issues/1/comments"
EDIT_ROUTE = f"{R}/issues/comments/"
CHECK_RUNS_ROUTE = f"{R}/check-runs"
NOT_ACCESSIBLE = "Resource not accessible by integration"


def tries(github: FakeGitHub, method: str, route: str) -> int:
    return sum(1 for r in github.requests() if r.method == method and r.route.startswith(route))


def assert_answered_once(result: ActionResult, emulator: Emulator, github: FakeGitHub) -> None:
    """One task, one answer (started, with the task's URL), a clean exit and no secret anywhere."""
    assert result.returncode == 0, result.log
    task = only_task(emulator)
    (answer,) = github.comments(1)
    assert f"https://app.rebyte.ai/run/{task.id}" in answer["body"]
    assert "Rebyte task started" in answer["body"]
    assert_no_secrets(result, github)


# -- rate limits, waited out ---------------------------------------------------------


RATE_LIMITS = [
    # The three ways GitHub says "rate limited", each asking for no wait so that the tests are quick.
    lambda: secondary_rate_limit(status=403, retry_after="0"),
    lambda: secondary_rate_limit(status=429, retry_after="0"),
    lambda: primary_rate_limit(int(time.time())),  # x-ratelimit-remaining: 0, reset now
]
CALLS = [  # every call of a run that starts a task with a check run: one read, four writes
    ("GET", PERMISSION_ROUTE, "read the user's permission"),
    ("POST", COMMENTS_ROUTE, "comment on #1"),
    ("PATCH", EDIT_ROUTE, "update the status comment"),
    ("POST", REACTION_ROUTE, "add the eyes reaction"),
    ("POST", CHECK_RUNS_ROUTE, "create the check run"),
]


@pytest.mark.parametrize("shift", [0, 1, 2], ids=["permission-403", "permission-429", "permission-reset"])
def test_a_rate_limit_on_every_call_is_waited_out_and_each_call_sent_again(
    action: Action, emulator: Emulator, github: FakeGitHub, shift: int
) -> None:
    """Each call meets one of the three forms; over the three runs every call meets every form."""
    for index, (method, route, _) in enumerate(CALLS):
        github.fault(method, route, **RATE_LIMITS[(index + shift) % 3](), times=1)
    result = action.run("issue_comment", comment_event("/rebyte fix"), check_run="true", wait="false")
    assert_answered_once(result, emulator, github)
    for method, route, words in CALLS:
        assert tries(github, method, route) >= 2, f"{method} {route}"  # refused once, then carried out
        assert f"then trying again to {words}" in result.stdout
    assert "::warning" not in result.stdout  # waited out: nothing was lost
    assert len(github.check_runs()) == 1
    assert len(github.reactions()) == 1


def test_input_4_a_secondary_rate_limit_on_the_pending_comment_is_waited_out(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    """The issue's input 4: the first write meets 403, Retry-After: 1, "secondary rate limit"."""
    github.fault("POST", COMMENTS_ROUTE, **secondary_rate_limit(status=403, retry_after="1"))
    started = time.monotonic()
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured, not skipped
    assert_answered_once(result, emulator, github)
    assert len(emulator.requests("POST", "/v1/tasks")) == 1
    assert tries(github, "POST", COMMENTS_ROUTE) == 2
    assert (
        "Waiting 1 s for GitHub's secondary rate limit, then trying again to comment on #1" in result.stdout
    )


def test_a_rate_limit_asking_for_a_longer_wait_than_the_bound_fails_clearly_and_starts_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fault("POST", COMMENTS_ROUTE, **secondary_rate_limit(retry_after="3600"), times=-1)
    started = time.monotonic()
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert time.monotonic() - started < 30  # the hour was not waited
    assert result.returncode == 1
    assert emulator.requests() == []
    assert github.comments(1) == []
    assert "::error" in result.stdout
    assert (
        "asks to wait 3600 s" in result.stdout and "longer than the 60 s this action waits" in result.stdout
    )


def test_a_used_up_rate_limit_resetting_in_an_hour_fails_clearly_on_a_read(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fault("GET", PERMISSION_ROUTE, **primary_rate_limit(int(time.time()) + 3600), times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert result.returncode == 1
    assert emulator.requests() == []
    assert "::error title=rebyte-action::GitHub call failed" in result.stdout
    assert "API rate limit exceeded" in result.stdout and "run the job again later" in result.stdout
    assert tries(github, "GET", PERMISSION_ROUTE) == 1


def test_a_rate_limit_that_never_lifts_is_retried_a_bounded_number_of_times(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fault("POST", COMMENTS_ROUTE, **secondary_rate_limit(retry_after="0"), times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert result.returncode == 1
    assert emulator.requests() == []
    assert tries(github, "POST", COMMENTS_ROUTE) == 1 + RetryPolicy().rate_limit_tries
    assert "still held by GitHub's secondary rate limit after 5 retries" in result.stdout


def test_the_waits_of_one_run_stop_at_the_budget(github: FakeGitHub, fake_time: FakeTime) -> None:
    """60 s at a time, five minutes in all: the sixth wait would pass the budget, so it fails."""
    github.fault("GET", PERMISSION_ROUTE, **secondary_rate_limit(retry_after=None), times=-1)
    client = GitHub(GITHUB_TOKEN, github.url, REPO, sleep=fake_time.sleep, clock=fake_time.clock)
    with pytest.raises(GitHubError) as raised:
        client.permission("Codertocat")
    assert fake_time.sleeps == [60.0] * 5  # no Retry-After: GitHub asks for at least a minute
    assert client.waited == 300.0
    assert raised.value.rate_limited and raised.value.status == 403
    assert "after 5 retries and 300 s of waiting" in str(raised.value)
    assert GITHUB_TOKEN not in str(raised.value)


def test_the_budget_is_shared_by_every_call_of_the_run(github: FakeGitHub, fake_time: FakeTime) -> None:
    limit = secondary_rate_limit(retry_after="50")
    client = GitHub(
        GITHUB_TOKEN,
        github.url,
        REPO,
        policy=RetryPolicy(budget=90.0),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    github.fault("GET", PERMISSION_ROUTE, **limit)
    client.permission("Codertocat")  # waits 50 s, then goes through
    github.fault("GET", PERMISSION_ROUTE, **limit)
    with pytest.raises(GitHubError, match="0 retries and 50 s of waiting"):
        client.permission("Codertocat")  # 50 more would pass the 90 s of the run
    assert fake_time.sleeps == [50.0]


def test_a_reset_time_is_waited_until_on_the_injected_clock(github: FakeGitHub, fake_time: FakeTime) -> None:
    github.fault("GET", PERMISSION_ROUTE, **primary_rate_limit(int(fake_time.now) + 42))
    client = GitHub(GITHUB_TOKEN, github.url, REPO, sleep=fake_time.sleep, clock=fake_time.clock)
    heard: list[str] = []
    client._on_wait = heard.append
    assert client.permission("Codertocat").name == "ADMIN"
    assert fake_time.sleeps == [42.0]
    assert heard == ["Waiting 42 s for GitHub's rate limit, then trying again to read the user's permission"]


# -- server errors: reads retried, a new comment never posted twice ------------------


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({"status": 500}, id="500"),
        pytest.param({"status": 502, "kind": "html"}, id="502-html"),
        pytest.param({"kind": "drop"}, id="dropped-connection"),
    ],
)
def test_a_server_error_on_a_read_is_retried(
    action: Action, emulator: Emulator, github: FakeGitHub, how: dict[str, Any]
) -> None:
    github.fault("GET", PERMISSION_ROUTE, **how, times=2)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)
    assert tries(github, "GET", PERMISSION_ROUTE) == 3


def test_a_502_on_every_read_fails_after_the_bounded_retries_and_starts_nothing(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fault("GET", PERMISSION_ROUTE, status=502, kind="html", times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert result.returncode == 1
    assert emulator.requests() == []
    assert tries(github, "GET", PERMISSION_ROUTE) == 1 + RetryPolicy().server_retries
    assert "HTTP 502: an HTML page instead of GitHub's JSON" in result.stdout
    assert "<html>" not in result.stdout


def test_a_502_on_the_thread_read_is_retried(action: Action, emulator: Emulator, github: FakeGitHub) -> None:
    github.fault("GET", COMMENTS_ROUTE, status=502, kind="html", times=1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)


@pytest.mark.parametrize("kind", ["html", "drop"])
def test_a_pending_comment_that_github_posted_behind_a_502_is_found_and_not_posted_twice(
    action: Action, emulator: Emulator, github: FakeGitHub, kind: str
) -> None:
    github.fault("POST", COMMENTS_ROUTE, status=502, kind=kind, after=True)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)  # the one comment GitHub posted is the answer
    assert tries(github, "POST", COMMENTS_ROUTE) == 1  # never sent again
    assert "GitHub posted the answer although its reply was lost" in result.stdout
    assert len(emulator.requests("POST", "/v1/tasks")) == 1


@pytest.mark.parametrize("kind", ["html", "drop"])
def test_a_pending_comment_lost_behind_a_502_is_posted_again_once_the_thread_shows_it_missing(
    action: Action, emulator: Emulator, github: FakeGitHub, kind: str
) -> None:
    github.fault("POST", COMMENTS_ROUTE, status=502, kind=kind)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)
    assert tries(github, "POST", COMMENTS_ROUTE) == 2
    assert "the thread does not have it: posting it" in result.stdout


def test_a_pending_comment_failing_twice_behind_502s_is_an_error_and_no_task_starts(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    github.fault("POST", COMMENTS_ROUTE, status=502, kind="html", times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert result.returncode == 1
    assert tries(github, "POST", COMMENTS_ROUTE) == 2  # the first, and one after the thread was read
    assert github.comments(1) == [] and emulator.requests() == []
    assert "::error" in result.stdout and "GitHub may have carried it out" in result.stdout


def test_a_5xx_on_the_answers_edit_is_retried(action: Action, emulator: Emulator, github: FakeGitHub) -> None:
    github.fault("PATCH", EDIT_ROUTE, status=503, times=2)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)
    assert tries(github, "PATCH", EDIT_ROUTE) == 3


# -- refusals: 403 and 404 -----------------------------------------------------------

REFUSALS = [
    pytest.param(403, NOT_ACCESSIBLE, id="403"),
    pytest.param(404, "Not Found", id="404"),
]


@pytest.mark.parametrize(("status", "message"), REFUSALS)
def test_a_refused_permission_check_is_not_permitted_and_says_so(
    action: Action, emulator: Emulator, github: FakeGitHub, status: int, message: str
) -> None:
    github.fault("GET", PERMISSION_ROUTE, status=status, message=message, times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert emulator.requests() == []
    (reply,) = github.comments(1)
    assert "needs **write** permission" in reply["body"]
    assert "@Codertocat" in reply["body"]
    assert tries(github, "GET", PERMISSION_ROUTE) == 1  # a refusal is not sent again
    if status == 404:  # GitHub's answer for someone who is not a collaborator: no role
        assert result.returncode == 0
        assert "you have **none**" in reply["body"]
        assert "permission" in result.outputs["skipped"]
    else:  # the token may not read roles: the workflow must be fixed, so the run fails
        assert result.returncode == 1
        assert "GitHub would not tell this workflow yours" in reply["body"]
        assert (
            "::error title=rebyte-action::Not permitted: could not read @Codertocat's permission"
            in result.stdout
        )
        assert NOT_ACCESSIBLE in result.stdout and "Metadata: read" in result.stdout
        assert "### Rebyte: not permitted: could not read @Codertocat's permission" in result.summary


@pytest.mark.parametrize(("status", "message"), REFUSALS)
def test_a_refused_reaction_is_a_warning_and_the_run_goes_on(
    action: Action, emulator: Emulator, github: FakeGitHub, status: int, message: str
) -> None:
    github.fault("POST", REACTION_ROUTE, status=status, message=message, times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)
    warning = "::warning title=rebyte-action::could not add the eyes reaction: GitHub refused to add"
    assert f"{warning} the eyes reaction: HTTP {status}: {message}" in result.stdout
    assert tries(github, "POST", REACTION_ROUTE) == 1


@pytest.mark.parametrize(("status", "message"), REFUSALS)
def test_a_refused_pending_comment_is_an_error_and_no_task_starts(
    action: Action, emulator: Emulator, github: FakeGitHub, status: int, message: str
) -> None:
    github.fault("POST", COMMENTS_ROUTE, status=status, message=message, times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert result.returncode == 1
    assert emulator.requests() == []
    assert emulator.state.tasks == {}
    error = "::error title=rebyte-action::GitHub call failed: GitHub refused to comment on #1"
    assert f"{error}: HTTP {status}: {message}" in result.stdout
    assert tries(github, "POST", COMMENTS_ROUTE) == 1
    assert result.outputs["task-id"] == ""


@pytest.mark.parametrize(("status", "message"), REFUSALS)
def test_a_refused_answer_edit_still_reports_the_task_in_the_log_outputs_and_summary(
    action: Action, emulator: Emulator, github: FakeGitHub, status: int, message: str
) -> None:
    github.fault("PATCH", EDIT_ROUTE, status=status, message=message, times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert result.returncode == 1
    task = only_task(emulator)
    url = f"https://app.rebyte.ai/run/{task.id}"
    assert url in result.stdout
    assert result.outputs["task-url"] == url and result.outputs["task-id"] == task.id
    assert url in result.summary
    assert f"GitHub refused to update the status comment: HTTP {status}: {message}" in result.stdout
    assert tries(github, "PATCH", EDIT_ROUTE) >= 1
    assert len(emulator.requests("POST", "/v1/tasks")) == 1


@pytest.mark.parametrize(("status", "message"), REFUSALS)
def test_a_refused_check_run_is_a_warning_and_the_task_is_still_followed(
    action: Action, emulator: Emulator, github: FakeGitHub, status: int, message: str
) -> None:
    github.fault("POST", CHECK_RUNS_ROUTE, status=status, message=message, times=-1)
    result = action.run("issue_comment", comment_event("/rebyte fix"), check_run="true", raw_env=FAST)
    assert result.returncode == 0, result.log
    assert "::warning" in result.stdout and "Could not create the check run" in result.stdout
    assert f"HTTP {status}: {message}" in result.stdout
    assert github.check_runs() == []
    assert "| Status | ✅ completed |" in github.comments(1)[0]["body"]


@pytest.mark.parametrize(("status", "message"), REFUSALS)
def test_refused_comment_edits_while_waiting_leave_the_wait_going_on(
    action: Action, emulator: Emulator, github: FakeGitHub, status: int, message: str
) -> None:
    # The started answer goes through; every edit after it, while the task runs, is refused.
    github.fault("PATCH", EDIT_ROUTE, status=status, message=message, times=-1, skip=1)
    result = action.run(
        "issue_comment", comment_event("/rebyte fix"), check_run="true", wait="true", raw_env=FAST
    )
    assert result.returncode == 0, result.log
    assert result.outputs["status"] == "completed"
    assert "::warning" in result.stdout and "Could not update the status comment" in result.stdout
    (run,) = github.check_runs()
    assert run["status"] == "completed" and run["conclusion"] == "success"
    assert tries(github, "PATCH", EDIT_ROUTE) >= 2
    assert_no_secrets(result, github)


def test_the_calls_of_a_run_without_faults_are_unchanged(
    action: Action, emulator: Emulator, github: FakeGitHub
) -> None:
    """The retry layer sends nothing extra when GitHub answers: the fault tests' baseline."""
    result = action.run("issue_comment", comment_event("/rebyte fix"))
    assert_answered_once(result, emulator, github)
    assert github.calls()[:2] == [PERMISSION, REACT_ON_COMMENT]
    assert github.calls().count(POST_COMMENT_1) == 1
    assert "Waiting" not in result.stdout


# -- the decisions, on plain data ----------------------------------------------------

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("status", "headers", "message", "wait"),
    [
        (403, {"Retry-After": "7"}, "", 7.0),
        (429, {"retry-after": "0.5"}, "", 0.5),
        (403, {"Retry-After": "Tue, 14 Nov 2023 22:13:40 GMT"}, "", 20.0),  # an HTTP date, 20 s on
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}, "", 30.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}, "", 0.0),
        (403, {"x-ratelimit-remaining": "0"}, "", 60.0),  # no reset: at least a minute
        (403, {"x-ratelimit-remaining": "12"}, SECONDARY_MESSAGE, 60.0),
        (429, {}, "", 60.0),
        (403, {"Retry-After": "inf"}, "API rate limit exceeded", 60.0),  # unreadable: as if absent
        (403, {"x-ratelimit-remaining": "12"}, "Resource not accessible by integration", None),
        (404, {"Retry-After": "1"}, "Not Found", None),
        (500, {"Retry-After": "1"}, "", None),
    ],
)
def test_rate_limit_wait_reads_githubs_headers(
    status: int, headers: dict[str, str], message: str, wait: float | None
) -> None:
    assert rate_limit_wait(status, headers, message, NOW) == wait


def test_a_5xx_on_a_call_not_safe_to_repeat_is_given_up_at_once_and_says_why() -> None:
    verdict = decide(RetryPolicy(), Failure(502, {}, "Bad Gateway", False), Tries(), waited=0, now=NOW)
    assert isinstance(verdict, GiveUp) and verdict.note and "may have carried it out" in verdict.note
    assert not verdict.rate_limited


def test_a_5xx_on_a_safe_call_backs_off_doubling_then_gives_up() -> None:
    policy, failure = RetryPolicy(backoff=0.5, server_retries=2), Failure(503, {}, "", True)
    waits = [decide(policy, failure, Tries(server_errors=n), waited=0, now=NOW) for n in range(3)]
    assert waits[:2] == [Retry(0.5, "after HTTP 503 from GitHub"), Retry(1.0, "after HTTP 503 from GitHub")]
    assert waits[2] == GiveUp(None)


def test_a_rate_limit_is_waited_out_even_on_a_call_not_safe_to_repeat() -> None:
    failure = Failure(403, {"Retry-After": "3"}, SECONDARY_MESSAGE, False)
    assert decide(RetryPolicy(), failure, Tries(), waited=0, now=NOW) == Retry(
        3.0, "for GitHub's secondary rate limit"
    )


def test_other_refusals_are_not_sent_again() -> None:
    for status in (400, 401, 404, 410, 422):
        assert decide(RetryPolicy(), Failure(status, {}, "", True), Tries(), waited=0, now=NOW) == GiveUp(
            None
        )


# Tests whose parameters share one row: the rotation over three runs, the decisions' cases.
UNLISTED_PARAMETERS = (
    "test_a_rate_limit_on_every_call_is_waited_out_and_each_call_sent_again",
    "test_rate_limit_wait_reads_githubs_headers",
)


def test_the_github_fault_table_lists_every_test(request: pytest.FixtureRequest) -> None:
    """tests/README.md's GitHub table has a row per test here (with each parameter), and no other."""
    text = (Path(__file__).parent / "README.md").read_text()
    section = text.split("\n## GitHub\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`test_" in line]
    named = {name for row in rows for name in re.findall(r"`(test_\w+)", row)}
    here = [item for item in request.session.items if item.module is sys.modules[__name__]]
    functions = {item.originalname for item in here if isinstance(item, pytest.Function)}
    functions |= {name for name in globals() if name.startswith("test_")}
    assert named == functions - {"test_the_github_fault_table_lists_every_test"}
    for item in here:  # each parameter's id in a row of its test (a test may have several rows)
        assert isinstance(item, pytest.Function)
        if "[" not in item.name or item.originalname in UNLISTED_PARAMETERS:
            continue
        its_rows = [row for row in rows if f"`{item.originalname}" in row]
        assert any(f"[{item.callspec.id}]" in row for row in its_rows), item.name
