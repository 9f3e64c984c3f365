"""The client's ``get_task`` against the same call made with a fresh ``urllib.request`` connection each.

Three settings: plain loopback; a TCP proxy on loopback that holds every chunk 10 ms each way;
the same proxy speaking TLS with a certificate made here and now.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rebyte_action.rebyte import RebyteClient

KEY = "rbk_bench"
DELAY = 0.010


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@contextmanager
def delaying_proxy(upstream: str, delay: float, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A TCP proxy on loopback to ``upstream`` that delivers every chunk ``delay`` seconds late, each
    way, and a new connection's first chunk a round trip later still (the TCP handshake a real network
    would cost). With ``tls`` it terminates TLS (without delay: put a delaying proxy in front of it)."""
    target = urlsplit(upstream)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, _context: None)  # resets and cancels at the end: expected
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handshake: float) -> None:
        late = delay + handshake
        try:
            while data := await reader.read(65536):
                loop.call_later(late, writer.write, data)
                late = delay
        except OSError:
            pass  # a reset: the client closed its end
        finally:
            loop.call_later(delay, writer.close)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(pipe(reader, up_writer, 2 * delay), pipe(up_reader, writer, 0.0))

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)

    async def stop(server: asyncio.Server) -> None:
        server.close()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        asyncio.run_coroutine_threadsafe(stop(server), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator in a process of its own, so that its threads do not share the client's GIL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rebyte_action.cli", "emulator", "--port", "0", "--task-seconds", "3600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(5)


def _rates(
    calls: int, *contenders: Callable[[], Any], turns: int = 10
) -> list[tuple[float, float, list[float]]]:
    """For each contender: calls per second (the median of its turns), the calling thread's CPU
    per call (ms, over all calls), and the rate of each turn.

    ``calls`` each, in ``turns`` blocks taken in turn (the order swapped every turn), so a
    machine whose load changes during the run weighs on every contender alike, and a turn
    slowed by other work sways the median little.
    """
    for call in contenders:
        for _ in range(min(20, calls)):
            call()
    rates: list[list[float]] = [[] for _ in contenders]
    cpu = [0.0] * len(contenders)
    block = max(1, calls // turns)
    for turn in range(turns):
        order = list(range(len(contenders)))
        if turn % 2:
            order.reverse()
        for index in order:
            started, thread = time.perf_counter(), time.thread_time()
            for _ in range(block):
                contenders[index]()
            rates[index].append(block / (time.perf_counter() - started))
            cpu[index] += time.thread_time() - thread
    return [
        (statistics.median(each), spent / (block * turns) * 1000, each)
        for each, spent in zip(rates, cpu, strict=True)
    ]


def compare(
    base_url: str, task_id: str, calls: int, context: ssl.SSLContext | None = None
) -> dict[str, float]:
    url = f"{base_url}/v1/tasks/{task_id}"

    def naive() -> Any:
        request = urllib.request.Request(url, headers={"API_KEY": KEY, "Accept": "application/json"})
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return json.loads(response.read())

    transport = httpx.HTTPTransport(verify=context) if context is not None else None
    with RebyteClient(KEY, base_url=base_url, transport=transport) as rebyte:
        (client_rate, client_cpu, client_turns), (naive_rate, naive_cpu, naive_turns) = _rates(
            calls, lambda: rebyte.get_task(task_id), naive
        )
    ratios = [c / n for c, n in zip(client_turns, naive_turns, strict=True)]
    return {
        "calls": calls,
        "client_per_s": round(client_rate, 1),
        "urllib_per_s": round(naive_rate, 1),
        "ratio": round(statistics.median(ratios), 2),  # turn by turn, as the two were paired
        "client_cpu_ms": round(client_cpu, 3),
        "urllib_cpu_ms": round(naive_cpu, 3),
    }


def measure(quick: bool = False) -> tuple[dict[str, Any], list[str]]:
    plain_calls, slow_calls = (300, 40) if quick else (1000, 150)
    figures: dict[str, Any] = {}
    with emulator_process() as emulator_url, tempfile.TemporaryDirectory() as tmp:
        with RebyteClient(KEY, base_url=emulator_url) as rebyte:
            task_id = rebyte.create_task("read me often").id
        figures["plain loopback"] = compare(emulator_url, task_id, plain_calls)
        with delaying_proxy(emulator_url, DELAY) as url:
            figures["10 ms each way"] = compare(url, task_id, slow_calls)
        cert, key = self_signed(Path(tmp))
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(cert, key)
        client = ssl.create_default_context(cafile=str(cert))
        # TLS ends at a terminator in front of the emulator; the delay sits before it, on the TLS bytes.
        with (
            delaying_proxy(emulator_url, 0.0, tls=server) as terminator,
            delaying_proxy(terminator.replace("https", "http"), DELAY) as url,
        ):
            https = url.replace("http", "https")
            figures["TLS, 10 ms each way"] = compare(https, task_id, slow_calls, client)
    targets = {"plain loopback": "≥ 1.0×", "10 ms each way": "", "TLS, 10 ms each way": "≥ 1.8×"}
    table = [
        "| setting | calls | client | fresh urllib connection | ratio | target "
        "| CPU per call, client / urllib |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {f['calls']} | {f['client_per_s']:.0f}/s | {f['urllib_per_s']:.0f}/s | "
            f"{f['ratio']:.2f}× | {targets[name]} | {f['client_cpu_ms']:.2f} / {f['urllib_cpu_ms']:.2f} ms |"
            for name, f in figures.items()
        ),
        "",
        "The calls are made in 10 turns of a tenth, the client's and urllib's in turn: a rate is the "
        "median of a contender's turns, the ratio the median of the turns' ratios.",
    ]
    return figures, table
