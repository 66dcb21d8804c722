"""`python -m core export --format FMT --out FILE`: write the corrected labels."""

from __future__ import annotations

import sys

from core.commands.common import add_threshold_option, fail, progress_bar
from core.store import StoreError
from core.store.cli import add_db_option, open_store
from core.store.export import FORMATS, ExportError, export_labels
from core.store.training_labels import LABEL_SOURCES


def register(sub) -> None:
    p = sub.add_parser("export", help="export labels (csv, jsonl, parquet, coala-h5)")
    p.add_argument("--format", required=True, choices=FORMATS, help="output format")
    p.add_argument("--out", required=True, metavar="FILE", help="output file (replaced)")
    p.add_argument("--reviewed-only", action="store_true",
                   help="only sounds a person has corrected or confirmed")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="only sounds added or corrected on or after DATE (UTC, e.g. 2024-05-01)")
    add_threshold_option(p)
    p.add_argument("--labels", default="final", choices=LABEL_SOURCES,
                   help="coala-h5 labels: final (default; with --reviewed-only, what curators "
                        "confirmed), uploader (the uploader's Freesound tags mapped onto the "
                        "vocabulary), both (final for reviewed sounds, uploader for the rest)")
    add_db_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        with progress_bar("sound", disable=args.format != "coala-h5") as progress:
            summary = export_labels(open_store(args), args.format, args.out, args.reviewed_only,
                                    args.since, args.threshold, progress, args.labels)
    except (StoreError, ExportError) as e:
        return fail(str(e))
    except OSError as e:  # the folder of --out is missing, read-only or full
        return fail(f"cannot write {args.out}: {e.strerror or e}")
    for sound_id, why in summary.skipped:
        print(f"skipped sound {sound_id}: {why}", file=sys.stderr)
    print(f"wrote {summary.path}: {summary.line()}")
    return 0
