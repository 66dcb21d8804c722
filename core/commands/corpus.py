"""`python -m core corpus --out FILE.h5 --n N --seed S`: build a labelled corpus offline."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

from core.commands.common import fail
from core.corpus.builder import CorpusConfig, build_corpus
from core.corpus.catalog import SOURCES_PATH, CatalogError, MissingSourceError


def register(sub) -> None:
    p = sub.add_parser("corpus", help="render a labelled training corpus (COALA HDF5 layout)")
    p.add_argument("--out", required=True, help="HDF5 file to write")
    p.add_argument("--n", type=int, required=True, help="number of clips")
    p.add_argument("--seed", type=int, required=True, help="the same seed gives the same corpus")
    p.add_argument("--pool", default="train",
                   help="sound sources to draw from (sources.toml pools: train, val, holdout)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="rendering processes (0: in this process)")
    p.add_argument("--chunk", type=int, default=200, help="clips per rendering task")
    p.add_argument("--catalog", default=str(SOURCES_PATH),
                   help="source table (default: core/corpus/sources.toml)")
    p.set_defaults(run=run)


def run(args) -> int:
    cfg = CorpusConfig(args.out, args.n, args.seed, args.pool, args.workers, args.chunk, args.catalog)
    bar = tqdm(total=cfg.n, unit="clip", file=sys.stderr, desc=f"corpus {cfg.pool}")

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        summary = build_corpus(cfg, progress)
    except (CatalogError, MissingSourceError, ValueError) as e:
        return fail(str(e))
    finally:
        bar.close()
    counts = sorted(summary.tag_counts.items(), key=lambda kv: -kv[1])
    print(f"wrote {summary.path}: {summary.n} clips in {summary.seconds:.0f} s "
          f"({summary.clips_per_s:.1f} clips/s), {len(counts)} tags, {summary.replaced} clips "
          "replaced (silent or failed renders)")
    print("most frequent: " + ", ".join(f"{t} {c}" for t, c in counts[:8]))
    print("least frequent: " + ", ".join(f"{t} {c}" for t, c in counts[-8:]))
    return 0
