"""Training runs on disk, read for the training monitor: core/runs.py lists them and splits their
logs; this adds the epochs as a pandas frame for the charts. No widgets.

A run folder (runs/NAME/, written by `python -m core train`) holds log.jsonl: a "start" record
(config, data sizes, device), throttled "batch" records, one "epoch" record per epoch (losses,
validation figures, time, samples/s) and an "end" record when the run is over. The log may be
growing while we read it: a half-written last line is skipped, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.runs import BEST, LAST, Run, read_records
from core.settings import settings

HIDDEN_COLUMNS = ("is_best",)  # epoch fields not worth a column


@dataclass(frozen=True)
class RunLog:
    start: dict | None  # the "start" record (config, n_train, n_val, device), when written
    epochs: pd.DataFrame  # one row per epoch, indexed by epoch, numeric fields only
    end: dict | None  # the "end" record (epochs, best epoch, why it stopped), when written
    batch: dict | None = None  # the latest "batch" record of the epoch under way

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
    """Where runs live: $TAGGER_RUNS, else runs/ in the project (core.settings)."""
    return settings().runs_dir


def epoch_frame(records: list[dict]) -> pd.DataFrame:
    """Epoch records -> a frame indexed by epoch with their numeric fields (last record per epoch)."""
    rows = [{k: v for k, v in r.items() if _is_number(v) and k not in HIDDEN_COLUMNS}
            for r in records if r.get("event") == "epoch" and "epoch" in r]
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="epoch"))
    frame = pd.DataFrame(rows).drop_duplicates("epoch", keep="last").set_index("epoch")
    return frame.sort_index()


def read_run(run: Run) -> RunLog:
    records = read_records(run.path)
    return RunLog(records.start, epoch_frame(records.epochs), records.end, records.batch)


def loss_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if "loss" in c.lower()]


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The validation figures: AUCs and subset accuracy (their values lie in [0, 1])."""
    return [c for c in frame.columns if "auc" in c.lower() or "accuracy" in c.lower()]


def checkpoints(run: Run) -> list[Path]:
    return [run.path / name for name in (BEST, LAST) if (run.path / name).is_file()]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
