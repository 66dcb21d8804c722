"""Model directories and their test figures, for the training monitor. No widgets.

A model directory's metrics.json (written by `python -m core evaluate` / `export-model`) holds the
primary test table at the top level (the course's five figures, `data`, `n_clips`, `n_tags`),
`per_tag_ap` and `per_tag_positives`, and every evaluation by data file under `evaluations`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.metrics import TABLE_HEADERS, TABLE_KEYS
from core.modeldir import CARD, CONFIG, METRICS
from core.registry import active_model
from core.registry import models_root as models_root  # the pages ask it here

COURSE_COLUMN = "course CNN (COALA test)"
# The course project's CNN on the COALA `_val` file (shared/coala/README.md), in TABLE_KEYS order.
COURSE_REFERENCE = dict(zip(TABLE_KEYS, (0.938, 0.966, 0.415, 0.543, 0.249), strict=True))


@dataclass(frozen=True)
class ModelEntry:
    name: str  # folder name, e.g. "default"
    path: Path  # the model directory
    metrics: dict  # its metrics.json ({} when absent or unreadable)
    card: str  # its MODEL_CARD.md ("" when absent)


def list_models(root: Path | None = None) -> list[ModelEntry]:
    """Model directories (a config.json inside) under `root`, the model in use first."""
    root = Path(root) if root else models_root()
    if not root.is_dir():
        return []
    in_use = active_model().path.name
    found = [read_model(p) for p in sorted(root.iterdir()) if (p / CONFIG).is_file()]
    return sorted(found, key=lambda m: (m.name != in_use, m.name))


def read_model(path: Path) -> ModelEntry:
    metrics: object = {}
    if (path / METRICS).is_file():
        try:
            metrics = json.loads((path / METRICS).read_text())
        except (json.JSONDecodeError, OSError, UnicodeDecodeError):
            metrics = {}
    card = (path / CARD).read_text(errors="replace") if (path / CARD).is_file() else ""
    return ModelEntry(path.name, path, metrics if isinstance(metrics, dict) else {}, card)


def evaluations(metrics: dict) -> dict[str, dict]:
    """Column label -> evaluation entry; the primary one (top level) first."""
    if not all(k in metrics for k in TABLE_KEYS):
        return {}
    primary = str(metrics.get("label") or Path(str(metrics.get("data") or "test")).name)
    out = {primary: metrics}
    for name, entry in (metrics.get("evaluations") or {}).items():
        if isinstance(entry, dict) and name not in out and all(k in entry for k in TABLE_KEYS):
            out[name] = entry
    return out


def test_table(metrics: dict) -> pd.DataFrame:
    """Rows: the course's five figures; columns: each evaluation of this model, then the course."""
    columns = {name: [_number(entry.get(k)) for k in TABLE_KEYS]
               for name, entry in evaluations(metrics).items()}
    columns[COURSE_COLUMN] = [COURSE_REFERENCE[k] for k in TABLE_KEYS]
    return pd.DataFrame(columns, index=pd.Index(TABLE_HEADERS, name="metric"))


def per_tag_ap(metrics: dict) -> pd.DataFrame:
    """Per-tag average precision, highest first: tag, AP and (when known) positive test clips."""
    ap = metrics.get("per_tag_ap") or {}
    positives = metrics.get("per_tag_positives") or {}
    rows = [{"tag": str(tag), "AP": _number(value), "test clips": positives.get(tag)}
            for tag, value in ap.items() if _number(value) is not None]
    frame = pd.DataFrame(rows, columns=["tag", "AP", "test clips"])
    if frame["test clips"].isna().all():
        frame = frame.drop(columns="test clips")
    return frame.sort_values(["AP", "tag"], ascending=[False, True], ignore_index=True)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return float(value)
    return None
