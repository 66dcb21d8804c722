"""Build a labelled corpus in the COALA HDF5 layout: plan, render in worker processes, featurise
with the one COALA pipeline (core.features), write with core.dataset.CoalaWriter.

The same config gives the same file: every clip is drawn from (seed, index), and chunks are
written in index order whatever the number of workers.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from core.corpus.catalog import SOURCES_PATH, check_installed, load_catalog
from core.corpus.recipe import plan_clip
from core.dataset import GROUP, CoalaWriter
from core.vocabulary import decode_multi_hot, load_vocabulary, multi_hot

MAX_REFILL_ROUNDS = 5  # clips that render silent are replaced by clips planned after index n


@dataclass(frozen=True)
class CorpusConfig:
    out: str  # the HDF5 file to write
    n: int  # number of clips
    seed: int  # every random choice is drawn from (seed, clip index)
    pool: str = "train"  # sources.toml pool: train, val or holdout
    workers: int = 2  # rendering processes (0: render in this process)
    chunk: int = 200  # clips per task; each task runs fluidsynth once per soundfont
    catalog: str = str(SOURCES_PATH)  # the source table


@dataclass
class CorpusSummary:
    path: str  # the file written
    n: int  # clips written
    seconds: float  # wall time of the build
    replaced: int  # clips that rendered silent and were replaced
    tag_counts: dict = field(default_factory=dict)  # tag -> clips carrying it

    @property
    def clips_per_s(self) -> float:
        return self.n / max(self.seconds, 1e-9)


@dataclass
class _Chunk:
    ids: np.ndarray  # (k,) int
    patches: np.ndarray  # (k, 96, 96) float32
    labels: np.ndarray  # (k, 1000) int16
    dropped: int  # planned clips that rendered silent


def build_corpus(cfg: CorpusConfig, on_progress: Callable[[int, int], None] | None = None) -> CorpusSummary:
    if cfg.n < 1:
        raise ValueError(f"a corpus needs at least one clip, got n={cfg.n}")
    catalog = load_catalog(cfg.catalog)
    if cfg.pool not in catalog.pools:
        raise ValueError(f"unknown pool {cfg.pool!r}; sources.toml defines {sorted(catalog.pools)}")
    check_installed(catalog, cfg.pool)
    start, written, replaced = time.perf_counter(), 0, 0
    counts: Counter = Counter()
    with CoalaWriter(cfg.out) as writer, worker_pool(cfg.workers) as pool:
        next_index, wanted = 0, cfg.n
        for _ in range(MAX_REFILL_ROUNDS + 1):
            ranges = _ranges(next_index, wanted, cfg.chunk)
            next_index += wanted
            for chunk in _map(pool, cfg, ranges):
                take = min(len(chunk.ids), cfg.n - written)
                writer.append(chunk.ids[:take], chunk.patches[:take], chunk.labels[:take])
                counts.update(t for row in chunk.labels[:take] for t in decode_multi_hot(row))
                written += take
                replaced += chunk.dropped
                if on_progress:
                    on_progress(written, cfg.n)
            wanted = cfg.n - written
            if wanted <= 0:
                break
    if written < cfg.n:
        raise RuntimeError(f"only {written} of {cfg.n} clips rendered sound; check the soundfonts")
    _write_attrs(cfg, catalog.used_tags())
    return CorpusSummary(cfg.out, written, time.perf_counter() - start, replaced, dict(counts))


def _ranges(first: int, n: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(first + n, a + chunk)) for a in range(first, first + n, chunk)]


def worker_pool(workers: int):
    """Spawned worker processes with one torch thread each; workers <= 0: work in this process."""
    if workers <= 0:
        return _Inline()
    ctx = multiprocessing.get_context("spawn")  # no fork after torch/OpenMP start in the parent
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)


class _Inline:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _map(pool, cfg: CorpusConfig, ranges: list[tuple[int, int]]):
    args = [(cfg.catalog, cfg.pool, cfg.seed, a, b) for a, b in ranges]
    if pool is None:
        return (render_chunk(*a) for a in args)
    return pool.map(render_chunk, *zip(*args, strict=True)) if args else iter(())


def _init_worker() -> None:
    import torch
    torch.set_num_threads(1)


def render_chunk(catalog_path: str, pool: str, seed: int, start: int, stop: int) -> _Chunk:
    """Plan, render and featurise clips start..stop-1 (runs in a worker process)."""
    from core.corpus.render import render_clips
    from core.features import extract_patches

    catalog = load_catalog(catalog_path)
    specs = [plan_clip(catalog, pool, seed, i) for i in range(start, stop)]
    clips = render_clips(specs)
    kept = [(s, c) for s, c in zip(specs, clips, strict=True) if c is not None]
    vocabulary = load_vocabulary()
    if not kept:
        return _Chunk(np.zeros(0, np.int64), np.zeros((0, 96, 96), np.float32),
                      np.zeros((0, len(vocabulary)), np.int16), len(specs))
    patches = extract_patches([c for _, c in kept]).patches.numpy()  # (k, 96, 96)
    labels = np.stack([multi_hot(s.tags, vocabulary) for s, _ in kept])  # (k, 1000)
    ids = np.array([s.clip_id for s, _ in kept], np.int64)
    return _Chunk(ids, patches.astype(np.float32), labels, len(specs) - len(kept))


def _write_attrs(cfg: CorpusConfig, tags: list[str]) -> None:
    """Provenance next to the data (HDF5 attributes; readers of the COALA layout ignore them)."""
    with h5py.File(cfg.out, "a") as f:
        f[GROUP].attrs["corpus_config"] = json.dumps(asdict(cfg))
        f[GROUP].attrs["corpus_tags"] = json.dumps(tags)


def read_corpus_info(path: str | Path) -> dict:
    """The corpus config and tag list stored by build_corpus ({} for other COALA files)."""
    with h5py.File(path, "r") as f:
        attrs = f[GROUP].attrs if GROUP in f else {}
        return {k: json.loads(attrs[k]) for k in ("corpus_config", "corpus_tags") if k in attrs}
