"""Runs of ``python -m rebyte_action`` forked from an interpreter that has already imported it.

A test run of the entry point spends about a second of CPU importing PyGithub, httpx and
pydantic before doing a few milliseconds of work; the suite runs it some 500 times. This module
is both halves of a fork server that pays the imports once per pytest worker:

- the server (``python tests/fork_server.py``, started by :class:`ForkServer`): one thread, no
  threads ever; it imports the modules a full run imports (:data:`PREIMPORTS`), runs nothing of
  them, and waits. For each run it forks; the child takes the run's stdin, stdout and stderr onto
  0, 1 and 2, closes every other descriptor, replaces ``os.environ`` with the run's, changes to its
  working directory and runs the package's ``__main__`` as ``python -m`` does
  (``runpy.run_module(..., run_name="__main__", alter_sys=True)``); then it ends as an interpreter
  does: the exit code from ``SystemExit`` (None is 0, a message is printed and is 1), a traceback
  and 1 for any other exception, non-daemon threads joined, ``atexit`` functions run, stdio
  flushed. Each child is a fresh fork of a server that never ran anything: no state is shared
  between runs.
- the client (:class:`ForkServer`, :class:`ForkedProcess`), used by ``tests/action_harness.py``: a
  ``subprocess.Popen`` look-alike with ``pid``, ``poll``, ``wait``, ``kill``, ``communicate`` and
  ``returncode`` of the same meaning (negative for a signal).

What an interpreter settles at start-up cannot be changed in a fork: the run falls back to a real
subprocess when its environment differs from the server's in a ``PYTHON*``, ``LANG`` or ``LC_*``
variable (``PYTHONPROFILEIMPORTTIME``, for one, must see a fresh interpreter's imports).
``REBYTE_TEST_SUBPROCESS=1`` makes every run a real subprocess (tests/README.md).

The protocol, over ``AF_UNIX`` ``SOCK_SEQPACKET`` sockets (one message each): the client sends on
the server's control socket the JSON ``{"module", "env", "cwd"}`` with four descriptors: its end of a
new socket pair for this run, then the run's stdin, stdout and stderr. On the run's socket the
server answers ``pid N`` at once and ``exit N`` (``os.waitstatus_to_exitcode``) when the child
ends; the client may send ``kill`` (SIGKILL, as ``Popen.kill``). A run socket closed early kills
its child; the control socket closed (the worker gone) kills every child and ends the server.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import locale
import os
import pkgutil
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

__all__ = ["ForkServer", "ForkedProcess", "needs_fresh_interpreter"]

MODULE = "rebyte_action"
# What a full run imports (python -X importtime -m rebyte_action on a request), and what it
# imports lazily: the config file's YAML, markdown-it's helpers; then every module of the package
# (preimports), but its __main__, which is the run, and the test fakes.
PREIMPORTS = (
    "github",
    "httpx",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "markdown_it",
    "markdown_it.helpers",
    "markdown_it.common.html_re",
)
MAX_MESSAGE = 1 << 20
_STARTUP_PREFIXES = ("PYTHON", "LC_")
_STARTUP_NAMES = ("LANG",)


def needs_fresh_interpreter(env: dict[str, str], server_env: dict[str, str]) -> bool:
    """True when ``env`` differs from ``server_env`` in a variable read at interpreter start-up."""

    def startup(name: str) -> bool:
        return name.startswith(_STARTUP_PREFIXES) or name in _STARTUP_NAMES

    names = {name for name in env.keys() | server_env.keys() if startup(name)}
    return any(env.get(name) != server_env.get(name) for name in names)


# ---------------------------------------------------------------------------------------------
# The server


class _Run:
    def __init__(self, conn: socket.socket, pid: int, pidfd: int) -> None:
        self.conn: socket.socket | None = conn
        self.pid = pid
        self.pidfd = pidfd


def serve(control: socket.socket) -> None:
    """Preimport, say ``ready`` on ``control``, then fork a child for each request until EOF."""
    sys.path[0] = os.getcwd()  # not this file's folder: the imports resolve as python -m's do
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            for name in PREIMPORTS:
                __import__(name)
            for name in _package_modules():
                __import__(name)
        except BaseException as exc:  # reported to the client, which raises it
            print(f"{type(exc).__name__}: {exc}")
    if captured.getvalue():
        # a run would print this itself on its own stderr; a preimport would swallow it
        control.send(b"unusable: the preimports wrote:\n" + captured.getvalue().encode())
        return
    if threading.active_count() != 1:
        control.send(b"unusable: the preimports started a thread; a fork would not hold it")
        return
    control.send(b"ready")
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    runs: dict[int, _Run] = {}
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "control":
                    message, fds, _flags, _addr = socket.recv_fds(control, MAX_MESSAGE, 4)
                    if not message:
                        return
                    conn = socket.socket(fileno=fds[0])
                    child = _fork(json.loads(message), conn, fds[1:], control, selector, runs)
                    for fd in fds[1:]:
                        os.close(fd)
                    if child is None:
                        conn.close()
                        continue
                    run = _Run(conn, child, os.pidfd_open(child))
                    runs[child] = run
                    selector.register(conn, selectors.EVENT_READ, ("conn", run))
                    selector.register(run.pidfd, selectors.EVENT_READ, ("ended", run))
                    _send(run, f"pid {child}")
                elif key.data[0] == "conn":
                    run = key.data[1]
                    if run.conn is None or runs.get(run.pid) is not run:
                        continue  # ended earlier in this same batch of events
                    try:
                        asked = run.conn.recv(64)
                    except OSError:
                        asked = b""
                    if asked == b"kill" or not asked:  # not asked: the client is gone, so is the run
                        with contextlib.suppress(OSError):  # ended already: reaped on its own event
                            signal.pidfd_send_signal(run.pidfd, signal.SIGKILL)
                    if not asked:
                        selector.unregister(run.conn)
                        run.conn.close()
                        run.conn = None
                else:
                    run = key.data[1]
                    if runs.get(run.pid) is not run:
                        continue
                    _pid, status = os.waitpid(run.pid, 0)
                    selector.unregister(run.pidfd)
                    os.close(run.pidfd)
                    del runs[run.pid]
                    if run.conn is not None:
                        _send(run, f"exit {os.waitstatus_to_exitcode(status)}")
                        selector.unregister(run.conn)
                        run.conn.close()
    finally:
        for run in runs.values():
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(run.pidfd, signal.SIGKILL)


def _package_modules() -> list[str]:
    package = __import__(MODULE)
    found = pkgutil.walk_packages(package.__path__, f"{MODULE}.")
    return [m.name for m in found if m.name != f"{MODULE}.__main__" and ".testing" not in m.name]


def _send(run: _Run, message: str) -> None:
    assert run.conn is not None
    with contextlib.suppress(OSError):  # a client gone is noticed on its socket
        run.conn.send(message.encode())


def _fork(
    request: dict[str, Any],
    conn: socket.socket,
    stdio: list[int],
    control: socket.socket,
    selector: selectors.BaseSelector,
    runs: dict[int, _Run],
) -> int | None:
    """Fork the run; the parent gets the child's pid (None, said on ``conn``, if fork failed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as exc:
        with contextlib.suppress(OSError):
            conn.send(f"error {exc}".encode())
        return None
    if pid:
        return pid
    code = 70  # EX_SOFTWARE: only if the child's own set-up fails
    try:
        # Nothing of the server's stays open in the run, as with Popen's close_fds.
        selector.close()
        control.close()
        conn.close()
        for run in runs.values():
            if run.conn is not None:
                run.conn.close()
            os.close(run.pidfd)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        code = _run_as_main(request)
    except BaseException:
        traceback.print_exc()  # the harness's own failure, on the run's stderr
    finally:
        os._exit(code)


