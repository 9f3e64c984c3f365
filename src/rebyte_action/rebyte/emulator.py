"""A local, in-memory emulator of the Rebyte v1 API, on the standard library's HTTP server.

It serves every endpoint of the contract with the same shapes, statuses and error bodies,
so the seed's curl examples and this package's client run against it unchanged apart
from the base URL. Tasks follow a lifecycle driven by the wall clock (no background
threads), prompts may carry ``[emulate:...]`` directives, and faults can be injected at
start or at run time for retry tests.

This module is the HTTP side: routing, the API key, delivering faults, uploads and the
``/_emulator/`` control endpoints. The rules and memory are in :mod:`.emulator_state`, the
records in :mod:`.emulator_records`, the settings and faults in :mod:`.emulator_config`.

    with Emulator(EmulatorConfig(task_seconds=0.2)) as emulator:
        client = RebyteClient("rbk_test", base_url=emulator.url)
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..loopback import BackgroundServer, QuietServer

# Re-exported: tests, the CLI and the demo import these from here.
from .emulator_config import EmulatorConfig as EmulatorConfig
from .emulator_config import Fault as Fault
from .emulator_records import RecordedRequest as RecordedRequest
from .emulator_state import EmulatorState as EmulatorState
from .emulator_state import _ApiError

STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    404: "not_found",
    429: "limit_exceeded",
    500: "internal_error",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it a keep-alive client waits out Nagle plus delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing --------------------------------------------------------------------

    def _dispatch(self) -> None:
        state = self.server.state
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        self._recorded = False
        body = self._read_body()
        try:
            if body is None:
                raise _ApiError(400, "Content-Length is not a whole number")
            raw = body
            if path.startswith("/_emulator/"):
                self._control(path, raw)
                return
            if path.startswith("/_uploads/"):
                self._upload(path, query, raw)
                return
            if not path.startswith("/v1/"):
                raise _ApiError(404, f"no route {self.command} {path}")
            if state.config.latency:
                time.sleep(state.config.latency)
            fault = state.take_fault(self.command, path)
            if fault is not None and not fault.strikes_after_work:
                self._fail(fault)
                return
            self._authenticate()
            code, body = self._route(path, query, raw)
            if fault is not None:  # a fault that strikes after the work is done
                if fault.kind == "delay":
                    time.sleep(fault.seconds)
                else:
                    self._fail(fault)
                    return
            self._send_json(code, body)
        except _ApiError as error:
            self._send_error(error)

    def _record(self, status: int) -> None:
        """Log the request before its answer leaves, so a client never sees an answer not yet logged."""
        if self._recorded:
            return
        self._recorded = True
        path = urlsplit(self.path).path
        with self.server.state.lock:
            self.server.state.requests.append(
                RecordedRequest(self.command, path, status, "API_KEY" in self.headers)
            )

    def _read_body(self) -> bytes | None:
        """The request body; None when Content-Length is malformed (the connection is then spent)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _json_body(self, raw: bytes) -> dict[str, Any]:
        if not raw:
            raise _ApiError(400, "request body must be a JSON object")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _ApiError(400, "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "request body must be a JSON object")
        return body

    def _authenticate(self) -> None:
        key = self.headers.get("API_KEY")
        if not key:
            raise _ApiError(401, "missing API_KEY header")
        if not key.startswith(self.server.state.config.key_prefix):
            raise _ApiError(401, "invalid API key")

    def _route(self, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[int, Any]:
        state = self.server.state
        parts = path.rstrip("/").split("/")[2:]  # after "", "v1"
        method = self.command
        if parts == ["files"] and method == "POST":
            return 201, state.create_upload(self._json_body(raw), self.server.base_url)
        if parts == ["tasks"]:
            if method == "POST":
                body = self._json_body(raw)
                answer = state.create_task(body)
                if state.config.provision_seconds:
                    time.sleep(state.config.provision_seconds)
                return 201, answer
            if method == "GET":
                return 200, state.list_tasks(query)
        if len(parts) == 2 and parts[0] == "tasks":
            if method == "GET":
                return 200, state.get_task(parts[1])
            if method == "DELETE":
                state.delete_task(parts[1])
                return 204, None
        if len(parts) == 3 and parts[0] == "tasks":
            if parts[2] == "prompts" and method == "POST":
                return 201, state.follow_up(parts[1], self._json_body(raw))
            if parts[2] == "visibility" and method == "PATCH":
                return 200, state.set_visibility(parts[1], self._json_body(raw))
        raise _ApiError(404, f"no route {method} {path}")

    def _upload(self, path: str, query: dict[str, list[str]], raw: bytes) -> int:
        upload = self.server.state.signed_upload(path.rsplit("/", 1)[-1], (query.get("token") or [""])[0])
        if self.command == "PUT":
            with self.server.state.lock:
                upload.data = raw
            self._send_raw(200, b"", "text/plain")
            return 200
        if self.command == "GET" and upload.data is not None:
            self._send_raw(200, upload.data, upload.content_type)
            return 200
        raise _ApiError(404, "nothing uploaded here")

    def _control(self, path: str, raw: bytes) -> int:
        state = self.server.state
        if path == "/_emulator/health" and self.command == "GET":
            self._send_json(200, {"ok": True})
        elif path == "/_emulator/faults" and self.command == "POST":
            body = json.loads(raw or b"[]")
            items = body if isinstance(body, list) else [body]
            try:
                state.add_faults(Fault.from_json(item) for item in items)
            except (TypeError, ValueError) as exc:
                raise _ApiError(400, str(exc)) from None
            self._send_json(200, {"faults": [asdict(f) for f in state.faults]})
        elif path == "/_emulator/faults" and self.command == "DELETE":
            state.clear_faults()
            self._send_json(200, {"faults": []})
        elif path == "/_emulator/requests" and self.command == "GET":
            with state.lock:
                log = [asdict(r) for r in state.requests]
            self._send_json(200, {"requests": log})
        elif path == "/_emulator/config" and self.command in ("GET", "PATCH"):
            if self.command == "PATCH":
                try:
                    state.tune(json.loads(raw or b"{}"))
                except (TypeError, ValueError) as exc:
                    raise _ApiError(400, str(exc)) from None
            self._send_json(200, state.tunables())
        elif path == "/_emulator/reset" and self.command == "POST":
            state.reset()
            self._send_json(200, {"ok": True})
        else:
            raise _ApiError(404, f"no route {self.command} {path}")
        return 200

    def _fail(self, fault: Fault) -> int:
        if fault.kind == "drop":
            self._record(0)
            self.close_connection = True
            return 0
        if fault.kind == "corrupt":
            self._send_json(200, {"unexpected": True})
            return 200
        if fault.kind == "html":
            page = f"<html><body><h1>{fault.status} {HTTPStatus(fault.status).phrase}</h1></body></html>"
            self._send_raw(fault.status, page.encode(), "text/html")
            return fault.status
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        self._send_error(_ApiError(fault.status, "injected fault", headers))
        return fault.status

    def _send_error(self, error: _ApiError) -> None:
        code = STATUS_CODES.get(error.status, "internal_error" if error.status >= 500 else "validation_error")
        body = {"error": {"code": code, "message": error.message}}
        self._send_json(error.status, body, error.headers)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if status == 204:
            self._record(204)
            self.send_response(204)
            self.send_header("X-Request-Id", uuid.uuid4().hex)
            self.end_headers()
            return
        self._send_raw(status, json.dumps(body).encode(), "application/json", headers)

    def _send_raw(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _Server(QuietServer):
    state: EmulatorState
    verbose: bool
    base_url: str


class Emulator(BackgroundServer):
    """The emulator as a server: ``start()``/``stop()`` or a ``with`` block.

    ``port=0`` picks a free port; :attr:`url` is the base URL to give a client.
    """

    thread_name = "rebyte-emulator"

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ):
        super().__init__(_Handler, host, port, _Server)
        self.config = config or EmulatorConfig()
        self.state = EmulatorState(self.config)
        server = self._server
        assert isinstance(server, _Server)
        server.state = self.state
        server.verbose = verbose
        server.base_url = self.url

    # Conveniences for tests and demos.
    def add_fault(self, **kwargs: Any) -> None:
        self.state.add_faults([Fault(**kwargs)])

    def requests(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        with self.state.lock:
            return [
                r
                for r in self.state.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]
