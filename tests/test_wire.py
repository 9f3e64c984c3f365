"""The client's plain-HTTP path (``rebyte/wire.py``), over real sockets on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rebyte_action.rebyte import RebyteClient, TransportError
from rebyte_action.rebyte.emulator import Emulator

API_KEY = "rbk_wire_test_key"
CREATED = {"id": "t1", "workspaceId": "w1", "url": "https://app.rebyte.ai/tasks/t1", "status": "running"}


@contextmanager
def closes_idle_connections(answers: int = 1) -> Iterator[tuple[str, list[bytes]]]:
    """A server that answers ``answers`` requests per connection, keeping it alive as HTTP/1.1
    allows, then closes it while the client holds it idle (as a server's idle timeout does).
    Yields its URL and the request lines it received."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve(connection: socket.socket) -> None:
        with connection:
            buffered = b""
            for _ in range(answers):
                while b"\r\n\r\n" not in buffered:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffered += chunk
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in lines
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(buffered) < length:
                    buffered += connection.recv(65536)
                buffered = buffered[length:]
                received.append(lines[0])
                body = json.dumps(CREATED).encode()
                connection.sendall(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        listener.close()


def test_a_connection_the_server_closed_while_idle_is_not_used_for_a_create() -> None:
    """Creating a task is sent once: were it written to a connection the server had closed, it
    would fail as maybe delivered. The closed idle connection is seen and a new one opened."""
    with closes_idle_connections() as (url, received), RebyteClient(API_KEY, base_url=url) as client:
        assert client.create_task("first").id == "t1"
        deadline = time.monotonic() + 5
        while not any(client._plain._idle.values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the server has closed its end by now
        assert client.create_task("second").id == "t1"
    assert received == [b"POST /v1/tasks HTTP/1.1"] * 2


def test_a_kept_alive_connection_carries_the_next_request() -> None:
    with closes_idle_connections(answers=3) as (url, received), RebyteClient(API_KEY, base_url=url) as client:
        for prompt in ("one", "two", "three"):
            client.create_task(prompt)
        assert [len(idle) for idle in client._plain._idle.values()] == [1]
    assert len(received) == 3


def test_a_key_that_is_not_printable_ascii_goes_through_httpx_and_is_never_sent(emulator: Emulator) -> None:
    """A header value httpx refuses is refused as before: never delivered, never retried, and
    the key is not in the message."""
    with (
        RebyteClient("rbk_\nbad", base_url=emulator.url) as client,
        pytest.raises(TransportError) as raised,
    ):
        client.list_tasks()
    assert raised.value.maybe_delivered is False
    assert "LocalProtocolError" in str(raised.value)
    assert "bad" not in str(raised.value)  # the key, not even as a repr shows it
    assert emulator.requests() == []


def test_the_plain_path_sends_what_httpx_would(emulator: Emulator) -> None:
    """Key, JSON body and query string arrive as the emulator expects them, on either path."""
    with RebyteClient(API_KEY, base_url=emulator.url) as client:
        created = client.create_task("héllo wörld", github_url="octo/repo")
        assert client.get_task(created.id).prompts[0].id
        page = client.list_tasks(limit=1, offset=0)
    assert page.data[0].id == created.id
    assert all(r.sent_api_key for r in emulator.requests())
    assert [r.status for r in emulator.requests()] == [201, 200, 200]
