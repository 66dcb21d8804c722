"""The benchmark's workload (100,000 predictions, 10,000 corrections) is written and exported
whole. Its times are printed by `python -m core.store.bench`, never asserted here."""

from __future__ import annotations

from core.store.bench import BenchConfig, run_benchmark


def test_benchmark_writes_and_exports_everything(tmp_path):
    result = run_benchmark(BenchConfig(), folder=tmp_path, report=None)
    counts = result.counts
    assert counts["sounds"] == 10_000
    assert counts["predictions"] == 100_000
    assert counts["corrections"] == 10_000 + BenchConfig().single_ops
    assert counts["reviewed"] == 10_000
    for fmt in ("jsonl", "csv", "parquet"):
        assert counts[f"exported {fmt} rows"] == 10_000
    assert (tmp_path / "labels.jsonl").read_text().count("\n") == 10_000
    assert set(result.seconds) >= {"export jsonl", "export csv", "export parquet"}
