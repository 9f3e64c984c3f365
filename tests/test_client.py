"""The Rebyte client against the emulator, over real loopback sockets."""

from __future__ import annotations

import itertools
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest

from rebyte_action.rebyte import (
    NO_RETRY,
    APIError,
    Executor,
    LimitExceededError,
    NotFoundError,
    RebyteClient,
    RetryPolicy,
    ServerError,
    Task,
    TaskStatus,
    TransportError,
    UnauthorizedError,
    UnexpectedResponse,
    ValidationError,
    Visibility,
    WaitTimeout,
)
from rebyte_action.rebyte.emulator import Emulator

from .conftest import API_KEY, FakeTime


def test_a_created_task_carries_its_live_url_and_workspace(client: RebyteClient) -> None:
    created = client.create_task("Add unit tests", github_url="octo/repo", branch_name="dev")
    assert created.status is TaskStatus.RUNNING
    assert created.url == f"https://app.rebyte.ai/run/{created.id}"
    assert created.workspace_id
    task = client.get_task(created.id)
    assert task.id == created.id
    assert task.title == "Add unit tests"
    assert task.executor is Executor.OPENCODE
    assert task.model == "lite"
    assert [p.status.value for p in task.prompts] == ["running"]


def test_every_create_field_reaches_the_service(client: RebyteClient, emulator: Emulator) -> None:
    upload = client.upload_file(b"x", filename="notes.txt")
    first = client.create_task("first")
    created = client.create_task(
        "do it",
        executor="claude",
        model="pro",
        skills=["deep-research", "pdf"],
        files=[upload],
        github_url="octo/repo",
        branch_name="feature/x",
        workspace_id=first.workspace_id,
    )
    stored = emulator.state.tasks[created.id]
    assert (stored.executor, stored.model, stored.skills) == ("claude", "pro", ["deep-research", "pdf"])
    assert stored.files == [{"id": upload.id, "filename": upload.filename}]
    assert (stored.github_url, stored.branch_name) == ("octo/repo", "feature/x")
    assert created.workspace_id == first.workspace_id


