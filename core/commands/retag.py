"""`python -m core retag [--unreviewed-only] [--db FILE] [--model DIR]`: store the active (or
given) model's predictions for the stored sounds, beside the old ones; corrections stay."""

from __future__ import annotations

import sys

from core.commands.common import add_model_options, fail, model_dir, progress_bar
from core.modeldir import ModelNotFoundError
from core.store import StoreError
from core.store.cli import add_db_option, open_store


def register(sub) -> None:
    p = sub.add_parser("retag", help="re-tag the stored sounds with the active model")
    p.add_argument("--unreviewed-only", action="store_true",
                   help="only sounds no person has corrected or confirmed")
    add_db_option(p)
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.retag import retag
    from core.tagger import Tagger

    try:
        store = open_store(args)
        tagger = Tagger(model_dir(args), args.device)
    except (ModelNotFoundError, StoreError, ValueError, OSError) as e:
        return fail(str(e))
    try:
        with progress_bar("sound") as progress:
            summary = retag(store, tagger, args.unreviewed_only, progress)
    except StoreError as e:
        return fail(str(e), 1)
    for line in summary.errors:
        print(f"failed: {line}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.failed else 0
