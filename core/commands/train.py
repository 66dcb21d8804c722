"""`python -m core train --data TRAIN.h5[:WEIGHT] [--data MORE.h5[:WEIGHT] ...] [--val VAL.h5 ...]
[--preset P] [--init-from MODEL_DIR] [--teacher MODEL_DIR|RUN ... [--distill W]] --out runs/NAME`:
train from scratch, or fine-tune a model directory on new data, one file or several mixed by weight;
with teachers, towards their averaged scores as well as the labels (core.distill).

SIGTERM (`python -m core runs stop NAME`) and a first Ctrl-C stop the run at the next batch
boundary, with a whole checkpoint and an end record in the log; a second Ctrl-C interrupts at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path

from tqdm import tqdm

from core.commands.common import fail
from core.dataset import DatasetFormatError
from core.detached import write_pid
from core.distill import check_teachers
from core.model import PRESETS
from core.modeldir import ModelNotFoundError, read_model_info
from core.runs import FAILURE, TRAIN_LAYERS
from core.train import (
    LAST,
    LOG,
    BatchRecords,
    Callback,
    RunFolderError,
    TrainConfig,
    Trainer,
    resume_config,
)
from core.train_checks import clear_failure, one_line, record_failure, require_trainable

# What a user can get wrong (bad flags, files, folders): one line, exit code 2.
EXPECTED = (ValueError, RunFolderError, DatasetFormatError, ModelNotFoundError, OSError, KeyError)

# CLI flag -> TrainConfig field, for the options that map one to one.
OPTIONS = ("val_fraction", "epochs", "batch_size", "lr", "weight_decay", "patience", "seed", "threads",
           "spec_augment", "eval_batch_size")


def register(sub) -> None:
    p = sub.add_parser("train", help="train the tagger on COALA-layout HDF5 data")
    p.add_argument("--data", action="append", metavar="FILE[:WEIGHT]",
                   help="training HDF5 file; repeat it to mix files, each batch drawing from each "
                        "in proportion to its weight (default 1)")
    p.add_argument("--val", action="append", metavar="FILE",
                   help="validation HDF5 file, may be repeated (default: a seeded split of each --data)")
    p.add_argument("--out", required=True, help="run folder (config, log.jsonl, checkpoints)")
    p.add_argument("--preset", default=None, choices=list(PRESETS),
                   help="model size (default: compact, or that of --init-from)")
    p.add_argument("--init-from", metavar="MODEL_DIR",
                   help="fine-tune: start from this model directory's weights (e.g. models/default) "
                        "instead of random ones; a lower --lr (1e-4) suits it")
    p.add_argument("--teacher", action="append", metavar="MODEL_DIR|RUN",
                   help="distill: also train towards this model's scores (a model directory or a "
                        "run folder's best epoch); repeat it to average several")
    p.add_argument("--distill", type=float, default=None,
                   help="with --teacher: the teachers' share of each training target (default 0.5)")
    p.add_argument("--train-layers", default="all", choices=list(TRAIN_LAYERS),
                   help="head: train only the hidden and output layers, the conv blocks kept as "
                        "--init-from has them (a cheaper fine-tune, e.g. of an ensemble)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument("--cosine", action="store_true", help="cosine learning-rate decay over --epochs")
    p.add_argument("--no-amp", dest="amp", action="store_false", help="no mixed precision on CUDA")
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    for name in OPTIONS:
        p.add_argument("--" + name.replace("_", "-"), type=type(defaults[name]), default=None,
                       help=f"default {defaults[name]}")
    p.set_defaults(run=run)


def config_from_args(args) -> TrainConfig:
    if args.resume:
        return resume_config(args.out, args.epochs)
    if not args.data:
        raise ValueError("--data is required (unless --resume)")
    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}
    if args.distill is not None:
        if not args.teacher:
            raise ValueError("--distill needs at least one --teacher")
        given["distill"] = args.distill
    preset = args.preset or (read_model_info(args.init_from).preset if args.init_from else "compact")
    return TrainConfig(data=tuple(args.data), out=args.out, val=tuple(args.val or ()), preset=preset,
                       device=args.device, cosine=args.cosine, amp=args.amp,
                       init_from=args.init_from, teachers=tuple(args.teacher or ()),
                       train_layers=args.train_layers, **given)


class ProgressBar(Callback):
    """A tqdm bar per epoch and one summary line per epoch, on the main process only."""

    def __init__(self):
        self.bar = None

    def on_batch(self, trainer, step, n_steps, loss):
        if not trainer.ctx.main:
            return
        if self.bar is None:
            self.bar = tqdm(total=n_steps, unit="batch", file=sys.stderr, leave=False,
                            desc=f"epoch {trainer.epoch}/{trainer.cfg.epochs}")
        self.bar.update()
        self.bar.set_postfix(loss=f"{loss:.4f}")

    def on_teachers(self, trainer, done, total):
        if not trainer.ctx.main:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit="pass", file=sys.stderr, leave=False,
                            desc="teachers scoring the training files")
        self.bar.update(done - self.bar.n)
        if done == total:
            self.bar.close()
            self.bar = None

    def on_epoch(self, trainer, record):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if trainer.ctx.main:
            best = " *" if record["is_best"] else ""
            print(f"epoch {record['epoch']:3d}  loss {record['train_loss']:.4f}  "
                  f"val loss {record['val_loss']:.4f}  ROC-AUC {record['roc_auc_macro']:.3f}  "
                  f"PR-AUC {record['pr_auc_macro']:.3f}  {record['samples_per_s']:.0f} samples/s  "
                  f"{record['time_s']:.0f} s{best}", flush=True)


def run(args) -> int:
    signals = StopSignals()  # before the (slow) setup, so that an early stop is not lost
    try:
        return train_run(args, signals)
    finally:
        signals.restore()


def train_run(args, signals: StopSignals) -> int:
    try:
        cfg = config_from_args(args)
        if not cfg.resume:  # a resumed run's data was checked when it started
            require_trainable(cfg.data, cfg.val, cfg.val_fraction, cfg.seed)
            check_teachers(cfg.teachers)
        start_attempt(cfg)
        trainer = Trainer(cfg, [ProgressBar(), BatchRecords()])
        signals.attach(trainer)
    except EXPECTED as e:
        return fail(str(e))
    except Exception as e:  # noqa: BLE001 - a broken model or file: one line, the traceback on file
        return failed(args.out, e)
    if trainer.cfg.batch_size < cfg.batch_size:
        print(f"note: batch size {trainer.cfg.batch_size}, not {cfg.batch_size}: there are only "
              f"{len(trainer.train_data)} training clips", file=sys.stderr)
    if trainer.ctx.main:  # so `runs list` and `runs stop` find a run started in a terminal too
        write_pid(Path(cfg.out), os.getpid(), sys.argv)
        if cfg.teachers:
            print(f"distilling {len(cfg.teachers)} teacher(s): they score the "
                  f"{len(trainer.train_data)} training clips first (kept in the run folder)",
                  file=sys.stderr, flush=True)
    try:
        end = trainer.run()
    except RunFolderError as e:
        return fail(str(e))
    except Exception as e:  # noqa: BLE001 - no traceback on the terminal: it goes to failure.json
        return failed(cfg.out, e, record=trainer.ctx.main)
    finally:
        trainer.close()
    if trainer.ctx.main:
        print(f"done: {end['epochs']} epochs ({end['stopped']}), best epoch {end['best_epoch']} "
              f"with validation PR-AUC macro {end['best_pr_auc_macro']:.3f}; run folder {cfg.out}")
    return 0


class StopSignals:
    """SIGTERM, and a first Ctrl-C, ask the trainer to stop at the next batch boundary (one that
    comes while it is being set up stops it at its first batch); a second Ctrl-C interrupts at
    once (KeyboardInterrupt: no end record, last.pt as the last whole epoch left it)."""

    def __init__(self):
        self.trainer: Trainer | None = None
        self.asked = False
        self.before = {}
        if threading.current_thread() is threading.main_thread():  # where Python takes signals
            self.before = {s: signal.signal(s, self) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore(self) -> None:
        for signum, handler in self.before.items():
            signal.signal(signum, handler)

    def attach(self, trainer: Trainer) -> None:
        self.trainer = trainer
        if self.asked:
            trainer.request_stop()

    def __call__(self, signum, _frame) -> None:
        if signum == signal.SIGINT and self.asked:
            raise KeyboardInterrupt
        self.asked = True
        if self.trainer is not None:
            self.trainer.request_stop()
        if int(os.environ.get("RANK", "0")) == 0:
            print("stopping at the next batch (Ctrl-C again to interrupt now)", file=sys.stderr,
                  flush=True)


def start_attempt(cfg: TrainConfig) -> None:
    """A failure recorded in the run folder no longer describes it once the run starts again there
    (a folder that holds a run is refused later, and keeps its record)."""
    out = Path(cfg.out)
    if cfg.resume or not ((out / LOG).exists() or (out / LAST).exists()):
        clear_failure(out)


def failed(out: str, error: Exception, record: bool = True) -> int:
    """A run that died: its reason in one line here, the traceback in the run folder."""
    if not record:
        return fail(f"training failed: {one_line(error)}", 1)
    try:
        record_failure(out, error)
    except OSError:
        return fail(f"training failed: {one_line(error)}", 1)
    return fail(f"training failed: {one_line(error)} (traceback in {Path(out) / FAILURE})", 1)
