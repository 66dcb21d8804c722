"""`python -m core similar-eval --manifest FILE --root DIR [--db FILE] [--json]`: similar sounds
and suspects measured on a pool of clips with known tags (core.similar_eval)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from core.commands.common import add_model_options, fail, model_dir
from core.dataset import DatasetFormatError
from core.modeldir import ModelNotFoundError
from core.store import StoreError, TagStore

DEFAULT_MANIFEST = "build/recorded/test.jsonl"


def register(sub) -> None:
    p = sub.add_parser("similar-eval", help="similar sounds and suspects measured on a labelled pool")
    p.add_argument("--manifest", default=DEFAULT_MANIFEST,
                   help=f"clips with package, path and tags, one JSON per line (default {DEFAULT_MANIFEST})")
    p.add_argument("--root", default=None,
                   help="folder holding <package>/<path> of each clip (the unpacked packages)")
    p.add_argument("--h5", default=None, metavar="FILE",
                   help="instead of --manifest and --root: a COALA-layout HDF5 file (patches and "
                        "labels), e.g. build/corpus/holdout.h5")
    p.add_argument("--db", default=None, metavar="FILE",
                   help="a new store to build and keep (default: a temporary one); must not exist")
    p.add_argument("--seed", type=int, default=0, help="seed of the planted errors (default 0)")
    p.add_argument("--plantings", type=int, default=4,
                   help="plant errors this many times (seeds SEED, SEED+1, ...) and report each "
                        "and their mean: one planting flips few sounds on a small pool (default 4)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.similar_eval import evaluate_pool, read_manifest, summary_lines, to_json
    from core.tagger import Tagger

    if args.db and Path(args.db).exists():
        return fail(f"{args.db} exists: the evaluation plants label errors, so it builds a new store")
    if args.plantings < 1:
        return fail("--plantings must be 1 or more")
    if not (args.h5 or args.root):
        return fail("give --root (the folder of the manifest's packages) or --h5 FILE")
    try:
        clips = Path(args.h5) if args.h5 else read_manifest(Path(args.manifest), Path(args.root))
        if args.h5 and not clips.is_file():
            return fail(f"no such file: {args.h5}")
        tagger = Tagger(model_dir(args), args.device)
    except (ModelNotFoundError, ValueError, OSError, KeyError) as e:
        return fail(f"{args.manifest}: {e}" if isinstance(e, KeyError) else str(e))
    if not clips:
        return fail(f"{args.manifest} lists no clips")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            store = TagStore(args.db or Path(tmp) / "pool.duckdb")
            result = evaluate_pool(store, tagger, clips, args.seed,
                                   log=lambda m: print(m, file=sys.stderr, flush=True),
                                   plantings=args.plantings)
        except (StoreError, DatasetFormatError) as e:
            return fail(str(e))
    print(to_json(result) if args.json else "\n".join(summary_lines(result)))
    return 0
