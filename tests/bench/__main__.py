"""``make bench``: print one table and write the same figures to ``bench-results.json``.

    .venv/bin/python -m tests.bench [--quick] [--only SECTION]

``--only`` runs the sections whose title contains SECTION (``--only client``, ``--only time``)
and writes their figures alone. Nothing here asserts a time: the figures are for reading, and
for the README.
"""

from __future__ import annotations

import compileall
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import client_speed, image, polling, reconciler, request_counts, timing

RESULTS = Path("bench-results.json")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    only = argv[argv.index("--only") + 1] if "--only" in argv[:-1] else ""
    # The image runs from bytecode compiled at build time: time the same, not the compiler.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(Path(__file__).parents[2] / "src", quiet=1)
    started = time.monotonic()
    results: dict[str, Any] = {}
    sections = [
        ("requests per trigger", request_counts.measure),
        ("whole-process time", lambda: timing.measure(runs=5 if quick else 15)),
        ("polling while following a task", polling.measure),
        ("client throughput", lambda: client_speed.measure(quick=quick)),
        ("reconciler", lambda: reconciler.measure([10, 100] if quick else [10, 100, 1000])),
        ("image", image.measure),
    ]
    lines: list[str] = []
    for title, measure in [(title, measure) for title, measure in sections if only in title]:
        print(f"... {title}", file=sys.stderr, flush=True)
        figures, table = measure()
        results[title] = figures
        lines += [f"## {title}", "", *table, ""]
    results["seconds"] = round(time.monotonic() - started, 1)
    print("\n".join(lines))
    print(f"(measured in {results['seconds']} s; the same figures are in {RESULTS})")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
