"""Training runs: start one detached, list them, follow one's log, stop it, resume it; for
`python -m core runs` and the app's training page alike. Light on purpose (no torch).

A run folder (runs/NAME/, written by `python -m core train`):
    config.json   the TrainConfig and model dims
    log.jsonl     one JSON object per line, appended live: "start", throttled "batch" records
                  (epoch, step, n_steps, loss), one "epoch" record per epoch, "end" (why it stopped)
    last.pt       model, optimizer and loop state after the latest whole epoch (for resuming)
    best.pt       model state of the best epoch and its validation figures
    train.pid     the training process (core/detached.py); train.out its terminal output
    failure.json  why the process died, when it did (core/train_checks.py)

Stop sends the process SIGTERM; the trainer stops at the next batch boundary, leaves last.pt as
the last whole epoch wrote it and logs {"event": "end", "stopped": "requested"}.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.detached import PID_FILE, ask_to_stop, core_command, launch, output_tail, process_alive
from core.settings import settings

LOG, CONFIG, LAST, BEST = "log.jsonl", "config.json", "last.pt", "best.pt"
FAILURE = "failure.json"  # core.train_checks writes it
RUN_MARKERS = (LOG, CONFIG, LAST, PID_FILE, FAILURE)  # a folder holding one of these is a run
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # a plain folder name
STALE_AFTER_S = 30 * 60  # an unfinished log untouched this long, with no known process: stopped


class RunError(Exception):
    """A run that cannot be started, found, stopped or resumed; the message says why."""


# What a run trains: every layer, or only the head (the hidden and output layers) while the conv
# blocks keep their starting weights and statistics: a fine-tune of an ensemble then costs about
# what one network's full fine-tune does (the blocks' backward pass is most of a step).
TRAIN_LAYERS = ("all", "head")


@dataclass(frozen=True)
class RunSpec:
    """What a new run trains: the options of `python -m core train` that the app also offers."""

    name: str  # run folder name under the runs folder
    data: str  # training HDF5 file in the COALA layout
    val: str | None = None  # validation HDF5; None: a seeded split of `data`
    preset: str = "compact"  # model preset (core.model)
    epochs: int = 20  # most epochs
    batch_size: int = 64  # batch size
    lr: float = 1e-3  # Adam learning rate
    seed: int = 0  # weights, shuffling and the validation split
    init_from: str | None = None  # fine-tune this model directory (its preset wins); None: scratch
    patience: int = 6  # stop after this many epochs without a better validation PR-AUC macro
    teachers: tuple[str, ...] = ()  # model directories to distill (core.distill); (): none
    distill: float = 0.5  # with teachers: their mean score's share of each training target
    train_layers: str = "all"  # "all", or "head": the conv blocks stay as they start (a fine-tune)


@dataclass(frozen=True)
class Run:
    name: str  # the run folder's name
    path: Path  # the run folder
    updated: float  # mtime of its log (or the folder), seconds since the epoch

    @property
    def log_path(self) -> Path:
        return self.path / LOG


@dataclass(frozen=True)
class RunRecords:
    """A run's log, split by event."""

    start: dict | None  # the last "start" record (config, data sizes, device)
    epochs: list[dict]  # every "epoch" record, in order
    end: dict | None  # the "end" record after the last start, when the run is over
    batch: dict | None  # the latest "batch" record of the epoch under way, if any


# --- commands ----------------------------------------------------------------------------------------
def train_command(spec: RunSpec, run: Path) -> list[str]:
    cmd = core_command("train", "--data", spec.data, "--out", str(run), "--epochs", str(spec.epochs),
                       "--batch-size", str(spec.batch_size), "--lr", str(spec.lr),
                       "--seed", str(spec.seed), "--patience", str(spec.patience))
    cmd += ["--init-from", spec.init_from] if spec.init_from else ["--preset", spec.preset]
    for teacher in spec.teachers:
        cmd += ["--teacher", teacher]
    cmd += ["--distill", str(spec.distill)] if spec.teachers else []
    cmd += ["--train-layers", spec.train_layers] if spec.train_layers != "all" else []
    return cmd + (["--val", spec.val] if spec.val else [])


def resume_command(run: Path, epochs: int | None = None) -> list[str]:
    return core_command("train", "--out", str(run), "--resume",
                        *(["--epochs", str(epochs)] if epochs else []))


# --- start, stop, resume -----------------------------------------------------------------------------
def check_new_run(spec: RunSpec, root: Path | None = None) -> Path:
    """The run folder for `spec`, after checking what a user can get wrong; raises RunError."""
    if not RUN_NAME.match(spec.name):
        raise RunError(f"Run name {spec.name!r}: use letters, digits, '.', '_' or '-' (at most 64).")
    if not spec.data:
        raise RunError("Choose the training data: a COALA-layout HDF5 file.")
    run = Path(root or settings().runs_dir) / spec.name
    if is_run(run):
        raise RunError(f"{run} already holds a run: choose another name, or resume that one.")
    check_data(spec)
    return run