def test_upload_from_a_path_keeps_the_bytes_and_never_sends_the_key_to_the_upload_url(
    client: RebyteClient, emulator: Emulator, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 10
    source = tmp_path / "report.pdf"
    source.write_bytes(data)
    upload = client.upload_file(source)
    assert upload.filename.startswith("report-")
    assert upload.filename.endswith(".pdf")
    assert httpx.get(upload.upload_url).content == data
    (put,) = [r for r in emulator.requests("PUT")]
    assert put.sent_api_key is False
    assert all(r.sent_api_key for r in emulator.requests(path="/v1/files"))


def test_a_task_lists_the_files_it_was_created_with(client: RebyteClient, emulator: Emulator) -> None:
    upload = client.upload_file(b"a,b\n1,2\n", filename="data.csv")
    created = client.create_task("Analyse it", files=[upload])
    assert emulator.state.tasks[created.id].files == [upload.ref().model_dump()]


def test_wait_follows_a_task_to_completion_and_reports_each_change(emulator: Emulator) -> None:
    seen: list[str] = []
    with RebyteClient(API_KEY, base_url=emulator.url) as client:
        created = client.create_task("quick job [emulate:seconds=1]")  # long enough to be seen running
        done = client.wait_for_task(
            created.id, interval=0.05, on_change=lambda task: seen.append(task.status.value)
        )
    assert done.status is TaskStatus.COMPLETED
    assert done.completed_at is not None
    assert seen == ["running", "completed"]


@pytest.mark.parametrize(
    ("directive", "status"),
    [("[emulate:fail]", TaskStatus.FAILED), ("[emulate:cancel]", TaskStatus.CANCELED)],
)
def test_a_task_can_end_failed_or_canceled(emulator: Emulator, directive: str, status: TaskStatus) -> None:
    with RebyteClient(API_KEY, base_url=emulator.url) as client:
        created = client.create_task(f"job {directive}")
        assert client.wait_for_task(created.id, interval=0.05).status is status


def test_wait_polls_less_and_less_often_and_times_out_with_the_last_task(
    client: RebyteClient, fake_time: FakeTime
) -> None:
    created = client.create_task("never ends [emulate:hang]")
    with pytest.raises(WaitTimeout) as raised:
        client.wait_for_task(created.id, timeout=120)
    assert raised.value.task.id == created.id
    assert raised.value.task.status is TaskStatus.RUNNING
    sleeps = fake_time.sleeps
    assert sleeps[0] == pytest.approx(2.0)
    assert all(
        later >= earlier for earlier, later in itertools.pairwise(sleeps[:-1])
    )  # the last wait is cut to the deadline
    assert max(sleeps) == pytest.approx(30.0)
    assert sum(sleeps) == pytest.approx(120.0)
    assert len(sleeps) < 12  # a two-minute wait costs a handful of polls, not sixty


def test_a_follow_up_turns_a_finished_task_back_to_running(emulator: Emulator) -> None:
    with RebyteClient(API_KEY, base_url=emulator.url) as client:
        created = client.create_task("first")
        client.wait_for_task(created.id, interval=0.05)
        answer = client.follow_up(created.id, "now fix what you found [emulate:seconds=1]", skills=["pdf"])
        task = client.get_task(created.id)
        assert task.status is TaskStatus.RUNNING
        assert [p.id for p in task.prompts][-1] == answer.prompt_id
        assert client.wait_for_task(created.id, interval=0.05).status is TaskStatus.COMPLETED


def test_visibility_public_returns_a_share_url_and_shared_does_not(client: RebyteClient) -> None:
    created = client.create_task("share me")
    public = client.set_visibility(created.id, Visibility.PUBLIC)
    assert public.share_url == f"https://app.rebyte.ai/share/{created.id}"
    shared = client.set_visibility(created.id, "shared")
    assert shared.visibility is Visibility.SHARED
    assert shared.share_url is None


def test_a_deleted_task_answers_not_found_and_leaves_the_list(client: RebyteClient) -> None:
    keep = client.create_task("keep")
    gone = client.create_task("delete me")
    client.delete_task(gone.id)
    with pytest.raises(NotFoundError) as raised:
        client.get_task(gone.id)
    assert raised.value.status == 404
    assert raised.value.code == "not_found"
    assert [t.id for t in client.list_tasks().data] == [keep.id]


def test_pages_come_newest_first_and_iteration_walks_every_page(
    client: RebyteClient, emulator: Emulator
) -> None:
    ids = [client.create_task(f"task {n}").id for n in range(7)]
    page = client.list_tasks(limit=3, offset=3)
    assert [t.id for t in page.data] == list(reversed(ids))[3:6]
    assert (page.total, page.limit, page.offset, page.has_more) == (7, 3, 3, True)
    before = len(emulator.requests("GET", "/v1/tasks"))
    assert [t.id for t in client.iter_tasks(page_size=3)] == list(reversed(ids))
    assert len(emulator.requests("GET", "/v1/tasks")) - before == 3


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.create_task(""), "prompt"),
        (lambda c: c.create_task("   \n"), "prompt"),
        (lambda c: c.create_task("x" * 100_001), "prompt"),
        (lambda c: c.follow_up("t", ""), "prompt"),
        (lambda c: c.set_visibility("t", "everyone"), "visibility"),
        (lambda c: c.upload_file(b"x", filename="a" * 256), "filename"),
        (lambda c: c.upload_file(b"x"), "filename"),
        (lambda c: c.list_tasks(limit=0), "limit"),
        (lambda c: c.list_tasks(limit=101), "limit"),
        (lambda c: c.list_tasks(offset=-1), "offset"),
        (lambda c: c.create_task("x", github_url="https://github.com/o/r"), "github_url"),
        (lambda c: c.get_task(""), "task_id"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    client: RebyteClient, emulator: Emulator, call, field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        call(client)
    assert emulator.requests() == []


def test_a_prompt_of_exactly_the_limit_is_accepted(client: RebyteClient) -> None:
    assert client.create_task("x" * 100_000).id


def test_a_bad_key_is_unauthorized(emulator: Emulator) -> None:
    with (
        RebyteClient("sk_wrong", base_url=emulator.url) as client,
        pytest.raises(UnauthorizedError) as raised,
    ):
        client.list_tasks()
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")
    assert raised.value.request_id


def test_a_refused_request_is_a_validation_error(client: RebyteClient) -> None:
    with pytest.raises(ValidationError) as raised:
        client.create_task("x", executor="vim")
    assert (raised.value.status, raised.value.code) == (400, "validation_error")
    assert "executor" in raised.value.message


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [(429, LimitExceededError, "limit_exceeded"), (500, ServerError, "internal_error")],
)
def test_error_codes_map_to_their_exceptions(
    emulator: Emulator, status: int, error: type[APIError], code: str
) -> None:
    emulator.add_fault(kind="status", status=status)
    with (
        RebyteClient(API_KEY, base_url=emulator.url, retry=NO_RETRY) as client,
        pytest.raises(error) as raised,
    ):
        client.list_tasks()
    assert (raised.value.status, raised.value.code, raised.value.message) == (status, code, "injected fault")


