"""`python -m core runs list|start|follow|stop|resume`: training runs in the runs folder
($TAGGER_RUNS, else runs/), the same the app's training page shows.

    runs list [--json]                       every run, newest first, with its state
    runs start NAME --data FILE [...]        `python -m core train` detached: it outlives the terminal
    runs follow NAME                         print its log records until it ends
    runs stop NAME [--wait]                  stop at the next batch: whole checkpoint, end record
    runs resume NAME [--epochs N]            continue a stopped run from its last whole epoch
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import fields

from core.commands.common import fail
from core.detached import process_alive
from core.model import PRESETS
from core.runs import (
    RunError,
    RunSpec,
    find_run,
    follow,
    list_runs,
    read_records,
    resume_run,
    start_run,
    state_of,
    stop_run,
)
from core.settings import settings

STOP_WAIT_S = 600  # `stop --wait` gives up after this long


def register(sub) -> None:
    p = sub.add_parser("runs", help="list, start, follow, stop or resume training runs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every run with its state, newest first")
    listing.add_argument("--json", action="store_true", help="one JSON object per run")
    start = actions.add_parser("start", help="start a training run detached")
    start.add_argument("name", metavar="NAME", help="run folder name in the runs folder")
    defaults = {f.name: f.default for f in fields(RunSpec)}
    start.add_argument("--data", required=True, metavar="FILE", help="training HDF5 (COALA layout)")
    start.add_argument("--val", default=None, metavar="FILE",
                       help="validation HDF5 (default: a seeded 10%% split of --data)")
    start.add_argument("--init-from", default=None, metavar="MODEL_DIR", help="fine-tune this model")
    start.add_argument("--preset", default=defaults["preset"], choices=list(PRESETS))
    for name in ("epochs", "batch_size", "lr", "seed", "patience"):
        start.add_argument("--" + name.replace("_", "-"), type=type(defaults[name]),
                           default=defaults[name], help=f"default {defaults[name]}")
    for action, text in (("follow", "print the run's log records until it ends"),
                         ("stop", "stop at the next batch boundary (end record, whole checkpoint)"),
                         ("resume", "continue a stopped run from its last whole epoch")):
        one = actions.add_parser(action, help=text)
        one.add_argument("name", metavar="NAME", help="run name (or the path of its folder)")
    actions.choices["stop"].add_argument("--wait", action="store_true",
                                         help="return when the run has ended")
    actions.choices["resume"].add_argument("--epochs", type=int, default=None,
                                           help="most epochs in all (default: the run's own)")
    p.set_defaults(run=run)


def run(args) -> int:
    handler = {"list": _list, "start": _start, "follow": _follow, "stop": _stop,
               "resume": _resume}[args.action]
    try:
        return handler(args)
    except RunError as e:
        return fail(str(e))


def _list(args) -> int:
    runs = list_runs()
    if not runs and not args.json:
        print(f"no training runs in {settings().runs_dir}")
    for r in runs:
        records = read_records(r.path)
        best = (records.end or (records.epochs[-1] if records.epochs else {})).get("best_epoch")
        row = {"name": r.name, "state": state_of(r), "epochs": len(records.epochs),
               "best_epoch": best, "stopped": (records.end or {}).get("stopped"),
               "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated)),
               "path": str(r.path)}
        if args.json:
            print(json.dumps(row))
        else:
            ended = f" ({row['stopped']})" if row["stopped"] else ""
            print(f"{r.name:24s} {row['state'] + ended:24s} {row['epochs']:3d} epochs  "
                  f"best {best or '-'}  {row['updated']}")
    return 0


def _start(args) -> int:
    # The process starts in the project folder: paths relative to here are made absolute.
    spec = RunSpec(args.name, _absolute(args.data), _absolute(args.val), args.preset, args.epochs,
                   args.batch_size, args.lr, args.seed, _absolute(args.init_from), args.patience)
    path = start_run(spec)
    print(f"started {spec.name} in {path}; follow it with `python -m core runs follow {spec.name}`, "
          f"stop it with `python -m core runs stop {spec.name}`")
    return 0


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _follow(args) -> int:
    for record in follow(find_run(args.name)):
        print(describe(record), flush=True)
    return 0


def _stop(args) -> int:
    path = find_run(args.name)
    if not stop_run(path):
        return fail(f"{path.name} has no running training process", 1)
    print(f"asked {path.name} to stop at its next batch")
    if args.wait:
        deadline = time.monotonic() + STOP_WAIT_S
        while process_alive(path):  # the end record comes first, then the process exits
            if time.monotonic() > deadline:
                return fail(f"{path.name} did not stop within {STOP_WAIT_S} s", 1)
            time.sleep(0.2)
        end = read_records(path).end
        print(describe(end) if end else f"{path.name} ended without an end record")
    return 0


def _resume(args) -> int:
    path = find_run(args.name)
    resume_run(path, args.epochs)
    print(f"resumed {path.name}; follow it with `python -m core runs follow {path.name}`")
    return 0


def describe(record: dict) -> str:
    """One line per log record, as a person reads it."""
    event = record.get("event")
    if event == "batch":
        return (f"epoch {record.get('epoch')}: batch {record.get('step')} of "
                f"{record.get('n_steps')}, loss {record.get('loss', float('nan')):.4f}")
    if event == "epoch":
        return (f"epoch {record.get('epoch')}: loss {record.get('train_loss', float('nan')):.4f}, "
                f"validation PR-AUC macro {record.get('pr_auc_macro', float('nan')):.3f}"
                + (" (best)" if record.get("is_best") else ""))
    if event == "end":
        return (f"end: {record.get('epochs')} epochs ({record.get('stopped')}), best epoch "
                f"{record.get('best_epoch')}")
    if event == "start":
        return (f"start: {record.get('n_train')} training / {record.get('n_val')} validation clips "
                f"on {record.get('device')}, from epoch {record.get('resumed_at_epoch', 0)}")
    return json.dumps(record)
