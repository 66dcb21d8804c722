"""`python -m core embed [--db FILE] [--model DIR]`: give every stored sound the model's
embedding (sounds stored before embeddings were kept, or tagged by another model)."""

from __future__ import annotations

from core.commands.common import add_model_options, fail, progress_bar, store_and_tagger
from core.store import StoreError
from core.store.cli import add_db_option


def register(sub) -> None:
    p = sub.add_parser("embed", help="store the model's embedding of every sound lacking one")
    add_db_option(p)
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.embed import embed_missing

    opened = store_and_tagger(args)
    if opened is None:
        return 2
    store, tagger = opened
    try:
        with progress_bar("sound") as progress:
            summary = embed_missing(store, tagger, on_progress=progress)
    except StoreError as e:
        return fail(str(e), 1)
    print(summary.line())
    return 1 if summary.failed else 0
