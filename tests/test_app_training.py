"""The training monitor page, through Streamlit's AppTest: no runs, a real run log, a model's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.modeldir import write_metrics
from tests.conftest import make_model_dir

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "training.py")
TIMEOUT = 60


def write_run_log(run: Path, epochs: int, done: bool) -> Path:
    """A run folder with a JSON-lines log as the trainer writes it, one line per epoch."""
    run.mkdir(parents=True, exist_ok=True)
    lines = []
    for epoch in range(1, epochs + 1):
        lines.append({"event": "epoch", "epoch": epoch, "train_loss": 0.5 / epoch,
                      "val_loss": 0.6 / epoch, "val_roc_auc_macro": 0.7 + 0.02 * epoch,
                      "val_roc_auc_micro": 0.75 + 0.02 * epoch, "val_pr_auc_macro": 0.2 + 0.03 * epoch,
                      "val_pr_auc_micro": 0.25 + 0.03 * epoch, "val_subset_accuracy": 0.01 * epoch,
                      "seconds": 12.5, "samples_per_s": 150.0})
    if done:
        lines.append({"event": "done", "best_epoch": epochs, "epochs": epochs})
    log = run / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return log


@pytest.fixture
def env(tmp_path, monkeypatch):
    runs, models = tmp_path / "runs", tmp_path / "models"
    monkeypatch.setenv("TAGGER_RUNS", str(runs))
    monkeypatch.setenv("TAGGER_MODEL", str(models / "default"))
    return runs, models


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "info", "warning", "caption")
                     for e in getattr(at, kind))


def test_no_runs_and_no_model_say_what_to_do(env):
    at = run_page()
    shown = texts(at)
    assert "No training runs" in shown and "python -m core train" in shown
    assert "No model directory" in shown and "export-model" in shown
    assert not at.selectbox


def test_finished_run_shows_its_curves_and_last_epoch(env):
    runs, _ = env
    write_run_log(runs / "first", epochs=4, done=True)
    at = run_page()
    assert at.selectbox(key="training_run").value == "first"
    assert "finished" in texts(at) and "4 epochs logged" in texts(at)
    labels = {m.label: m.value for m in at.metric}
    assert labels["val_loss"] == f"{0.6 / 4:.4f}"
    assert labels["val_roc_auc_macro"] == f"{0.78:.4f}"
    epochs = at.dataframe[0].value
    assert list(epochs.index) == [1, 2, 3, 4]
    assert epochs.loc[2, "train_loss"] == pytest.approx(0.25)


def test_unfinished_run_is_shown_running_and_a_partial_line_is_ignored(env):
    runs, _ = env
    log = write_run_log(runs / "live", epochs=2, done=False)
    with open(log, "a") as f:
        f.write('{"event": "epoch", "epoch": 3, "train_lo')  # the trainer is mid-write
    at = run_page()
    assert "running" in texts(at) and "2 epochs logged" in texts(at)


def test_choosing_another_run_shows_its_log(env):
    runs, _ = env
    write_run_log(runs / "a", epochs=2, done=True)
    write_run_log(runs / "b", epochs=5, done=True)
    at = run_page()
    other = next(n for n in ("a", "b") if n != at.selectbox(key="training_run").value)
    at.selectbox(key="training_run").select(other).run()
    assert not at.exception
    assert f"{2 if other == 'a' else 5} epochs logged" in texts(at)


def test_run_without_a_log_yet(env):
    runs, _ = env
    (runs / "starting").mkdir(parents=True)
    at = run_page()
    assert "no JSON-lines log yet" in texts(at)


def test_model_figures_beside_the_course_and_per_tag_ap(env):
    _, models = env
    model = make_model_dir(models / "default")
    write_metrics(model, {"roc_auc_macro": 0.97, "roc_auc_micro": 0.98, "pr_auc_macro": 0.71,
                          "pr_auc_micro": 0.75, "subset_accuracy": 0.3,
                          "per_tag_ap": {"piano": 0.95, "drum": 0.4, "speech": 0.8}})
    at = run_page()
    table = next(d.value for d in at.dataframe if "course CNN" in d.value.columns)
    assert table.loc["ROC-AUC macro", "this model"] == pytest.approx(0.97)
    assert table.loc["ROC-AUC macro", "course CNN"] == pytest.approx(0.938)
    assert table.loc["PR-AUC macro", "difference"] == pytest.approx(0.71 - 0.415)
    ap = next(d.value for d in at.dataframe if "AP" in d.value.columns)
    assert list(ap["tag"]) == ["piano", "speech", "drum"]
    assert "3 tags" in texts(at)


def test_model_without_metrics_says_how_to_evaluate(env):
    _, models = env
    make_model_dir(models / "default")
    at = run_page()
    assert "no metrics.json" in texts(at) and "python -m core evaluate" in texts(at)