def _run_as_main(request: dict[str, Any]) -> int:
    """In the child: the module run as ``python -m`` runs it; the exit code an interpreter gives."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    time.tzset()  # TZ, as a fresh interpreter reads it
    import tempfile

    tempfile.tempdir = None  # TMPDIR, read again on first use
    sys.path[0] = os.getcwd()  # python -m puts the working directory first
    sys.argv[:] = ["-m"]  # run_module then makes it the module's file, as -m does
    sys.orig_argv[:] = [sys.executable, "-m", request["module"]]
    code = 0
    interrupted = False
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = _exit_code(stop)
    except KeyboardInterrupt:
        _print_exception()
        interrupted = True
    except BaseException:  # an uncaught exception, reported as an interpreter would
        _print_exception()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # Py_FinalizeEx: join non-daemon threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # as an interpreter whose stdout is gone: exit 120
            code = 120
    if interrupted:  # an uncaught KeyboardInterrupt ends the process by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def _exit_code(stop: SystemExit) -> int:
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code & 0xFF
    print(stop.code, file=sys.stderr)
    return 1


def _print_exception() -> None:
    kind, value, tb = sys.exc_info()
    assert kind is not None and value is not None
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next  # the traceback starts where python -m's does: in runpy
    sys.excepthook(kind, value.with_traceback(tb), tb)


# ---------------------------------------------------------------------------------------------
# The client


class ForkServer:
    """One server per process that uses it, started on the first run; ends with that process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    def startup_env(self) -> dict[str, str]:
        """The environment the server started with (or will start with: this process's)."""
        return self.env if self._control is not None else dict(os.environ)

    def start(self, env: dict[str, str], cwd: str, stdin: int = 0) -> ForkedProcess:
        """Fork a run of ``python -m rebyte_action`` with ``env`` in ``cwd``; its output piped."""
        control = self._ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            request = json.dumps({"module": MODULE, "env": env, "cwd": cwd}).encode()
            with self._lock:
                socket.send_fds(control, [request], [theirs.fileno(), stdin, out_w, err_w])
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(out_w)
            os.close(err_w)
        return ForkedProcess(ours, out_r, err_r)

    def _ready(self) -> socket.socket:
        with self._lock:
            if self._control is not None:
                return self._control
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.env = dict(os.environ)
            self._process = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=self.env,
            )
            theirs.close()
            answer = ours.recv(MAX_MESSAGE)
            if answer != b"ready":
                ours.close()
                self._process.wait()
                raise RuntimeError(
                    f"the fork server (tests/fork_server.py) cannot run the action: {answer.decode()}\n"
                    "Set REBYTE_TEST_SUBPROCESS=1 to run every run as a plain subprocess."
                )
            self._control = ours
            atexit.register(self.close)
            return ours

    def close(self) -> None:
        """End the server (its running children are killed)."""
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            if self._process is not None:
                self._process.wait(timeout=10)
                self._process = None


