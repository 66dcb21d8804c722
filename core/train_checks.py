"""Before a training run: can this data make one? After a run that died: why, in one line.

A file of a few reviewed corrections can hold too few clips or tags to train on. Validation scores
only the tags that some validation clips have and others lack (core.metrics.score_tags), so a
validation split of one clip, or of clips that all carry the same tags, cannot score anything and
the run would die after its first epoch. `check_training_data` reads only the label columns (in
chunks, so the real COALA files are fine too) and says what is missing and what would be enough;
`python -m core train` and the app's start form both ask it before they start a run.

A run that fails anyway leaves `failure.json` in its run folder: the reason in one line, for the
command line and the training monitor, and the traceback, for whoever wants to dig.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from core.dataset import GROUP, dataset_size, parse_data_spec, split_indices
from core.files import write_json
from core.runs import FAILURE
from core.vocabulary import load_vocabulary

MIN_TRAIN_CLIPS = 2  # the smallest batch core.train makes
MIN_VAL_CLIPS = 2  # a tag can be present in some clips and absent in others only from two on
CHUNK_ROWS = 4096  # label rows read at a time
# FAILURE, in the run folder (core/runs.py): {"reason", "error", "traceback", "time"}
MAX_REASON = 300  # characters of the one-line reason


class TrainingDataError(ValueError):
    """The data cannot make a training run; the message says what is missing and what is enough."""


@dataclass(frozen=True)
class DataCheck:
    n_train: int  # training clips (the file, or its part outside the validation split)
    n_val: int  # validation clips
    train_tags: int  # tags present in at least one training clip
    val_tags: int  # tags present in some validation clips and absent from others: those scored
    problems: tuple[str, ...]  # why no run can be made of this data; empty when one can

    @property
    def ok(self) -> bool:
        return not self.problems


def tag_positives(path: str | Path, rows: np.ndarray | None = None) -> np.ndarray:
    """Clips carrying each tag, over `rows` of the file (all when None); only labels are read."""
    n = dataset_size(path)  # also checks the COALA layout
    keep = None
    if rows is not None:
        keep = np.zeros(n, bool)
        keep[rows] = True
    with h5py.File(path, "r") as f:
        label = f[GROUP]["label"]
        counts = np.zeros(label.shape[1], np.int64)
        for start in range(0, n, CHUNK_ROWS):
            block = np.asarray(label[start:start + CHUNK_ROWS]) > 0  # (rows, n_tags)
            if keep is not None:
                block = block[keep[start:start + CHUNK_ROWS]]
            counts += block.sum(axis=0)
    return counts


def check_training_data(data, val=None, val_fraction: float = 0.1, seed: int = 0) -> DataCheck:
    """What a run on `data` (one file or several, "PATH[:WEIGHT]"), validated on `val` (files) or
    else on core.train's seeded split of each file, would have."""
    datas = [parse_data_spec(d)[0] for d in _as_list(data)]
    vals = _as_list(val)
    if vals:
        n_train, train_pos = _sum_positives([(d, None) for d in datas])
        n_val, val_pos = _sum_positives([(v, None) for v in vals])
    else:
        splits = [(d, split_indices(dataset_size(d), val_fraction, seed)) for d in datas]
        n_train, train_pos = _sum_positives([(d, t) for d, (t, _) in splits])
        n_val, val_pos = _sum_positives([(d, v) for d, (_, v) in splits])
    data, val = ", ".join(datas), ", ".join(vals) or None
    train_tags = int((train_pos > 0).sum())
    val_tags = int(((val_pos > 0) & (val_pos < n_val)).sum())
    n_tags = len(load_vocabulary())
    problems = [f"{path} has {pos.size} label columns, not one per tag of the {n_tags}-tag "
                "vocabulary" for path, pos in ((data, train_pos), (val or "", val_pos))
                if path and pos.size != n_tags]
    if n_train < MIN_TRAIN_CLIPS:
        problems.append(f"{n_train} training clips: a run needs at least {MIN_TRAIN_CLIPS}")
    if train_tags == 0 and n_train:
        problems.append("no training clip carries a tag: there is nothing to learn")
    if val_tags == 0:
        problems.append(_validation_problem(val, n_train + (0 if val else n_val), n_val,
                                            val_fraction, seed))
    return DataCheck(n_train, n_val, train_tags, val_tags, tuple(problems))


