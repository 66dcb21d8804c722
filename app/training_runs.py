"""Training runs on disk, read for the training monitor: run folders, their JSON-lines logs. No widgets.

A run folder (runs/NAME/) holds a JSON-lines log with one record per line; epoch records carry an
"epoch" number and the figures of that epoch, and a final record marks the run as finished. The
log may be growing while we read it: a half-written last line is skipped, never an error.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = PROJECT_ROOT / "runs"
LOG_NAMES = ("log.jsonl", "metrics.jsonl", "history.jsonl")  # tried first, then any *.jsonl
STALE_AFTER_S = 30 * 60  # an unfinished log untouched this long is shown as stopped, not live
DONE_EVENTS = frozenset({"done", "finished", "end", "stopped", "early_stop"})


@dataclass(frozen=True)
class RunInfo:
    name: str  # the run folder's name
    path: Path  # the run folder
    log_path: Path | None  # its JSON-lines log, or None when it has none (yet)
    updated: float  # mtime of the log (or the folder), seconds since the epoch


@dataclass(frozen=True)
class RunLog:
    records: tuple[dict, ...]  # every complete JSON object in the log, in order
    epochs: pd.DataFrame  # one row per epoch record, indexed by epoch, numeric columns only
    done: bool  # a record marked the end of the run
    final: dict | None  # that last record, when there is one


def runs_dir() -> Path:
    """Where runs live: $TAGGER_RUNS, else runs/ in the project."""
    return Path(os.environ.get("TAGGER_RUNS") or DEFAULT_RUNS)


def find_log(run: Path) -> Path | None:
    for name in LOG_NAMES:
        if (run / name).is_file():
            return run / name
    logs = sorted(run.glob("*.jsonl"))
    return logs[0] if logs else None


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """The run folders under `root`, most recently updated first. A missing root means no runs."""
    root = Path(root) if root else runs_dir()
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if not child.is_dir() or child.name.startswith("."):
            continue
        log = find_log(child)
        stamp = (log or child).stat().st_mtime
        runs.append(RunInfo(child.name, child, log, stamp))
    return sorted(runs, key=lambda r: r.updated, reverse=True)


def read_records(path: Path) -> list[dict]:
    """Every complete JSON object in a JSON-lines file; partial or broken lines are skipped."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # the trainer is still writing this line
            if isinstance(obj, dict):
                records.append(obj)
    return records


def is_done_record(rec: dict) -> bool:
    kind = str(rec.get("event") or rec.get("type") or rec.get("status") or "").lower()
    return kind in DONE_EVENTS or rec.get("done") is True


def is_epoch_record(rec: dict) -> bool:
    kind = str(rec.get("event") or rec.get("type") or "epoch").lower()
    return "epoch" in rec and kind == "epoch" and not is_done_record(rec)


def epoch_frame(records: list[dict]) -> pd.DataFrame:
    """Epoch records -> a frame indexed by epoch with their numeric fields (last record per epoch)."""
    rows = [{k: v for k, v in r.items() if _is_number(v)} for r in records if is_epoch_record(r)]
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="epoch"))
    frame = pd.DataFrame(rows).drop_duplicates("epoch", keep="last").set_index("epoch")
    return frame.sort_index()


def read_run(run: RunInfo) -> RunLog:
    if run.log_path is None or not run.log_path.is_file():
        return RunLog((), epoch_frame([]), False, None)
    records = read_records(run.log_path)
    finals = [r for r in records if is_done_record(r)]
    return RunLog(tuple(records), epoch_frame(records), bool(finals), finals[-1] if finals else None)


def run_state(run: RunInfo, log: RunLog, now: float | None = None) -> str:
    """"finished", "running" (unfinished and recently written) or "stopped" (unfinished, stale)."""
    if log.done:
        return "finished"
    now = time.time() if now is None else now
    return "running" if now - run.updated < STALE_AFTER_S else "stopped"


def loss_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if "loss" in c.lower()]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The quality figures: AUCs and accuracies (their values lie in [0, 1])."""
    return [c for c in frame.columns if any(k in c.lower() for k in ("auc", "accuracy", "_ap"))]


def checkpoints(run: RunInfo) -> list[Path]:
    return sorted(p for p in run.path.iterdir() if p.suffix in (".pt", ".pth", ".ckpt", ".safetensors"))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
