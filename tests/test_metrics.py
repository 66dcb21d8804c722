"""The course table's metrics agree with scikit-learn on small arrays, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from core.metrics import (
    average_precision,
    average_precision_columns,
    format_table,
    roc_auc_columns,
    score_tags,
    subset_accuracy,
    top_k_figures,
)


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    y = (rng.random((60, 7)) < 0.3).astype(np.int16)
    y[0, :] = 1  # every column has a positive
    y[1, :] = 0  # and a negative
    scores = np.round(0.6 * rng.random((60, 7)) + 0.35 * y * rng.random((60, 7)), 1)  # many ties
    return y, scores


def test_roc_auc_per_tag_matches_sklearn(arrays):
    y, s = arrays
    expected = [roc_auc_score(y[:, j], s[:, j]) for j in range(y.shape[1])]
    np.testing.assert_allclose(roc_auc_columns(y, s), expected, atol=1e-12)


def test_average_precision_per_tag_matches_sklearn(arrays):
    y, s = arrays
    expected = [average_precision_score(y[:, j], s[:, j]) for j in range(y.shape[1])]
    np.testing.assert_allclose(average_precision_columns(y, s), expected, atol=1e-12)


def test_micro_figures_match_sklearn(arrays):
    y, s = arrays
    assert roc_auc_columns(y.reshape(-1, 1), s.reshape(-1, 1))[0] == pytest.approx(
        roc_auc_score(y, s, average="micro"))
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s, average="micro"))


def test_subset_accuracy_matches_sklearn_at_half(arrays):
    y, s = arrays
    assert subset_accuracy(y, s) == pytest.approx(accuracy_score(y, (s >= 0.5).astype(int)))


def test_undefined_columns_are_nan_not_errors():
    y = np.array([[1, 0], [1, 0], [1, 0]])
    s = np.array([[0.2, 0.1], [0.9, 0.3], [0.5, 0.2]])
    assert np.isnan(roc_auc_columns(y, s)).all()
    assert np.isnan(average_precision(y[:, 1], s[:, 1]))


def test_score_tags_averages_over_tags_present_only(arrays):
    y, s = arrays
    vocabulary = tuple(f"t{i}" for i in range(10))
    y10 = np.zeros((60, 10), np.int16)
    y10[:, :7] = y
    s10 = np.zeros((60, 10))
    s10[:, :7] = s
    s10[:, 7:] = np.random.default_rng(1).random((60, 3))  # absent tags: ignored, not scored as 0.5
    sc = score_tags(y10, s10, vocabulary)
    assert sc.n_tags == 7 and sc.n_clips == 60
    assert sc.roc_auc_macro == pytest.approx(roc_auc_score(y, s, average="macro"))
    assert sc.pr_auc_macro == pytest.approx(average_precision_score(y, s, average="macro"))
    assert sc.pr_auc_micro == pytest.approx(average_precision_score(y, s, average="micro"))
    assert set(sc.per_tag_ap) == {f"t{i}" for i in range(7)}
    assert sc.per_tag_positives["t0"] == int(y[:, 0].sum())


def test_a_perfect_ranking_scores_one_and_the_table_prints_it():
    y = np.eye(4, dtype=np.int16)
    sc = score_tags(y, y.astype(float) * 0.9 + 0.05, ("a", "b", "c", "d"))
    assert sc.table_row() == pytest.approx((1.0, 1.0, 1.0, 1.0, 1.0))
    table = format_table({"test": sc})
    assert "ROC-AUC macro" in table and "| test | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |" in table


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="do not match"):
        score_tags(np.zeros((3, 2)), np.zeros((3, 3)), ("a", "b"))


def test_top_k_precision_is_bounded_by_how_many_labels_each_clip_has():
    # Three labelled clips (one, two and six labels) and one without: a perfect ranking fills
    # 1, 2 and 5 of the top 5, so its precision is 8/15. A ranking that puts every label last
    # still hits three of the six-label clip's (only two of its eight tags are not labels).
    y = np.zeros((4, 8), dtype=np.int16)
    y[0, 0] = 1
    y[1, [1, 2]] = 1
    y[2, 2:] = 1
    perfect = top_k_figures(y, y + 0.1 * np.arange(8))
    assert perfect["clips"] == 3 and perfect["hit_rate"] == 1.0
    assert perfect["precision"] == pytest.approx(8 / 15) == perfect["precision_bound"]
    blind = top_k_figures(y, 1.0 - y)
    assert blind["precision"] == pytest.approx(3 / 15) and blind["hit_rate"] == pytest.approx(1 / 3)
    assert blind["precision_bound"] == perfect["precision_bound"]
