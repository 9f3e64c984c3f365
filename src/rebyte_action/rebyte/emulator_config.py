"""How the emulator is told to behave: its settings and the failures injected into it.

Both come from ``rebyte emulator`` flags or a test's arguments, and faults also arrive at run
time (``POST /_emulator/faults``); :mod:`.emulator_state` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Fault:
    """One injected failure, matched against ``"METHOD /path"`` of incoming API requests.

    kinds:
      - ``status``: answer ``status`` with the contract's JSON error body (a 429 carries
        ``Retry-After: retry_after``); the request has no effect.
      - ``html``: answer ``status`` with an HTML page, as a proxy or gateway would.
      - ``drop``: close the connection without an answer. With ``after=True`` the request
        is carried out first (a task really is created), then the answer is lost.
      - ``delay``: carry out the request, then wait ``seconds`` before answering (a slow
        service; a client's read timeout fires while the effect stands).
      - ``corrupt``: carry out the request, then answer 200 with a JSON body of the wrong
        shape (a service that changed under the client).
    ``match`` is a prefix of ``"METHOD /path"`` (empty: every API request); ``times`` is
    how many requests it hits (``-1``: all of them).
    """

    kind: str = "status"
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    after: bool = False
    match: str = ""
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("status", "html", "drop", "delay", "corrupt"):
            raise ValueError(f"fault kind: must be status, html, drop, delay or corrupt, got {self.kind!r}")

    @property
    def strikes_after_work(self) -> bool:
        return self.kind in ("delay", "corrupt") or (self.kind == "drop" and self.after)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(
                f"fault: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)


@dataclass
class EmulatorConfig:
    """How the emulator behaves; every field can be set from ``rebyte emulator`` flags."""

    key_prefix: str = "rbk_"
    task_seconds: float = 2.0
    provision_seconds: float = 0.0
    latency: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    seed: int | None = None
    app_url: str = "https://app.rebyte.ai"
    faults: list[Fault] = field(default_factory=list)
    # The account's limit: 0 is none; N refuses a create (429 limit_exceeded) while N tasks run.
    max_running: int = 0