def _as_list(value) -> list[str]:
    if not value:
        return []
    return [str(value)] if isinstance(value, str | Path) else [str(v) for v in value]


def _sum_positives(parts: list[tuple[str, np.ndarray | None]]) -> tuple[int, np.ndarray]:
    """(clips, positives per tag) over the given rows of several files."""
    n, positives = 0, None
    for path, rows in parts:
        pos = tag_positives(path, rows)
        n += dataset_size(path) if rows is None else len(rows)
        positives = pos if positives is None or positives.shape != pos.shape else positives + pos
    return n, positives


def _validation_problem(val, n_data: int, n_val: int, val_fraction: float, seed: int) -> str:
    if val:
        return (f"in the validation file {val} ({n_val} clips) no tag is present in some clips and "
                "absent from others, so no validation figure could be computed; enough would be "
                f"{MIN_VAL_CLIPS} or more clips where a tag is present in some and absent from others")
    need = clips_for_validation(val_fraction, seed)
    return (f"it holds {n_data} clip{'s' if n_data != 1 else ''}, so the validation split "
            f"(--val-fraction {val_fraction:g}) is {n_val} clip{'s' if n_val != 1 else ''}, and "
            "no tag is present in some of those and absent from others: no validation figure could "
            f"be computed; enough would be {need} or more clips whose tags differ from clip to clip "
            f"(a validation split of {MIN_VAL_CLIPS} or more), or a validation file (--val) of such "
            "clips")


def clips_for_validation(val_fraction: float, seed: int = 0) -> int:
    """The fewest clips whose seeded split (core.dataset.split_indices) leaves MIN_VAL_CLIPS for
    validation and MIN_TRAIN_CLIPS for training."""
    n = MIN_TRAIN_CLIPS + MIN_VAL_CLIPS
    while True:
        train_idx, val_idx = split_indices(n, val_fraction, seed)
        if len(val_idx) >= MIN_VAL_CLIPS and len(train_idx) >= MIN_TRAIN_CLIPS:
            return n
        n += 1


def require_trainable(data: str | Path, val: str | Path | None = None, val_fraction: float = 0.1,
                      seed: int = 0) -> DataCheck:
    """check_training_data, raising TrainingDataError with every problem when no run can be made."""
    check = check_training_data(data, val, val_fraction, seed)
    if not check.ok:
        raise TrainingDataError(f"{data} cannot make a training run: " + "; ".join(check.problems))
    return check


# --- a run that died ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    reason: str  # one line: "ValueError: no tag has both positive and negative clips: ..."
    traceback: str  # the full traceback ("" when none was recorded)


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    line = f"{type(error).__name__}: {text}"
    return line if len(line) <= MAX_REASON else line[:MAX_REASON - 1] + "…"


def record_failure(run_dir: str | Path, error: BaseException) -> Failure:
    """Write failure.json into the run folder (made if missing); returns what was written."""
    failure = Failure(one_line(error), "".join(traceback.format_exception(error)))
    write_json(Path(run_dir) / FAILURE, {"reason": failure.reason, "error": type(error).__name__,
                                         "traceback": failure.traceback, "time": time.time()},
               indent=None)
    return failure


def clear_failure(run_dir: str | Path) -> None:
    """A new attempt in the folder: an earlier failure no longer describes it."""
    (Path(run_dir) / FAILURE).unlink(missing_ok=True)


def read_failure(run_dir: str | Path) -> Failure | None:
    try:
        record = json.loads((Path(run_dir) / FAILURE).read_text())
        return Failure(str(record["reason"]), str(record.get("traceback", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
