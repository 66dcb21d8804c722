"""`python -m core retag [--unreviewed-only] [--db FILE] [--model DIR]`: store the active (or
given) model's predictions for the stored sounds, beside the old ones; corrections stay."""

from __future__ import annotations

import sys

from core.commands.common import add_model_options, fail, progress_bar, store_and_tagger
from core.store import StoreError
from core.store.cli import add_db_option


def register(sub) -> None:
    p = sub.add_parser("retag", help="re-tag the stored sounds with the active model")
    p.add_argument("--unreviewed-only", action="store_true",
                   help="only sounds no person has corrected or confirmed")
    add_db_option(p)
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.retag import retag

    opened = store_and_tagger(args)
    if opened is None:
        return 2
    store, tagger = opened
    try:
        with progress_bar("sound") as progress:
            summary = retag(store, tagger, args.unreviewed_only, progress)
    except StoreError as e:
        return fail(str(e), 1)
    for line in summary.errors:
        print(f"failed: {line}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.failed else 0
