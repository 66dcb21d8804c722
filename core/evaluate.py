"""Evaluate a model directory on COALA-layout data and record the figures in its metrics.json."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.device import resolve_device
from core.metrics import TABLE_KEYS, Scores, score_tags, top_k_figures
from core.modeldir import load_model_dir, write_metrics
from core.patches import PatchSource, predict


def evaluate_model(model_dir: str | Path, data: str | Path, device: str = "auto",
                   batch: int = 256) -> Scores:
    """Score every clip of `data` with the model: the course table over its tags (raw scores), and
    the top-5 figures on the scores the tagger reports (calibrated when the model has thresholds)."""
    loaded, scores, labels = predict_file(model_dir, data, device, batch)
    table = score_tags(labels, scores, loaded.vocabulary)
    shown = loaded.thresholds.calibrate(scores) if loaded.thresholds is not None else scores
    table.top5 = top_k_figures(labels, shown, 5)
    return table


def predict_file(model_dir: str | Path, data: str | Path, device: str = "auto", batch: int = 256):
    """(loaded model, raw sigmoid scores (N, n_tags), labels (N, n_tags)) over a COALA-layout file."""
    dev = resolve_device(device)
    loaded = load_model_dir(model_dir, dev)
    scores, labels = predict(loaded.model, PatchSource(str(data)), dev, batch)
    if labels.shape[1] != len(loaded.vocabulary):
        raise ValueError(f"{data} has {labels.shape[1]} label columns, the model "
                         f"{len(loaded.vocabulary)} outputs")
    return loaded, scores, labels



def record_metrics(model_dir: str | Path, data: str | Path, scores: Scores, primary: bool = True,
                   label: str | None = None) -> dict:
    """Write the evaluation into metrics.json: the primary one at the top level (the course table,
    per-tag AP), every one under "evaluations" by its label (default: the data file's name; two
    test files may share a name, as build/corpus/test.h5 and build/recorded/test.h5 do)."""
    loaded_metrics = _read_metrics(model_dir)
    label = label or Path(data).name
    entry = {"label": label, "data": str(data), "n_clips": scores.n_clips, "n_tags": scores.n_tags,
             **{k: getattr(scores, k) for k in TABLE_KEYS}, "top5": scores.top5,
             "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    evaluations = dict(loaded_metrics.get("evaluations", {}))
    evaluations[label] = entry
    if primary or not set(TABLE_KEYS) <= set(loaded_metrics):
        metrics = {**entry, "per_tag_ap": scores.per_tag_ap,
                   "per_tag_positives": scores.per_tag_positives}
    else:
        metrics = dict(loaded_metrics)
    metrics["evaluations"] = evaluations
    write_metrics(model_dir, metrics)
    return metrics


def _read_metrics(model_dir: str | Path) -> dict:
    import json

    path = Path(model_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}
