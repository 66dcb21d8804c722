"""Small timing helpers: repeated measurement, medians and percentiles, child-process RSS."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    median_s: float
    p95_s: float
    runs: int

    def to_dict(self) -> dict:
        return {"median_ms": round(self.median_s * 1e3, 2), "p95_ms": round(self.p95_s * 1e3, 2),
                "runs": self.runs}


def measure(fn: Callable[[], object], runs: int, warmup: int = 2) -> Timing:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(float(np.median(times)), float(np.percentile(times, 95)), runs)


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str


def run_process(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> ProcessRun:
    """Run a command to completion; wall time and the child's own peak RSS (via wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ProcessRun(wall, usage.ru_maxrss / 1024, proc.returncode, out)
