"""Multi-label metrics of the course table: ROC-AUC and PR-AUC (macro and micro), subset accuracy,
and average precision per tag. Vectorised numpy; checked against scikit-learn in the tests.

Macro figures average over the evaluated tags: those with at least one positive and one negative
clip in the data (ROC-AUC is undefined otherwise). Micro figures and subset accuracy use the same
tag columns, so a corpus that uses 130 of the 1000 tags is scored on those 130.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.stats import rankdata

THRESHOLD = 0.5  # a tag is predicted when its sigmoid score reaches this
TABLE_KEYS = ("roc_auc_macro", "roc_auc_micro", "pr_auc_macro", "pr_auc_micro", "subset_accuracy")
TABLE_HEADERS = ("ROC-AUC macro", "ROC-AUC micro", "PR-AUC macro", "PR-AUC micro", "subset accuracy")


def roc_auc_columns(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """(N, T) labels and scores -> (T,) ROC-AUC per column (Mann-Whitney U, ties averaged);
    NaN where a column has no positive or no negative."""
    y = np.asarray(y_true) > 0
    ranks = rankdata(np.asarray(y_score, np.float64), axis=0)  # (N, T), average ranks for ties
    n_pos = y.sum(axis=0)
    n_neg = y.shape[0] - n_pos
    rank_sum = np.where(y, ranks, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum, as scikit-learn computes it:
    sum over distinct thresholds of (R_k - R_{k-1}) * P_k. NaN without positives."""
    y = np.asarray(y_true).reshape(-1) > 0
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    s = np.asarray(y_score, np.float64).reshape(-1)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # end of each run of equal scores
    tps = np.cumsum(y)[last_of_tie]
    precision = tps / (last_of_tie + 1)
    recall = tps / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def average_precision_columns(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    return np.array([average_precision(y_true[:, j], y_score[:, j]) for j in range(y_true.shape[1])])


def subset_accuracy(y_true: np.ndarray, y_score: np.ndarray, threshold: float = THRESHOLD) -> float:
    """Share of clips whose predicted tag set (score >= threshold) equals the true one exactly."""
    pred = np.asarray(y_score) >= threshold
    return float(np.mean(np.all(pred == (np.asarray(y_true) > 0), axis=1)))


@dataclass
class Scores:
    roc_auc_macro: float  # mean per-tag ROC-AUC over the evaluated tags
    roc_auc_micro: float  # ROC-AUC of all (clip, tag) pairs of the evaluated tags
    pr_auc_macro: float  # mean per-tag average precision
    pr_auc_micro: float  # average precision of all (clip, tag) pairs
    subset_accuracy: float  # exact tag-set match at THRESHOLD
    n_clips: int  # clips scored
    n_tags: int  # tags evaluated (with positives and negatives)
    per_tag_ap: dict = field(default_factory=dict)  # tag -> average precision
    per_tag_roc_auc: dict = field(default_factory=dict)  # tag -> ROC-AUC
    per_tag_positives: dict = field(default_factory=dict)  # tag -> positive clips
    top5: dict = field(default_factory=dict)  # top_k_figures on the scores a person is shown

    def table_row(self) -> tuple[float, ...]:
        return tuple(getattr(self, k) for k in TABLE_KEYS)

    def to_dict(self) -> dict:
        return asdict(self)


def score_tags(y_true: np.ndarray, y_score: np.ndarray, vocabulary: tuple[str, ...],
               threshold: float = THRESHOLD) -> Scores:
    """(N, T) labels and sigmoid scores over `vocabulary` -> the course table and per-tag figures."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, np.float64)
    if y_true.shape != y_score.shape or y_true.shape[1] != len(vocabulary):
        raise ValueError(f"labels {y_true.shape}, scores {y_score.shape} and vocabulary "
                         f"({len(vocabulary)}) do not match")
    positives = (y_true > 0).sum(axis=0)
    cols = np.flatnonzero((positives > 0) & (positives < len(y_true)))
    if cols.size == 0:
        raise ValueError("no tag has both positive and negative clips: nothing to evaluate")
    t, s = y_true[:, cols], y_score[:, cols]
    roc = roc_auc_columns(t, s)
    ap = average_precision_columns(t, s)
    tags = [vocabulary[c] for c in cols]
    return Scores(
        roc_auc_macro=float(np.mean(roc)), roc_auc_micro=float(roc_auc_columns(t.reshape(-1, 1),
                                                                               s.reshape(-1, 1))[0]),
        pr_auc_macro=float(np.mean(ap)), pr_auc_micro=average_precision(t, s),
        subset_accuracy=subset_accuracy(t, s, threshold), n_clips=len(y_true), n_tags=len(cols),
        per_tag_ap=dict(zip(tags, map(float, ap), strict=True)),
        per_tag_roc_auc=dict(zip(tags, map(float, roc), strict=True)),
        per_tag_positives={tag: int(positives[c]) for tag, c in zip(tags, cols, strict=True)})


def format_table(rows: dict[str, Scores]) -> str:
    """A markdown table of the course's five figures, one row per named evaluation."""
    lines = ["| data | " + " | ".join(TABLE_HEADERS) + " |", "|" + " --- |" * (len(TABLE_HEADERS) + 1)]
    for name, sc in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in sc.table_row()) + " |")
    return "\n".join(lines)


def top_k_figures(y_true: np.ndarray, y_score: np.ndarray, k: int = 5) -> dict:
    """How a person reading the top k tags fares, over the clips that carry at least one label:
    `hit_rate` (share of clips with any of their labels among the top k), `precision` (mean share
    of the top k that are labels) and `precision_bound`, the precision of a perfect ranking: a clip
    with fewer than k labels cannot fill its top k with them."""
    labelled = y_true.sum(axis=1) > 0
    y, s = y_true[labelled] > 0, y_score[labelled]
    if not len(y):
        return {"k": k, "clips": 0, "hit_rate": float("nan"), "precision": float("nan"),
                "precision_bound": float("nan")}
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]  # (clips, k)
    hits = np.take_along_axis(y, top, axis=1)  # (clips, k) bool
    return {"k": k, "clips": int(len(y)), "hit_rate": float(hits.any(axis=1).mean()),
            "precision": float(hits.mean()),
            "precision_bound": float(np.minimum(y.sum(axis=1), k).mean() / k)}
