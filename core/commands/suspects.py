"""`python -m core suspects [--top N] [--json]`: the stored sounds whose tags are most likely
wrong or incomplete, by cleanlab's multi-label label quality (core.suspects)."""

from __future__ import annotations

import json

from core.commands.common import add_threshold_option, fail, model_dir
from core.modeldir import ModelNotFoundError
from core.store import StoreError
from core.store.cli import add_db_option, open_store


def register(sub) -> None:
    p = sub.add_parser("suspects", help="the sounds whose labels are most likely wrong")
    p.add_argument("--top", type=int, default=20, help="how many sounds (default 20; 0: all)")
    add_threshold_option(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per sound, most suspect first: sound_id, name, quality, "
                        "labels_from, labels, issues")
    p.add_argument("--model", default=None,
                   help="whose embeddings find the neighbours mixed into the scores (default: "
                        "the active model's, else those covering the most sounds)")
    add_db_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.suspects import suspects

    if args.top < 0:
        return fail("--top must be 0 (all) or more")
    try:
        store = open_store(args)
        found = suspects(store, args.threshold, *_embeddings(store, args))
    except (StoreError, ValueError, ModelNotFoundError) as e:
        return fail(str(e))
    shown = found[:args.top] if args.top else found
    if args.json:
        for s in shown:
            print(json.dumps(s.to_json(), ensure_ascii=False))
        return 0
    print(f"{len(found)} sounds judged (those with curators' or uploaders' tags); most suspect first")
    for s in shown:
        issues = "; ".join(f"{tag} {kind} (score {score:.2f})" for tag, kind, score in s.issues)
        print(f"{s.quality:.3f}  sound {s.sound_id}  {s.name}  [{', '.join(s.labels)}, "
              f"{s.labels_from}]  {issues or '-'}")
    return 0


def _embeddings(store, args):
    """(the index of the active (or --model) model's embeddings, else of the model covering the
    most sounds, None when the store holds none; that model as a Tagger when the index is the
    active one's, to score every judged tag from it, else None: the stored predictions count)."""
    from core.modeldir import read_model_info
    from core.similar import EmbeddingIndex, embedding_model
    from core.tagger import Tagger

    counts = store.embedding_counts()
    if not counts:
        return None, None
    path = model_dir(args)
    try:
        label = read_model_info(path).label
    except ModelNotFoundError:
        if args.model:
            raise
        label = ""
    model = embedding_model(counts, label)
    if not counts.get(model):
        return None, None
    return EmbeddingIndex.from_store(store, model), (Tagger(path, device="cpu") if model == label
                                                     else None)
