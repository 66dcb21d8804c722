"""Model directories and their test figures, for the training monitor. No widgets.

A model directory's metrics.json holds the test table (ROC-AUC and PR-AUC, macro and micro,
subset accuracy) and the average precision of each tag; here they become tables beside the
course project's reference figures.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.modeldir import CARD, CONFIG, DEFAULT_MODEL_DIR, METRICS

MODELS_ROOT = DEFAULT_MODEL_DIR.parent
# The course project's CNN on the COALA test file (shared/coala/README.md): (label, key, value).
COURSE_REFERENCE = (
    ("ROC-AUC macro", "roc_auc_macro", 0.938),
    ("ROC-AUC micro", "roc_auc_micro", 0.966),
    ("PR-AUC macro", "pr_auc_macro", 0.415),
    ("PR-AUC micro", "pr_auc_micro", 0.543),
    ("subset accuracy", "subset_accuracy", 0.249),
)
PER_TAG_KEYS = ("per_tag_ap", "per_tag", "tag_ap", "ap_per_tag")  # where per-tag AP may live


@dataclass(frozen=True)
class ModelEntry:
    name: str  # folder name, e.g. "default"
    path: Path  # the model directory
    metrics: dict  # its metrics.json ({} when absent or unreadable)
    card: str  # its MODEL_CARD.md ("" when absent)


def models_root() -> Path:
    """Where model directories live: the parent of $TAGGER_MODEL when set, else models/."""
    env = os.environ.get("TAGGER_MODEL")
    return Path(env).parent if env else MODELS_ROOT


def list_models(root: Path | None = None) -> list[ModelEntry]:
    """Model directories (a config.json inside) under `root`, the default model first."""
    root = Path(root) if root else models_root()
    if not root.is_dir():
        return []
    found = [read_model(p) for p in sorted(root.iterdir()) if (p / CONFIG).is_file()]
    return sorted(found, key=lambda m: (m.name != "default", m.name))


def read_model(path: Path) -> ModelEntry:
    metrics = {}
    if (path / METRICS).is_file():
        try:
            metrics = json.loads((path / METRICS).read_text())
        except (json.JSONDecodeError, OSError, UnicodeDecodeError):
            metrics = {}
    card = (path / CARD).read_text(errors="replace") if (path / CARD).is_file() else ""
    return ModelEntry(path.name, path, metrics if isinstance(metrics, dict) else {}, card)


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _flat_numbers(obj: dict, prefix: str = "") -> dict[str, float]:
    """Nested dict -> {normalized key path: number}; per-tag tables are left out."""
    out: dict[str, float] = {}
    for key, value in obj.items():
        if isinstance(value, dict) and key not in PER_TAG_KEYS:
            out.update(_flat_numbers(value, prefix + str(key) + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[_norm(str(key))] = float(value)
            out.setdefault(_norm(prefix + str(key)), float(value))
    return out


def test_table(metrics: dict) -> pd.DataFrame:
    """One row per figure: this model's value, the course's, and the difference."""
    flat = _flat_numbers(metrics)
    rows = []
    for label, key, ref in COURSE_REFERENCE:
        value = flat.get(_norm(key))
        rows.append({"metric": label, "this model": value, "course CNN": ref,
                     "difference": None if value is None else value - ref})
    return pd.DataFrame(rows).set_index("metric")


def per_tag_ap(metrics: dict) -> pd.DataFrame:
    """Per-tag average precision, highest first: columns tag, AP (and support when given)."""
    table = _find_per_tag(metrics)
    rows = []
    for tag, value in table.items():
        if isinstance(value, dict):
            ap = value.get("ap", value.get("AP"))
            rows.append({"tag": str(tag), "AP": ap, "support": value.get("support")})
        else:
            rows.append({"tag": str(tag), "AP": value})
    frame = pd.DataFrame(rows, columns=["tag", "AP", "support"])
    frame = frame[pd.to_numeric(frame["AP"], errors="coerce").notna()].astype({"AP": float})
    if frame["support"].isna().all():
        frame = frame.drop(columns="support")
    return frame.sort_values("AP", ascending=False, ignore_index=True)


def _find_per_tag(metrics: dict) -> dict:
    for key in PER_TAG_KEYS:
        if isinstance(metrics.get(key), dict):
            return metrics[key]
    for value in metrics.values():
        if isinstance(value, dict):
            found = _find_per_tag(value)
            if found:
                return found
    return {}
