"""Store figures: the tag store's own benchmark beside a naive row-at-a-time DuckDB baseline."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb

from core.store.bench import BenchConfig, run_benchmark


def naive_prediction_rate(n_rows: int) -> float:
    """Predictions/s written one INSERT per row (one transaction), as a plain first version would."""
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "naive.duckdb"))
        con.execute("CREATE TABLE predictions (sound_id BIGINT, tag VARCHAR, score DOUBLE, rank INT)")
        start = time.perf_counter()
        con.execute("BEGIN")
        for i in range(n_rows):
            con.execute("INSERT INTO predictions VALUES (?, ?, ?, ?)", [i // 10, f"tag{i % 1000}",
                                                                     0.5, i % 10])
        con.execute("COMMIT")
        rate = n_rows / (time.perf_counter() - start)
        con.close()
    return rate


def run_store(quick: bool, log=print) -> dict:
    log("6. the store: 100,000 predictions and 10,000 corrections, written and exported")
    result = run_benchmark(BenchConfig(single_ops=5 if quick else 20), report=None)
    seconds = {k: round(v, 3) for k, v in result.seconds.items()}
    write_key = next(k for k in seconds if k.startswith("write") and "predictions" in k)
    n_predictions = BenchConfig.n_sounds * BenchConfig.predictions_per_sound
    naive_rate = naive_prediction_rate(2_000 if quick else 10_000)
    ours_rate = n_predictions / seconds[write_key]
    return {"seconds": seconds, "counts": result.counts,
            "predictions_per_s": round(ours_rate), "naive_predictions_per_s": round(naive_rate),
            "speedup_vs_naive": round(ours_rate / naive_rate, 1)}
