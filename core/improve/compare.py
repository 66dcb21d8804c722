"""Old and new model on the same data: the course table and per-tag average precision of each,
and how many of the user's corrections each model now predicts.

A correction is predicted when the model's calibrated score (what the store and the feed show) is
at least 0.5 for a tag a person added or confirmed, and below 0.5 for a tag a person removed.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from core.dataset import GROUP
from core.evaluate import predict_file
from core.metrics import TABLE_KEYS, Scores, score_tags
from core.settings import THRESHOLD as SHOWN_THRESHOLD  # calibrated: each tag's own threshold
from core.store.models import SoundRow


def model_scores(model_dir: str | Path, data: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """(raw sigmoid scores, calibrated scores, labels, vocabulary) of every clip of `data`."""
    loaded, raw, labels = predict_file(model_dir, data, "cpu")
    shown = loaded.thresholds.calibrate(raw) if loaded.thresholds is not None else raw
    return raw, shown, labels, loaded.vocabulary


def table(scores: Scores) -> dict:
    return {k: getattr(scores, k) for k in (*TABLE_KEYS, "n_clips", "n_tags")}


def compare_tables(labels: np.ndarray, old: np.ndarray, new: np.ndarray,
                   vocabulary: tuple[str, ...]) -> dict:
    """Both models' tables and per-tag AP over the tags present in `labels` (same clips, same tags)."""
    a, b = score_tags(labels, old, vocabulary), score_tags(labels, new, vocabulary)
    per_tag = {t: {"old": a.per_tag_ap[t], "new": b.per_tag_ap[t],
                   "positives": a.per_tag_positives[t]} for t in a.per_tag_ap}
    return {"old": table(a), "new": table(b), "per_tag": per_tag}


def store_ids(path: str | Path) -> list[int]:
    with h5py.File(path, "r") as f:
        return [int(i) for i in f[GROUP]["store_id"][:]]


def corrections_predicted(rows: dict[int, SoundRow], ids: list[int], shown: np.ndarray,
                          vocabulary: tuple[str, ...]) -> tuple[int, int]:
    """(corrections the model predicts, corrections) over the reviewed sounds among `ids`."""
    index = {t: i for i, t in enumerate(vocabulary)}
    hit = total = 0
    for k, sound_id in enumerate(ids):
        row = rows.get(sound_id)
        if row is None or not row.reviewed:
            continue
        for tag in (*row.labels.added, *row.labels.confirmed):
            if tag in index:
                total += 1
                hit += int(shown[k, index[tag]] >= SHOWN_THRESHOLD)
        for tag in row.labels.removed:
            if tag in index:
                total += 1
                hit += int(shown[k, index[tag]] < SHOWN_THRESHOLD)
    return hit, total


def compare_on(old_dir: Path, new_dir: Path, data: str | Path,
               rows: dict[int, SoundRow] | None = None) -> dict:
    """The comparison on one file; with the store's `rows`, the corrections each model predicts."""
    old_raw, old_shown, labels, vocabulary = model_scores(old_dir, data)
    new_raw, new_shown, _, _ = model_scores(new_dir, data)
    out = {"data": str(data), **compare_tables(labels, old_raw, new_raw, vocabulary)}
    if rows is not None:
        ids = store_ids(data)
        (old_hit, total), (new_hit, _) = (corrections_predicted(rows, ids, s, vocabulary)
                                          for s in (old_shown, new_shown))
        out["corrections"] = {"total": total, "old": old_hit, "new": new_hit}
    return out


def better_and_worse(per_tag: dict, n: int = 10, min_change: float = 0.01) -> tuple[list, list]:
    """The tags whose AP rose most and fell most: [(tag, old, new)], at most `n` each."""
    changes = sorted(((v["new"] - v["old"], t, v["old"], v["new"]) for t, v in per_tag.items()),
                     reverse=True)
    better = [(t, o, w) for d, t, o, w in changes if d >= min_change][:n]
    worse = [(t, o, w) for d, t, o, w in reversed(changes) if d <= -min_change][:n]
    return better, worse
