"""The image's figures, read from ``make container-figures`` where a Docker engine is already there.

The bench never starts an engine: without one it says "not measured".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def measure() -> tuple[dict[str, Any], list[str]]:
    socket = next((path for path in SOCKETS if os.path.exists(path)), None)
    if socket is None and not os.environ.get("DOCKER_HOST"):
        return {"measured": False}, ["not measured: no Docker engine socket here (the bench starts none)"]
    make = shutil.which("make") or "make"
    done = subprocess.run([make, "--no-print-directory", "container-figures"], capture_output=True, text=True)
    if done.returncode != 0:
        return {"measured": False, "error": done.stderr[-500:]}, [
            "not measured: make container-figures failed"
        ]
    return {"measured": True, "output": done.stdout}, done.stdout.strip().splitlines()