def test_a_body_that_is_not_json_still_gives_a_clear_error(emulator: Emulator) -> None:
    emulator.add_fault(kind="html", status=502)
    with (
        RebyteClient(API_KEY, base_url=emulator.url, retry=NO_RETRY) as client,
        pytest.raises(ServerError) as raised,
    ):
        client.get_task("abc")
    assert raised.value.status == 502
    assert raised.value.code == "http_502"
    assert "HTML page" in str(raised.value)
    assert "502" in str(raised.value)


def test_a_503_is_retried_once_then_succeeds(
    client: RebyteClient, emulator: Emulator, fake_time: FakeTime
) -> None:
    emulator.add_fault(kind="status", status=503, match="GET /v1/tasks")
    assert client.list_tasks().total == 0
    assert [r.status for r in emulator.requests()] == [503, 200]
    assert fake_time.sleeps == [0.5]


def test_retry_after_is_honoured(client: RebyteClient, emulator: Emulator, fake_time: FakeTime) -> None:
    emulator.add_fault(kind="status", status=429, retry_after=1)
    client.list_tasks()
    assert fake_time.sleeps == [1.0]
    assert [r.status for r in emulator.requests()] == [429, 200]


def test_backoff_grows_exponentially_then_gives_up_with_the_last_error(
    client: RebyteClient, emulator: Emulator, fake_time: FakeTime
) -> None:
    emulator.add_fault(kind="html", status=504, times=-1)
    with pytest.raises(ServerError) as raised:
        client.get_task("abc")
    assert raised.value.status == 504
    assert fake_time.sleeps == [0.5, 1.0, 2.0]
    assert len(emulator.requests()) == 4


def test_retrying_stops_at_the_total_time_bound(emulator: Emulator, fake_time: FakeTime) -> None:
    emulator.add_fault(kind="status", status=503, times=-1)
    policy = RetryPolicy(max_attempts=50, backoff=1.0, max_backoff=8.0, max_total=10.0, jitter=0.0)
    with (
        RebyteClient(
            API_KEY, base_url=emulator.url, retry=policy, sleep=fake_time.sleep, clock=fake_time.clock
        ) as client,
        pytest.raises(ServerError),
    ):
        client.list_tasks()
    assert fake_time.sleeps == [1.0, 2.0, 4.0]  # the next wait (8 s) would pass 10 s in all


