"""Resampling to 22,000 Hz, per 10-s mono clip of noise: core/resample.py (COALA's kaiser_fast in
numpy) beside soxr HQ (the loader before it) and resampy's kaiser_fast itself (numba, warm).
BLAS is held to one thread, as the tagger holds it. Needs the dev requirements (resampy).

    python benchmarks/resample.py [--rates 44100 48000 ...] [--runs 40]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import resampy
import soxr
from threadpoolctl import threadpool_limits

from core.resample import resample

RATES = [44_100, 48_000, 32_000, 22_050, 16_000, 8_000, 96_000, 44_101]


def timed(fn, runs: int) -> str:
    fn()  # the first call builds the phase table (ours) or compiles (resampy)
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return f"{1e3 * statistics.median(walls):7.1f} ms (min {1e3 * min(walls):.1f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rates", type=int, nargs="+", default=RATES)
    p.add_argument("--runs", type=int, default=40)
    args = p.parse_args()
    threadpool_limits(1, user_api="blas")
    print("input rate | core/resample.py | soxr HQ | resampy kaiser_fast   (median of runs)")
    for rate in args.rates:
        print(f"{rate:>6} Hz | {row(rate, args.runs)}", flush=True)


def row(rate: int, runs: int) -> str:
    x = (0.3 * np.random.default_rng(0).standard_normal(10 * rate)).astype(np.float32)
    return " | ".join([timed(lambda: resample(x, rate, 22_000), runs),
                       timed(lambda: soxr.resample(x, rate, 22_000, quality="HQ"), runs),
                       timed(lambda: resampy.resample(x, rate, 22_000, filter="kaiser_fast"), 5)])


if __name__ == "__main__":
    main()
