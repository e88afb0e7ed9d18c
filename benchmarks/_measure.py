"""Measurement helpers shared by the benchmark scripts (run them as scripts)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any


def peak_gb() -> float:
    """Peak resident memory of this process so far (GB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_s() -> float:
    """User + system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_child(script: str, *args: str) -> tuple[dict[str, Any], float]:
    """Run ``script --child ARGS`` in a fresh interpreter; its last stdout line is JSON.

    Returns that JSON and the wall seconds; exits with the child's stderr on failure.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, script, "--child", *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"child {args} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, wall
