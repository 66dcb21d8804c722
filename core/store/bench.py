"""Tag-store benchmark: 100,000 predictions and 10,000 corrections written, listed and exported.

    python -m core.store.bench            (and `python -m core bench`, which calls run_benchmark)

Prints wall-clock seconds per step; returns them with the counts so a test can check the counts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from core.store.export import export_labels
from core.store.models import LabelRequest, SoundInfo, SoundQuery
from core.store.store import TagStore
from core.vocabulary import load_vocabulary


@dataclass(frozen=True)
class BenchConfig:
    n_sounds: int = 10_000  # sounds written in one bulk call
    predictions_per_sound: int = 10  # 10,000 x 10 = 100,000 predictions
    n_corrections: int = 10_000  # correction events written in one bulk call
    single_ops: int = 20  # repetitions for the per-operation latency figures
    seed: int = 0  # for the synthetic tags and scores


@dataclass
class BenchResult:
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall-clock seconds
    counts: dict[str, int] = field(default_factory=dict)  # what was written and exported


def _timed(result: BenchResult, step: str, fn: Callable):
    start = time.perf_counter()
    value = fn()
    result.seconds[step] = time.perf_counter() - start
    return value


def _sounds(cfg: BenchConfig) -> list:
    rng = np.random.default_rng(cfg.seed)
    vocab = load_vocabulary()
    items = []
    for i in range(cfg.n_sounds):
        tags = rng.choice(len(vocab), cfg.predictions_per_sound, replace=False)
        scores = np.sort(rng.random(cfg.predictions_per_sound))[::-1]
        info = SoundInfo(source=("freesound", "upload", "folder")[i % 3], name=f"sound {i}",
                         audio_path=None, content_hash=f"bench-{i}", duration_s=2.0,
                         freesound_id=100_000 + i if i % 3 == 0 else None)
        items.append((info, [(vocab[t], float(s)) for t, s in zip(tags, scores, strict=True)],
                      "bench@1"))
    return items


def _corrections(cfg: BenchConfig, ids: list[int]) -> list[LabelRequest]:
    vocab = load_vocabulary()
    actions = ("add", "remove", "confirm")
    out = []
    for i in range(cfg.n_corrections):
        kind = actions[i % 3]
        out.append(LabelRequest(ids[i % len(ids)], user=f"user{i % 7}",
                                **{kind: (vocab[(i * 7) % len(vocab)],)}))
    return out


def run_benchmark(cfg: BenchConfig | None = None, folder: str | Path | None = None,
                  report: Callable[[str], None] | None = print) -> BenchResult:
    """Write, read and export a synthetic store in `folder` (a temporary one by default)."""
    cfg = cfg or BenchConfig()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(folder or tmp)
        result = BenchResult()
        _timed(result, "one-time import (pyarrow's pandas shim)", _warm_up)
        store = _timed(result, "create store", lambda: TagStore(base / "bench.duckdb"))
        items = _sounds(cfg)
        ids = [sid for sid, _ in _timed(result, f"write {cfg.n_sounds:,} sounds + "
                                        f"{cfg.n_sounds * cfg.predictions_per_sound:,} predictions",
                                        lambda: store.add_sounds(items))]
        requests = _corrections(cfg, ids)
        _timed(result, f"write {cfg.n_corrections:,} corrections",
               lambda: store.label_many(requests))
        _single_ops(store, cfg, ids, result)
        page = SoundQuery(reviewed=False, sort="uncertain", limit=50, offset=1000)
        _timed(result, "list one page (uncertain, unreviewed)", lambda: store.list_sounds(page))
        _timed(result, "count (unreviewed)", lambda: store.count_sounds(page))
        for fmt in ("jsonl", "csv", "parquet"):
            summary = _timed(result, f"export {fmt}",
                             lambda f=fmt: export_labels(store, f, base / f"labels.{f}"))
            result.counts[f"exported {fmt} rows"] = summary.rows
        result.counts.update(store.stats() | {"by_source": 0})
        result.counts.pop("by_source")
    if report:
        _print(result, report)
    return result


def _warm_up() -> None:
    """The first Arrow conversion in a process imports pandas (about 0.5 s): not a write cost."""
    pa.array([0])


def _single_ops(store: TagStore, cfg: BenchConfig, ids: list[int], result: BenchResult) -> None:
    """Per-operation latency on the full store (each opens and closes the file)."""
    n = cfg.single_ops

    def labels():
        for i in range(n):
            store.labels(ids[i])

    def label():
        for i in range(n):
            store.label(ids[i], add=["piano"], user="bench")

    for step, fn in (("labels() x1", labels), ("label() x1", label)):
        start = time.perf_counter()
        fn()
        result.seconds[step] = (time.perf_counter() - start) / n


def _print(result: BenchResult, report: Callable[[str], None]) -> None:
    report(f"tag store benchmark (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for step, seconds in result.seconds.items():
        report(f"  {step:<48} {seconds * 1000:9.1f} ms")
    for name, count in result.counts.items():
        report(f"  {name:<48} {count:9,}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sounds", type=int, default=BenchConfig.n_sounds)
    p.add_argument("--corrections", type=int, default=BenchConfig.n_corrections)
    p.add_argument("--repeat", type=int, default=1,
                   help="run N times and report each step's fastest time (a shared machine)")
    args = p.parse_args(argv)
    cfg = BenchConfig(n_sounds=args.sounds, n_corrections=args.corrections)
    runs = [run_benchmark(cfg, report=None) for _ in range(max(1, args.repeat))]
    best = BenchResult({k: runs[0].seconds[k] if k.startswith("one-time")
                        else min(r.seconds[k] for r in runs) for k in runs[0].seconds},
                       runs[0].counts)
    _print(best, print)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
