"""A threaded HTTP/1.1 server on loopback, run in the background: the base of the emulator and the fakes."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # The standard library's listen backlog is 5: more clients connecting at once get resets.
    request_queue_size = 128
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away before its answer (it timed out) is no error worth a trace."""
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


class BackgroundServer:
    """Owns one :class:`QuietServer`; ``start()``/``stop()`` or a ``with`` block.

    ``port=0`` picks a free port; :attr:`url` is the server's base URL.
    """

    thread_name = "loopback-server"

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], host: str, port: int, server_class: type[QuietServer]
    ):
        self._server = server_class((host, port), handler)
        bound_host, bound_port = self._server.server_address[:2]
        host_text = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        shown = f"[{host_text}]" if ":" in host_text else host_text
        self.url = f"http://{shown}:{bound_port}"
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (for a command line)."""
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
