"""`python -m core improve [--db FILE] [--model DIR] [--epochs N]`: fine-tune the active model on
the store's sounds (uploader tags and reviewed corrections) mixed with its base corpora, and
compare old and new on the same held-out data. The new model is listed by `python -m core
models`; `python -m core promote NAME` makes it the active one."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from core.commands.common import fail, model_dir
from core.registry import models_root, runs_root
from core.runs import TRAIN_LAYERS
from core.store.cli import add_db_option, db_path


def register(sub) -> None:
    from core.improve.config import ImproveConfig as D  # noqa: N814 - its fields are the defaults

    p = sub.add_parser("improve", help="fine-tune the active model on the store; compare old and new")
    add_db_option(p)
    p.add_argument("--model", default=None, help="base model directory (default: the active model)")
    p.add_argument("--epochs", type=int, default=D.epochs,
                   help=f"most fine-tuning epochs (default {D.epochs})")
    p.add_argument("--lr", type=float, default=D.lr, help=f"learning rate (default {D.lr:g})")
    p.add_argument("--batch-size", type=int, default=D.batch_size,
                   help=f"batch size (default {D.batch_size})")
    p.add_argument("--base-data", action="append", metavar="FILE[:WEIGHT]",
                   help="a corpus the base model was trained on (default: from its lineage.json)")
    p.add_argument("--base-val", action="append", metavar="FILE",
                   help="a base validation file (default: from its lineage.json)")
    p.add_argument("--base-test", action="append", metavar="LABEL=FILE",
                   help="a base test pool (default: from its lineage.json or metrics.json)")
    p.add_argument("--base-weight", type=float, default=D.base_weight,
                   help=f"share of each batch from the base corpora (default {D.base_weight:g})")
    p.add_argument("--weak-weight", type=float, default=D.weak_weight,
                   help="share from unreviewed store sounds, labelled by their uploader tags "
                        f"({D.weak_weight:g})")
    p.add_argument("--reviewed-weight", type=float, default=D.reviewed_weight,
                   help=f"share from reviewed store sounds, labelled by the curators ({D.reviewed_weight:g})")
    p.add_argument("--blend", type=blend_weight, default=None, metavar="auto|ALPHA",
                   help="keep ALPHA x fine-tuned + (1 - ALPHA) x base weights, ALPHA in (0, 1]; "
                        "auto (default): the ALPHA of 0.3-1.0 that scores best on validation")
    p.add_argument("--name", default=None, help="the new model's folder (default improved-<time>)")
    p.add_argument("--train-layers", default=None, choices=list(TRAIN_LAYERS),
                   help="all: fine-tune every layer; head: only the hidden and output layers, the "
                        "conv blocks kept (default: head for an ensemble, all for one network)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(run=run)


def blend_weight(text: str) -> float | None:
    if text == "auto":
        return None
    try:
        alpha = float(text)
    except ValueError:
        alpha = -1.0
    if not 0 < alpha <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give auto or a number in (0, 1]")
    return alpha


def config_from_args(args):
    from core.improve.config import ImproveConfig

    tests = None
    if args.base_test:
        pairs = [t.partition("=") for t in args.base_test]
        if any(not sep or not label or not path for label, sep, path in pairs):
            raise ValueError("--base-test takes LABEL=FILE, e.g. test=build/corpus/test.h5")
        tests = {label: path for label, _, path in pairs}
    return ImproveConfig(db=str(db_path(args)), model=str(model_dir(args)),
                         models_dir=str(models_root()), runs_dir=str(runs_root()),
                         epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                         base_data=tuple(args.base_data) if args.base_data else None,
                         base_val=tuple(args.base_val) if args.base_val else None,
                         base_test=tests, base_weight=args.base_weight,
                         weak_weight=args.weak_weight, reviewed_weight=args.reviewed_weight,
                         blend=args.blend, device=args.device, name=args.name,
                         train_layers=args.train_layers)


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def run(args) -> int:
    from core.commands.train import EXPECTED, ProgressBar
    from core.improve.pipeline import ImproveError, improve
    from core.registry import RegistryError
    from core.store import StoreError
    from core.train import BatchRecords
    from core.train_checks import one_line

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # the app's Stop: as Ctrl-C, all stages at once
    try:
        cfg = config_from_args(args)
        result = improve(cfg, on_stage=lambda line: print(line, flush=True),
                         callbacks=[ProgressBar(), BatchRecords()])
    except (ImproveError, StoreError, RegistryError, *EXPECTED) as e:
        return fail(str(e))
    except Exception as e:  # noqa: BLE001 - one line for the user, never a traceback
        return fail(f"improve failed: {one_line(e)}", 1)
    name = Path(result.model_dir).name
    print(f"new model: {result.model_dir} (before/after in its comparison.json); "
          f"`python -m core promote {name}` makes it the active model")
    return 0