def test_jitter_only_ever_shortens_the_wait() -> None:
    import random

    policy = RetryPolicy(backoff=1.0, jitter=0.5)
    delays = [policy.delay(3, None, random.Random(seed)) for seed in range(50)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 1


def test_a_dropped_connection_on_a_read_is_retried(client: RebyteClient, emulator: Emulator) -> None:
    emulator.add_fault(kind="drop", match="GET")
    assert client.list_tasks().total == 0
    assert len(emulator.requests("GET")) == 2


def test_create_is_never_sent_twice_after_a_read_timeout(emulator: Emulator, fake_time: FakeTime) -> None:
    emulator.add_fault(kind="delay", seconds=1.0, match="POST /v1/tasks")
    with RebyteClient(
        API_KEY, base_url=emulator.url, create_timeout=0.2, sleep=fake_time.sleep, clock=fake_time.clock
    ) as client:
        with pytest.raises(TransportError) as raised:
            client.create_task("expensive")
        assert raised.value.maybe_delivered is True
        time.sleep(1.0)
        assert len(emulator.requests("POST", "/v1/tasks")) == 1
        assert client.list_tasks().total == 1  # the task exists: the caller must look before retrying


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drop", "after": True},
        {"kind": "status", "status": 503},
        {"kind": "html", "status": 502},
        {"kind": "status", "status": 500},
    ],
)
def test_create_is_not_retried_when_the_request_may_have_arrived(
    client: RebyteClient, emulator: Emulator, fault: dict[str, object]
) -> None:
    emulator.add_fault(match="POST /v1/tasks", **fault)
    with pytest.raises((TransportError, ServerError)):
        client.create_task("expensive")
    assert len(emulator.requests("POST", "/v1/tasks")) == 1


def test_a_follow_up_is_not_retried_after_a_dropped_answer(client: RebyteClient, emulator: Emulator) -> None:
    created = client.create_task("first")
    emulator.add_fault(kind="drop", after=True, match="POST /v1/tasks/")
    with pytest.raises(TransportError):
        client.follow_up(created.id, "again")
    assert len(emulator.requests("POST", f"/v1/tasks/{created.id}/prompts")) == 1


def test_create_is_retried_after_429_because_it_was_refused(
    client: RebyteClient, emulator: Emulator, fake_time: FakeTime
) -> None:
    emulator.add_fault(kind="status", status=429, retry_after=2, match="POST /v1/tasks")
    created = client.create_task("worth the wait")
    assert fake_time.sleeps == [2.0]
    assert [r.status for r in emulator.requests("POST", "/v1/tasks")] == [429, 201]
    assert client.list_tasks().data[0].id == created.id


def test_create_is_retried_when_the_connection_is_refused(fake_time: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        RebyteClient(
            API_KEY, base_url=f"http://127.0.0.1:{port}", sleep=fake_time.sleep, clock=fake_time.clock
        ) as client,
        pytest.raises(TransportError) as raised,
    ):
        client.create_task("nobody home")
    assert raised.value.maybe_delivered is False
    assert len(fake_time.sleeps) == 3  # four attempts in all


@pytest.mark.parametrize("base_url", ["notaurl", "ftp://x", "http://a\x01b"])
def test_a_base_url_that_cannot_be_sent_to_is_never_delivered_nor_retried(
    fake_time: FakeTime, base_url: str
) -> None:
    with (
        RebyteClient(API_KEY, base_url=base_url, sleep=fake_time.sleep, clock=fake_time.clock) as client,
        pytest.raises(TransportError) as raised,
    ):
        client.create_task("nowhere to go")
    assert raised.value.maybe_delivered is False
    assert fake_time.sleeps == []
    assert API_KEY not in str(raised.value)


def test_deleting_twice_because_the_first_answer_was_lost_is_not_an_error(
    client: RebyteClient, emulator: Emulator
) -> None:
    created = client.create_task("short-lived")
    emulator.add_fault(kind="drop", after=True, match="DELETE")
    client.delete_task(created.id)
    assert [r.status for r in emulator.requests("DELETE")] == [0, 404]
    with pytest.raises(NotFoundError):
        client.delete_task(created.id)


