"""Start `python -m core train` from the app, as a detached process that outlives the browser tab.

The process runs in its own session (start_new_session), writes its terminal output to train.out
in the run folder and its pid to train.pid, so any page load (after a refresh, from another
browser) finds it again and follows it through the run's log.jsonl. No widgets in here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.places import inside
from app.training_runs import OUTPUT_FILE, PID_FILE, PROJECT_ROOT, RUN_MARKERS
from core.dataset import DatasetFormatError, dataset_size
from core.train import TrainConfig
from core.train_checks import Failure, check_training_data, read_failure

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # a plain folder name
DATA_SUFFIXES = (".h5", ".hdf5")
COALA_NAMES = ("spec_tags_top_1000", "spec_tags_top_1000_val")  # the COALA files have no suffix
TQDM_COUNT = re.compile(r"(\d+)/(\d+) \[")  # "120/266 [" in a tqdm progress line


class LaunchError(Exception):
    """A run that cannot be started (bad name, taken folder, unreadable data); the message says why."""


@dataclass(frozen=True)
class LaunchConfig:
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


@dataclass(frozen=True)
class LaunchPlaces:
    """Where a run started from the app may read and write: the project's and the settings'
    folders, never a path typed by a visitor."""
    runs: Path  # run folders are made in here ($TAGGER_RUNS, else runs/)
    data: tuple[Path, ...]  # training and validation files must lie under one of these
    models: Path  # a model to fine-tune must be a directory in here


def train_command(cfg: LaunchConfig, run: Path) -> list[str]:
    cmd = [sys.executable, "-m", "core", "train", "--data", cfg.data, "--out", str(run),
           "--epochs", str(cfg.epochs), "--batch-size", str(cfg.batch_size), "--lr", str(cfg.lr),
           "--seed", str(cfg.seed), "--patience", str(cfg.patience)]
    cmd += ["--init-from", cfg.init_from] if cfg.init_from else ["--preset", cfg.preset]
    return cmd + (["--val", cfg.val] if cfg.val else [])


def resume_command(run: Path, epochs: int | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "core", "train", "--out", str(run), "--resume"]
    return cmd + (["--epochs", str(epochs)] if epochs else [])


def check_launch(cfg: LaunchConfig, places: LaunchPlaces) -> Path:
    """The run folder for `cfg`, after checking what a user can get wrong; raises LaunchError."""
    if not RUN_NAME.match(cfg.name):
        raise LaunchError(f"Run name {cfg.name!r}: use letters, digits, '.', '_' or '-' (at most 64).")
    if not cfg.data:
        raise LaunchError("Choose the training data: a COALA-layout HDF5 file.")
    run = Path(places.runs) / cfg.name
    if any((run / m).exists() for m in RUN_MARKERS):
        raise LaunchError(f"{run} already holds a run: choose another name, or resume that one.")
    check_places(cfg, places)
    check_data(cfg)
    return run


def check_places(cfg: LaunchConfig, places: LaunchPlaces) -> None:
    for label, path in (("training data", cfg.data), ("validation data", cfg.val)):
        if path and not inside(path, places.data):
            raise LaunchError(f"The {label} must be a file the page offers (under "
                              f"{', '.join(map(str, places.data))}); {path} is not.")
    if cfg.init_from and not (inside(cfg.init_from, [places.models]) and Path(cfg.init_from).is_dir()):
        raise LaunchError(f"The model to start from must be a model directory in {places.models}; "
                          f"{cfg.init_from} is not.")


def check_data(cfg: LaunchConfig) -> None:
    """Readable COALA files that can make a run (core/train_checks.py), as the command checks."""
    for label, path in (("training data", cfg.data), ("validation data", cfg.val)):
        if path is None:
            continue
        try:
            dataset_size(path)
        except (OSError, DatasetFormatError, KeyError) as e:
            raise LaunchError(f"The {label} {path} is not a readable COALA HDF5 file: {e}") from e
    check = check_training_data(cfg.data, cfg.val, TrainConfig.val_fraction, cfg.seed)
    if not check.ok:
        raise LaunchError(f"Not started: {Path(cfg.data).name} cannot make a training run: "
                          + "; ".join(check.problems) + ".")


def start_run(cfg: LaunchConfig, places: LaunchPlaces) -> Path:
    """Check, then start the training process detached; returns the run folder."""
    run = check_launch(cfg, places)
    run.mkdir(parents=True, exist_ok=True)
    launch(train_command(cfg, run), run)
    return run


def resume_run(run: Path, epochs: int | None = None) -> None:
    if process_alive(run):
        raise LaunchError(f"{run.name} is still running.")
    launch(resume_command(run, epochs), run)


def launch(cmd: list[str], run: Path) -> int:
    """Start `cmd` in its own session, output appended to train.out; returns its pid."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(run / OUTPUT_FILE, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    (run / PID_FILE).write_text(json.dumps({"pid": proc.pid, "started": time.time(), "argv": cmd}))
    return proc.pid


def read_pid(run: Path) -> int | None:
    try:
        return int(json.loads((run / PID_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_alive(run: Path) -> bool | None:
    """Whether the training process the app started for `run` lives; None when it started none."""
    pid = read_pid(run)
    if pid is None:
        return None
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child, finished: reap it
            return False
    except ChildProcessError:
        pass  # started by another server process (or before a restart): not ours to reap
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _is_training(pid)


def _is_training(pid: int) -> bool:
    """Guard against a reused pid: the process must still be `core train` (or one of the other
    jobs the app starts: improve, retag), where /proc tells."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc").is_dir()
    return b"core" in args and bool({b"train", b"improve", b"retag"} & set(args))


def stop_run(run: Path) -> bool:
    """Interrupt the run's process (as Ctrl-C would): it stops, its last epoch's checkpoint stays."""
    pid = read_pid(run)
    if pid is None or not process_alive(run):
        return False
    try:
        os.killpg(pid, signal.SIGINT)  # its own session: the group id is its pid
    except ProcessLookupError:
        return False
    return True


def output_tail(run: Path, lines: int = 12, max_bytes: int = 64_000) -> str:
    """The last lines of the process output; progress-bar redraws (carriage returns) folded."""
    path = run / OUTPUT_FILE
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - max_bytes))
        text = f.read().decode("utf-8", errors="replace")
    shown = []
    for line in text.replace("\r\n", "\n").split("\n"):
        redraws = [part for part in line.split("\r") if part.strip()]
        if redraws:
            shown.append(redraws[-1].rstrip())
    return "\n".join(shown[-lines:])


def run_failure(run: Path) -> Failure | None:
    """Why the run's process died: its failure.json, else the `error:` line or the traceback in
    what the latest launch (after its `$ ` line) wrote to train.out. None when nothing failed."""
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


def batch_progress(tail: str) -> tuple[int, int] | None:
    """(batches done, batches in the epoch) from the last progress-bar line, if any."""
    for line in reversed(tail.splitlines()):
        match = TQDM_COUNT.search(line)
        if match:
            return int(match.group(1)), int(match.group(2))
        if line.startswith("epoch "):
            return None  # the last epoch summary is newer than any bar
    return None


def data_files(*roots: Path, limit: int = 50) -> list[Path]:
    """COALA HDF5 files in the given folders and their subfolders (newest first), for the picker."""
    found: set[Path] = set()
    for root in map(Path, roots):
        if root.is_dir():
            candidates = [*root.glob("*"), *root.glob("*/*")]  # two levels: cheap on every rerun
            found.update(p for p in candidates if p.is_file() and (
                p.suffix.lower() in DATA_SUFFIXES or p.name in COALA_NAMES))
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