def check_data(spec: RunSpec) -> None:
    """Readable COALA files that can make a run (core/train_checks.py), as `train` checks."""
    from core.dataset import DatasetFormatError, dataset_size
    from core.distill import check_teachers
    from core.train_checks import check_training_data

    for label, path in (("training data", spec.data), ("validation data", spec.val)):
        if path is None:
            continue
        try:
            dataset_size(path)
        except (OSError, DatasetFormatError, KeyError) as e:
            raise RunError(f"The {label} {path} is not a readable COALA HDF5 file: {e}") from e
    check = check_training_data(spec.data, spec.val, seed=spec.seed)  # train's default split
    if not check.ok:
        raise RunError(f"Not started: {Path(spec.data).name} cannot make a training run: "
                       + "; ".join(check.problems) + ".")
    try:
        check_teachers(spec.teachers)
    except ValueError as e:
        raise RunError(f"Not started: {e}") from e


def start_run(spec: RunSpec, root: Path | None = None) -> Path:
    """Check, then start `python -m core train` detached; returns the run folder."""
    run = check_new_run(spec, root).absolute()  # the process starts in the project folder
    launch(train_command(spec, run), run)
    return run


def resume_run(run: Path, epochs: int | None = None) -> None:
    """Continue a stopped run from its last whole epoch, detached."""
    if process_alive(run):
        raise RunError(f"{run.name} is still running.")
    if not (run / LAST).is_file():
        raise RunError(f"{run} has no {LAST}: no epoch finished, so there is nothing to resume.")
    launch(resume_command(run.absolute(), epochs), run)


def stop_run(run: Path) -> bool:
    """Ask the run's process to stop at its next batch boundary; False when none is running."""
    return ask_to_stop(run)


def find_run(name: str, root: Path | None = None) -> Path:
    """A run by its name in the runs folder, or by the path of its folder; raises RunError."""
    root = Path(root or settings().runs_dir)
    for path in (root / name, Path(name)):
        if RUN_NAME.match(path.name) and is_run(path):
            return path
    raise RunError(f"no run {name!r} in {root} (`python -m core runs list` lists them)")


# --- reading ----------------------------------------------------------------------------------------
def is_run(folder: Path) -> bool:
    return folder.is_dir() and any((folder / m).exists() for m in RUN_MARKERS)


def list_runs(root: Path | None = None) -> list[Run]:
    """The run folders under `root`, most recently updated first. A missing root means no runs."""
    root = Path(root or settings().runs_dir)
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if not child.name.startswith(".") and is_run(child):
            log = child / LOG
            runs.append(Run(child.name, child, (log if log.is_file() else child).stat().st_mtime))
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def read_log(run_dir: str | Path) -> list[dict]:
    """The run's JSON-lines records so far (a line being written is skipped)."""
    path = Path(run_dir) / LOG
    records = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def read_records(run_dir: str | Path) -> RunRecords:
    """The log split by event; an unreadable log is a run without records, never an error."""
    try:
        records = [r for r in read_log(run_dir) if isinstance(r, dict)]
    except (OSError, UnicodeDecodeError):
        records = []
    # A resumed run logs a new "start" after an old "end": only an end after the last start counts.
    last_start = max((i for i, r in enumerate(records) if r.get("event") == "start"), default=-1)
    last_epoch = max((i for i, r in enumerate(records) if r.get("event") == "epoch"), default=-1)
    end = next((r for r in reversed(records[last_start + 1:]) if r.get("event") == "end"), None)
    batch = next((r for r in reversed(records[max(last_start, last_epoch) + 1:])
                  if r.get("event") == "batch"), None)
    return RunRecords(records[last_start] if last_start >= 0 else None,
                      [r for r in records if r.get("event") == "epoch"], end,
                      None if end else batch)


def run_state(run: Run, end: dict | None, alive: bool | None, now: float | None = None,
              failed: bool = False) -> str:
    """"finished", "running", "failed" or "stopped".

    `alive` is whether the run's own training process lives (None: no process was recorded, so a
    recently written log counts as running). `failed`: the process left a reason for dying.
    A run stopped on request has an end record ("requested") and is "stopped": it can be resumed.
    """
    if end:
        return "stopped" if end.get("stopped") == "requested" else "finished"
    if alive:
        return "running"
    if failed:
        return "failed"
    if alive is not None:
        return "stopped"
    now = time.time() if now is None else now
    return "running" if now - run.updated < STALE_AFTER_S else "stopped"


def state_of(run: Run) -> str:
    return run_state(run, read_records(run.path).end, process_alive(run.path),
                     failed=run_failure(run.path) is not None)


def run_failure(run: Path):
    """Why the run's process died (core.train_checks.Failure): its failure.json, else the
    `error:` line or the traceback in what the latest launch (after its `$ ` line) wrote to
    train.out. None when nothing failed."""
    from core.train_checks import Failure, read_failure

    recorded = read_failure(run)
    if recorded:
        return recorded
    lines = output_tail(run, lines=400).splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    lines = lines[starts[-1] + 1:] if starts else lines
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        return Failure(errors[-1].removeprefix("error: "), "")
    tb = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if tb:
        block = lines[tb[-1]:]
        reason = next((line for line in reversed(block) if line.strip()), "")
        return Failure(reason.strip(), "\n".join(block))
    return None


def follow(run: Path, poll_s: float = 1.0, start_at: int = 0) -> Iterator[dict]:
    """The run's log records as they are written, from record `start_at`, until its end record
    after the last start, or until its process is gone (or none was recorded)."""
    seen = start_at
    while True:
        alive = process_alive(run)  # asked before reading, so no record written before death is lost
        records = read_log(run)
        yield from records[seen:]
        seen = max(seen, len(records))
        if read_records(run).end or not alive:
            return
        time.sleep(poll_s)

