"""Similar-sounds figures: exact search over 100,000 stored embeddings, and what returning the
embedding adds to tagging (both taggers in turns in one process, so the load is shared)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.bench.audio_set import mixed_folder
from core.bench.tagging import bench_model_dir
from core.bench.timing import measure
from core.similar import EmbeddingIndex, neighbours
from core.store import SoundInfo, TagStore
from core.tagger import Tagger

MODEL = "bench@0"


def synthetic_store(path: Path, n: int, size: int, seed: int = 0) -> float:
    """n sounds with one prediction and a ReLU-like (sparse, non-negative) embedding each, in
    batches of 10,000; returns the seconds the writes took."""
    rng = np.random.default_rng(seed)
    store = TagStore(path)
    start = time.perf_counter()
    for first in range(0, n, 10_000):
        count = min(10_000, n - first)
        vectors = np.maximum(rng.standard_normal((count, size), np.float32) - 1.0, 0.0)
        items = [(SoundInfo("folder", f"sound {first + i}", None, f"h{first + i}", 1.0),
                  [("piano", 0.9)], MODEL) for i in range(count)]
        store.add_sounds(items, list(vectors))
    return time.perf_counter() - start


def search_figures(work: Path, n: int, size: int, queries: int) -> dict:
    write_s = synthetic_store(work / "similar.duckdb", n, size)
    store = TagStore(work / "similar.duckdb")
    start = time.perf_counter()
    index = EmbeddingIndex.from_store(store, MODEL)
    load_s = time.perf_counter() - start
    rng = np.random.default_rng(1)
    picks = iter(rng.integers(1, n + 1, 10 * queries))

    def one_search():
        sid = int(next(picks))
        index.search(index.vector(sid), 10, [sid])

    def one_query():  # what `similar` and the panel do: search, then names and tags from DuckDB
        sid = int(next(picks))
        neighbours(store, index, index.vector(sid), 10, [sid])

    search = measure(one_search, queries)
    full = measure(one_query, max(5, queries // 4))
    return {"sounds": n, "size": size, "write_s": round(write_s, 2), "load_s": round(load_s, 2),
            "index_mb": round(index.unit.nbytes / 2**20, 1), "search": search.to_dict(),
            "query_with_rows": full.to_dict()}


def suspects_time(work: Path, n: int) -> dict:
    """`suspects` (what the feed's "Likely mislabeled first" sort runs) over the store bench's
    synthetic sounds (10 predictions each, corrections on some) with random embeddings."""
    from core.store.bench import BenchConfig, _corrections, _sounds
    from core.suspects import suspects

    cfg = BenchConfig(n_sounds=n, n_corrections=n)
    items = _sounds(cfg)
    rng = np.random.default_rng(2)
    store = TagStore(work / "suspects.duckdb")
    vectors = np.maximum(rng.standard_normal((n, 512), np.float32) - 1.0, 0.0)
    ids = [sid for sid, _ in store.add_sounds(items, list(vectors))]
    store.label_many(_corrections(cfg, ids))
    start = time.perf_counter()
    judged = len(suspects(store, index=EmbeddingIndex.from_store(store, items[0][2])))
    return {"sounds": n, "judged": judged, "seconds": round(time.perf_counter() - start, 2)}


def tagging_overhead(model_dir: Path, work: Path, n_files: int, rounds: int) -> dict:
    """Folder tagging with and without embeddings in alternating rounds (best round each), and
    the model step alone on one batch of patches."""
    files = mixed_folder(work / "folder", n_files)
    with_e, without = Tagger(model_dir, "cpu"), Tagger(model_dir, "cpu", embeddings=False)
    times = {True: [], False: []}
    for _ in range(rounds):
        for tagger in (without, with_e):
            start = time.perf_counter()
            assert all(r.ok for r in tagger.tag_files(files, top_k=20))
            times[tagger.embeddings].append(time.perf_counter() - start)
    patches = torch.rand(32, 96, 96)
    step_with = measure(lambda: with_e._score(patches), 40)
    step_without = measure(lambda: without._score(patches), 40)
    best_with, best_without = min(times[True]), min(times[False])
    return {"files": n_files, "rounds": rounds, "with_s": round(best_with, 3),
            "without_s": round(best_without, 3), "ratio": round(best_with / best_without, 4),
            "median_ratio": round(float(np.median(times[True]) / np.median(times[False])), 4),
            "model_step_ratio": round(step_with.median_s / step_without.median_s, 4)}


def run_similar(quick: bool, log=print) -> dict:
    n = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir, note = bench_model_dir(work)
        size = Tagger(model_dir, "cpu").loaded.info.embedding.size
        log(f"8. similar: {n:,} synthetic stored embeddings of {size} floats, exact search")
        out = {"search": search_figures(work, n, size, 20 if quick else 50)}
        log("8. suspects over 10,000 synthetic sounds (the feed's 'Likely mislabeled first')")
        out["suspects"] = suspects_time(work, 2_000 if quick else 10_000)
        log(f"8. embedding overhead on tagging ({note}), with and without in turns")
        out["overhead"] = tagging_overhead(model_dir, work, 30 if quick else 100, 3 if quick else 5)
    return out


def summary_lines(s: dict) -> list[str]:
    q, o = s["search"], s["overhead"]
    return [f"8 similar over {q['sounds']:,} sounds  search {q['search']['median_ms']} ms median, "
            f"p95 {q['search']['p95_ms']} ms (warm; with names and tags from DuckDB "
            f"{q['query_with_rows']['median_ms']} ms) | load {q['load_s']} s, "
            f"{q['index_mb']} MB | target <= 200 ms",
            f"8 embeddings in tagging     {o['files']} files {o['with_s']} s with, "
            f"{o['without_s']} s without (best of {o['rounds']}) | x{o['ratio']} "
            f"(medians x{o['median_ratio']}; model step x{o['model_step_ratio']}) | target <= x1.05",
            f"8 suspects over {s['suspects']['sounds']:,} sounds  {s['suspects']['seconds']} s "
            f"({s['suspects']['judged']:,} judged; embeddings' neighbours mixed in)"]
