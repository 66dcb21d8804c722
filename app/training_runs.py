"""Training runs on disk, read for the training monitor. No widgets.

A run folder (runs/NAME/, written by `python -m core train`) holds log.jsonl: a "start" record
(config, data sizes, device), one "epoch" record per epoch (losses, validation figures, time,
samples/s) and an "end" record when the run is over. The log may be growing while we read it:
a half-written last line is skipped, never an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.registry import runs_root
from core.train import BEST, CONFIG, LAST, LOG, read_log
from core.train_checks import FAILURE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STALE_AFTER_S = 30 * 60  # an unfinished log untouched this long, with no live process: stopped
PID_FILE = "train.pid"  # written by the app when it starts a run: the process to follow
OUTPUT_FILE = "train.out"  # that process's terminal output (progress bar, errors)
RUN_MARKERS = (LOG, CONFIG, LAST, PID_FILE, FAILURE)  # a folder holding one of these is a run
HIDDEN_COLUMNS = ("is_best",)  # epoch fields not worth a column


@dataclass(frozen=True)
class RunInfo:
    name: str  # the run folder's name
    path: Path  # the run folder
    updated: float  # mtime of its log (or the folder), seconds since the epoch

    @property
    def log_path(self) -> Path:
        return self.path / LOG


@dataclass(frozen=True)
class RunLog:
    start: dict | None  # the "start" record (config, n_train, n_val, device), when written
    epochs: pd.DataFrame  # one row per epoch, indexed by epoch, numeric fields only
    end: dict | None  # the "end" record (epochs, best epoch, why it stopped), when written

    @property
    def planned_epochs(self) -> int | None:
        return (self.start or {}).get("config", {}).get("epochs")

    @property
    def best_epoch(self) -> int | None:
        if self.end:
            return self.end.get("best_epoch")
        if "best_epoch" in self.epochs and len(self.epochs):
            return int(self.epochs["best_epoch"].iloc[-1])
        return None


def runs_dir() -> Path:
    """Where runs live: $TAGGER_RUNS, else runs/ in the project (core.registry.runs_root)."""
    return runs_root()


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """The run folders under `root`, most recently updated first. A missing root means no runs."""
    root = Path(root) if root else runs_dir()
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if child.is_dir() and not child.name.startswith(".") and _is_run(child):
            log = child / LOG
            runs.append(RunInfo(child.name, child, (log if log.is_file() else child).stat().st_mtime))
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def _is_run(folder: Path) -> bool:
    return any((folder / m).exists() for m in RUN_MARKERS)


def epoch_frame(records: list[dict]) -> pd.DataFrame:
    """Epoch records -> a frame indexed by epoch with their numeric fields (last record per epoch)."""
    rows = [{k: v for k, v in r.items() if _is_number(v) and k not in HIDDEN_COLUMNS}
            for r in records if r.get("event") == "epoch" and "epoch" in r]
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="epoch"))
    frame = pd.DataFrame(rows).drop_duplicates("epoch", keep="last").set_index("epoch")
    return frame.sort_index()


def read_run(run: RunInfo) -> RunLog:
    try:
        records = [r for r in read_log(run.path) if isinstance(r, dict)]
    except (OSError, UnicodeDecodeError):
        records = []  # unreadable (or not text at all): shown as a run without a log
    starts = [r for r in records if r.get("event") == "start"]
    ends = [r for r in records if r.get("event") == "end"]
    # A resumed run logs a new "start" after an old "end": only an end after the last start counts.
    last_start = max((i for i, r in enumerate(records) if r.get("event") == "start"), default=-1)
    end = ends[-1] if ends and records.index(ends[-1]) > last_start else None
    return RunLog(starts[-1] if starts else None, epoch_frame(records), end)


def run_state(run: RunInfo, log: RunLog, alive: bool | None, now: float | None = None,
              failed: bool = False) -> str:
    """"finished", "running", "failed" or "stopped".

    `alive` is whether the run's own training process lives (None: the run was not started from
    the app, so there is no process to ask, and a recently written log counts as running).
    `failed`: the process left a reason for dying (failure.json, an error line, a traceback).
    """
    if log.end:
        return "finished"
    if alive:
        return "running"
    if failed:
        return "failed"
    if alive is not None:
        return "stopped"
    now = time.time() if now is None else now
    return "running" if now - run.updated < STALE_AFTER_S else "stopped"


def loss_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if "loss" in c.lower()]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The validation figures: AUCs and subset accuracy (their values lie in [0, 1])."""
    return [c for c in frame.columns if "auc" in c.lower() or "accuracy" in c.lower()]


def checkpoints(run: RunInfo) -> list[Path]:
    return [run.path / name for name in (BEST, LAST) if (run.path / name).is_file()]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
