"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from core.registry import active_model
from core.settings import settings


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="model directory (default: the active model: $TAGGER_MODEL, else the "
                        "one `python -m core promote` chose, else models/default)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="where the model runs (auto: CUDA when present)")


def add_threshold_option(p: argparse.ArgumentParser) -> None:
    default = settings().threshold
    p.add_argument("--threshold", type=float, default=default,
                   help=f"score from which a predicted tag counts as a label (default {default:g})")


@contextmanager
def progress_bar(unit: str, desc: str | None = None, disable: bool | None = False
                 ) -> Iterator[Callable[..., None]]:
    """A bar on stderr, and the callback a long job reports to: `(done, total, *message)`."""
    bar = tqdm(unit=unit, desc=desc, file=sys.stderr, disable=disable)

    def update(done: int, total: int, *_message) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def files_and_tagger(args: argparse.Namespace):
    """(the audio files under args.paths, a core.tagger.Tagger for --model and --device), or
    None after saying on stderr why not (no files, no model): the command then exits with 2."""
    from core.audio import find_audio_files
    from core.modeldir import ModelNotFoundError
    from core.tagger import Tagger

    paths = find_audio_files(args.paths)
    if not paths:
        fail("no audio files found in the given paths")
        return None
    try:
        return paths, Tagger(model_dir(args), args.device)
    except ModelNotFoundError as e:
        fail(str(e))
        return None


def store_and_tagger(args: argparse.Namespace):
    """(the tag store of --db, a core.tagger.Tagger for --model and --device), or None after
    saying on stderr why not (a store or a model that cannot be opened): the command then exits
    with 2."""
    from core.modeldir import ModelNotFoundError
    from core.store import StoreError
    from core.store.cli import open_store
    from core.tagger import Tagger

    try:
        return open_store(args), Tagger(model_dir(args), args.device)
    except (ModelNotFoundError, StoreError, ValueError, OSError) as e:
        fail(str(e))
        return None


def model_dir(args: argparse.Namespace) -> Path:
    """--model, else the active model; says so on stderr when a promoted model is gone."""
    if getattr(args, "model", None):
        return Path(args.model)
    active = active_model()
    if active.note:
        print(f"note: {active.note}", file=sys.stderr)
    return active.path