def test_the_key_never_shows_in_a_repr_an_error_or_a_log(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.add_fault(kind="status", status=503, times=-1)
    with RebyteClient(
        API_KEY, base_url=emulator.url, retry=RetryPolicy(max_attempts=2, backoff=0.01)
    ) as client:
        assert API_KEY not in repr(client)
        assert API_KEY not in str(vars(client))
        with pytest.raises(ServerError) as raised:
            client.list_tasks()
    assert API_KEY not in str(raised.value)
    assert API_KEY not in repr(raised.value)
    assert API_KEY not in caplog.text
    assert "retrying" in caplog.text


def test_key_and_base_url_come_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REBYTE_API_KEY", API_KEY)
    monkeypatch.setenv("REBYTE_BASE_URL", emulator.url)
    with RebyteClient() as client:
        assert client.base_url == emulator.url
        assert client.list_tasks().total == 0


def test_a_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REBYTE_API_KEY", raising=False)
    with pytest.raises(ValueError, match="REBYTE_API_KEY"):
        RebyteClient()


def test_one_connection_serves_many_requests(client: RebyteClient) -> None:
    for _ in range(5):
        client.list_tasks()
    # Plain http:// goes on wire.PlainHTTP: one kept-alive connection, idle between requests.
    assert [len(idle) for idle in client._plain._idle.values()] == [1]


def test_over_https_or_a_transport_given_one_httpx_connection_serves_many_requests(
    emulator: Emulator,
) -> None:
    with RebyteClient(API_KEY, base_url=emulator.url, transport=httpx.HTTPTransport()) as client:
        for _ in range(5):
            client.list_tasks()
        transport = client._http._transport_for_url(httpx.URL(client.base_url))
        assert len(transport._pool.connections) == 1  # type: ignore[attr-defined]
        assert client._plain._idle == {}


def test_a_plain_http_client_loads_no_ca_bundle_until_an_https_url_comes(emulator: Emulator) -> None:
    with RebyteClient(API_KEY, base_url=emulator.url) as plain:
        assert plain.list_tasks().total == 0
        https = plain._http._transport_for_url(httpx.URL("https://uploads.example/file"))
        assert https._inner is None  # type: ignore[attr-defined]


def test_values_the_service_adds_later_are_kept_not_rejected() -> None:
    task = Task.model_validate(
        {
            "id": "t",
            "url": "u",
            "status": "paused",
            "executor": "aider",
            "prompts": [{"id": "p", "status": "queued", "tokens": 12}],
            "costUsd": 0.42,
        }
    )
    assert task.status == "paused"
    assert not task.status.is_terminal
    assert task.executor == "aider"
    assert task.to_json_dict()["costUsd"] == 0.42
    assert task.prompts[0].to_json_dict()["tokens"] == 12


def test_a_success_answer_of_the_wrong_shape_is_an_unexpected_response(
    client: RebyteClient, emulator: Emulator
) -> None:
    emulator.add_fault(kind="corrupt", match="POST /v1/tasks")
    with pytest.raises(UnexpectedResponse) as raised:
        client.create_task("x")
    assert raised.value.status == 200
    assert "CreatedTask" in str(raised.value)
    assert len(emulator.requests("POST", "/v1/tasks")) == 1
    assert client.list_tasks().total == 1  # the work was done; only the answer was unreadable


def test_a_base_url_given_with_v1_or_a_trailing_slash_still_works(emulator: Emulator) -> None:
    for base in (emulator.url + "/", emulator.url + "/v1", emulator.url + "/v1/"):
        with RebyteClient(API_KEY, base_url=base) as client:
            assert client.base_url == emulator.url
            assert client.list_tasks().total == 0
