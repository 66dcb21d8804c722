"""Small timing helpers: repeated measurement, medians and percentiles, child-process RSS."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
    peak_rss_mb: float  # NaN when the process could not report it
    returncode: int
    stdout: str


# Peak RSS is the process's own VmHWM, written by itself at exit. Not getrusage/wait4: Linux
# carries the parent's RSS across fork and exec into the child's ru_maxrss, so a child of a
# 1.5 GB benchmark process would report 1.5 GB whatever it did.
_MODULE_RUNNER = """
import atexit, runpy, sys
from core.bench.timing import vm_hwm_mb
out, sys.argv = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(str(vm_hwm_mb())))
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a live process (its VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_process(cmd: list[str], env: dict | None = None, cwd: str | None = None) -> ProcessRun:
    """Run a command to completion: its wall time and output."""
    start = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    return ProcessRun(wall, float("nan"), out.returncode, out.stdout.decode(errors="replace"))


def run_module(python: str, module: str, args: list[str], env: dict | None = None,
               cwd: str | None = None) -> ProcessRun:
    """`python -m module args...` to completion: wall time, output, and its own peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "peak_rss_mb"
        run = run_process([python, "-c", _MODULE_RUNNER, str(report), module, *args], env, cwd)
        peak = float(report.read_text()) if report.is_file() else float("nan")
    return ProcessRun(run.wall_s, peak, run.returncode, run.stdout)
