"""Per-tag decision thresholds, calibrated on validation data and kept in the model directory.

Each tag's threshold is the one that maximises its F1 on validation, when the tag has at least
MIN_POSITIVES positive clips there; other tags keep DEFAULT_THRESHOLD. The tagger then reports
calibrated scores, sigmoid(logit(p) - logit(t_tag)): a tag scores 0.5 exactly at its own threshold,
and ranks stay the same within a tag. So everything that compares scores with one threshold (the
CLI, the store's final labels, the feed, the upload page, the export) uses the per-tag thresholds
at 0.5, and a slider that moves the one threshold moves every tag together, in logit space.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.files import write_json

THRESHOLDS = "thresholds.json"  # in a model directory
DEFAULT_THRESHOLD = 0.5  # for tags without enough validation positives
# A tag needs this many positive validation clips for its own threshold, and thresholds stay inside
# BOUNDS: an F1-best cut over fewer clips is noise. Measured on the bundled model's run: with 10
# positives and bounds 0.02-0.98, 120 tags got thresholds that lifted the top-5 hit rate on the
# validation data they were fitted on (0.41 -> 0.46) and lowered it on the recorded test packages.
MIN_POSITIVES = 30
BOUNDS = (0.1, 0.9)
EPS = 1e-6


@dataclass(frozen=True)
class Thresholds:
    values: np.ndarray  # (n_tags,) float32, one threshold per output
    calibrated: tuple[str, ...]  # the tags that got their own threshold
    source: str  # what they were calibrated on

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """(..., n_tags) sigmoid scores -> calibrated scores: 0.5 at each tag's threshold."""
        p = np.clip(scores, EPS, 1 - EPS)
        t = np.clip(self.values, EPS, 1 - EPS)
        logits = np.log(p / (1 - p)) - np.log(t / (1 - t))
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def fit_thresholds(scores: np.ndarray, labels: np.ndarray, vocabulary: tuple[str, ...],
                   source: str = "") -> Thresholds:
    """The F1-maximising threshold of each tag with enough positives; DEFAULT_THRESHOLD elsewhere."""
    values = np.full(scores.shape[1], DEFAULT_THRESHOLD, np.float32)
    calibrated = []
    for i in np.flatnonzero(labels.sum(axis=0) >= MIN_POSITIVES):
        values[i] = best_f1_threshold(scores[:, i], labels[:, i] > 0)
        calibrated.append(vocabulary[i])
    return Thresholds(values, tuple(calibrated), source)


def best_f1_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    """The score cut (midway between neighbouring scores) with the highest F1, inside BOUNDS."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], positive[order].astype(np.int64)
    tp = np.cumsum(y)
    predicted = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (predicted + y.sum())
    last_of_run = np.r_[s[1:] != s[:-1], True]  # a cut can only fall between distinct scores
    f1 = np.where(last_of_run, f1, -1.0)
    k = int(np.argmax(f1))
    cut = (s[k] + s[k + 1]) / 2 if k + 1 < len(s) else s[k] / 2
    return float(np.clip(cut, *BOUNDS))


def save_thresholds(model_dir: str | Path, th: Thresholds, vocabulary: tuple[str, ...]) -> None:
    data = {"default": DEFAULT_THRESHOLD, "min_positives": MIN_POSITIVES, "source": th.source,
            "method": "max F1 per tag on validation",
            "tags": {vocabulary[i]: round(float(th.values[i]), 4) for i in range(len(vocabulary))
                     if vocabulary[i] in set(th.calibrated)}}
    write_json(Path(model_dir) / THRESHOLDS, data)


def load_thresholds(model_dir: str | Path, vocabulary: tuple[str, ...]) -> Thresholds | None:
    """The model directory's thresholds, or None when it has none (scores stay raw)."""
    path = Path(model_dir) / THRESHOLDS
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    values = np.full(len(vocabulary), float(data.get("default", DEFAULT_THRESHOLD)), np.float32)
    index = {t: i for i, t in enumerate(vocabulary)}
    unknown = sorted(set(data["tags"]) - set(index))
    if unknown:
        raise ValueError(f"{path} names tags the model does not have: {', '.join(unknown[:5])}")
    for tag, value in data["tags"].items():
        values[index[tag]] = float(value)
    return Thresholds(values, tuple(data["tags"]), data.get("source", ""))