class ForkedProcess:
    """A forked run, as much of ``subprocess.Popen(..., text=True)`` as the harness uses."""

    def __init__(self, conn: socket.socket, stdout: int, stderr: int) -> None:
        self._conn = conn
        self._pipes = {stdout: bytearray(), stderr: bytearray()}
        self._stdout, self._stderr = stdout, stderr
        self._pipes_open = True
        self.args = [sys.executable, "-m", MODULE]
        self.returncode: int | None = None
        answer = conn.recv(64).decode()
        if not answer.startswith("pid "):
            self._close_pipes()
            conn.close()
            raise OSError(f"the fork server could not start the run: {answer or 'no answer'}")
        self.pid = int(answer.split()[1])

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read_status(block=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                self._read_status(block=True)
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(OSError):
                self._conn.send(b"kill")

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Both outputs to their end, then the exit status: Popen.communicate's order and text."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for fd in self._pipes:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in selector.select(left):
                    fd = int(key.fd)
                    chunk = os.read(fd, 32768)
                    if chunk:
                        self._pipes[fd] += chunk
                    else:
                        selector.unregister(fd)
        self.wait(None if deadline is None else max(deadline - time.monotonic(), 0.001))
        stdout, stderr = (_text(bytes(self._pipes[fd])) for fd in (self._stdout, self._stderr))
        self._close_pipes()
        return stdout, stderr

    def _read_status(self, *, block: bool) -> None:
        if not block:
            self._conn.settimeout(0.0)
        try:
            answer = self._conn.recv(64).decode()
        except BlockingIOError:
            return
        if not answer.startswith("exit "):
            raise OSError(f"the fork server lost the run {self.pid}: {answer or 'closed'}")
        self.returncode = int(answer.split()[1])
        self._conn.close()

    def _close_pipes(self) -> None:
        if self._pipes_open:
            self._pipes_open = False
            os.close(self._stdout)
            os.close(self._stderr)

    def __del__(self) -> None:
        self._close_pipes()
        self._conn.close()  # a run still going is killed by the server


def _text(data: bytes) -> str:
    """Decoded as ``Popen(text=True)`` decodes: the locale's encoding, strict, universal newlines."""
    encoding = "utf-8" if sys.flags.utf8_mode else locale.getencoding()
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
