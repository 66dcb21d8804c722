"""Command-line helpers shared by the commands that use the tag store (tag, label, export, ...)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.store.models import SoundLabels
from core.store.store import TagStore, default_db_path


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, metavar="FILE",
                   help="tag store (default: $TAGGER_DB, else data/tags.duckdb)")


def db_path(args: argparse.Namespace) -> Path:
    return Path(args.db) if getattr(args, "db", None) else default_db_path()


def open_store(args: argparse.Namespace) -> TagStore:
    return TagStore(db_path(args))


def format_labels(labels: SoundLabels) -> str:
    """Human-readable labels of one sound, one field per line."""
    predicted = ", ".join(f"{t} {s:.2f}" for t, s in labels.predicted) or "-"
    lines = [f"predicted ({labels.model or 'no model'}): {predicted}",
             f"added:     {', '.join(labels.added) or '-'}",
             f"removed:   {', '.join(labels.removed) or '-'}",
             f"confirmed: {', '.join(labels.confirmed) or '-'}",
             f"final (threshold {labels.threshold:g}): {', '.join(labels.final) or '-'}",
             f"reviewed:  {'yes' if labels.reviewed else 'no'}"]
    if labels.out_of_vocabulary:
        lines.append(f"outside the vocabulary: {', '.join(labels.out_of_vocabulary)}")
    return "\n".join(lines)
