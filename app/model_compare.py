"""Before and after: an improved model's comparison.json (core.improve) as tables. No widgets.

comparison.json holds, per evaluation (base test pools, the held-out store sounds), both models'
course tables and per-tag average precision on the same clips, and for the held-out store sounds
how many of the curators' corrections each model predicts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from core.improve.compare import better_and_worse
from core.improve.pipeline import COMPARISON
from core.metrics import TABLE_HEADERS, TABLE_KEYS


def read_comparison(model_dir: Path) -> dict | None:
    try:
        value = json.loads((Path(model_dir) / COMPARISON).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("evaluations"), dict) else None


def compared(comparison: dict) -> dict[str, dict]:
    """Evaluation label -> entry, the ones with both tables (the held-out store sounds first)."""
    entries = {k: v for k, v in comparison["evaluations"].items()
               if isinstance(v, dict) and "old" in v and "new" in v}
    first = comparison.get("heldout_label")
    return dict(sorted(entries.items(), key=lambda kv: kv[0] != first))


def summary_table(comparison: dict) -> pd.DataFrame:
    """One row per evaluation: PR-AUC macro before, after and the change, with clips and tags."""
    rows = [{"data": label, "clips": e["new"]["n_clips"], "tags": e["new"]["n_tags"],
             "PR-AUC macro before": e["old"]["pr_auc_macro"],
             "PR-AUC macro after": e["new"]["pr_auc_macro"],
             "change": e["new"]["pr_auc_macro"] - e["old"]["pr_auc_macro"]}
            for label, e in compared(comparison).items()]
    return pd.DataFrame(rows, columns=["data", "clips", "tags", "PR-AUC macro before",
                                       "PR-AUC macro after", "change"])


def course_table(entry: dict) -> pd.DataFrame:
    return pd.DataFrame({"before": [entry["old"][k] for k in TABLE_KEYS],
                         "after": [entry["new"][k] for k in TABLE_KEYS]},
                        index=pd.Index(TABLE_HEADERS, name="metric"))


def per_tag_table(entry: dict) -> pd.DataFrame:
    """tag, AP before, AP after, change, positive clips; the biggest gains first."""
    rows = [{"tag": t, "AP before": v["old"], "AP after": v["new"], "change": v["new"] - v["old"],
             "clips": v.get("positives")} for t, v in entry.get("per_tag", {}).items()]
    frame = pd.DataFrame(rows, columns=["tag", "AP before", "AP after", "change", "clips"])
    return frame.sort_values(["change", "tag"], ascending=[False, True], ignore_index=True)


def changed_tags(entry: dict, n: int = 10) -> tuple[list[str], list[str]]:
    """('tag 0.41 -> 0.63', ...) of the tags that got better, and of those that got worse."""
    better, worse = better_and_worse(entry.get("per_tag", {}), n)
    return ([f"{t} {o:.2f} → {w:.2f}" for t, o, w in better],
            [f"{t} {o:.2f} → {w:.2f}" for t, o, w in worse])
