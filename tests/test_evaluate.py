"""From a run to a model directory the app can load: export-model, evaluate, metrics.json, the card."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.corpus.synth import GENERATORS
from core.dataset import read_coala
from core.evaluate import evaluate_model
from core.metrics import TABLE_KEYS
from core.modeldir import load_model_dir
from core.tagger import Tagger
from core.train import TrainConfig, train
from core.vocabulary import load_vocabulary
from tests.audio_factory import write_audio
from tests.corpus_factory import TINY_TAGS, build_tiny, tiny_catalog

PROJECT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          timeout=300, cwd=PROJECT)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("eval")
    catalog = tiny_catalog(folder)
    data = {"train": build_tiny(folder / "train.h5", 128, 1, catalog),
            "val": build_tiny(folder / "val.h5", 48, 2, catalog),
            "test": build_tiny(folder / "test.h5", 48, 3, catalog)}
    train(TrainConfig(str(data["train"]), str(folder / "run"), val=str(data["val"]), epochs=3,
                      batch_size=16, threads=1, seed=1))
    siren = GENERATORS["siren"](np.random.default_rng(7), 22_000)
    data["siren"] = write_audio(folder / "sounds" / "siren.wav", siren * 0.5, 22_000)
    return {**data, "run": folder / "run", "folder": folder}


@pytest.fixture(scope="module")
def exported(run) -> Path:
    out = run["folder"] / "model"
    done = cli("export-model", "--run", str(run["run"]), "--out", str(out), "--name", "tiny-rendered",
               "--test", f"test={run['test']}", "--examples", str(run["siren"].parent))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    return out


def test_exported_model_loads_in_the_tagger_and_tags_a_file(exported, run):
    tagger = Tagger(exported, "cpu")
    assert tagger.model_label.startswith("tiny-rendered@")
    result = tagger.tag_file(run["siren"], top_k=5)
    assert result.ok and len(result.tags) == 5
    assert {t for t, _ in result.tags} & TINY_TAGS  # it ranks tags it was trained on first


def test_model_card_says_what_it_learned_from_and_shows_the_test_table(exported):
    card = (exported / "MODEL_CARD.md").read_text()
    assert "not from field recordings" in card
    assert "preset `compact`" in card and "epochs run: 3" in card
    assert "| test |" in card and "ROC-AUC macro" in card
    assert "siren.wav" in card  # the examples it was asked to tag, with their top tags
    assert re.search(r"## Tags it knows: \d+ with at least 30 training clips", card)
    assert "11 tags have at least one training clip" in card
    assert "Per-tag thresholds" in card and "Top 5 as a person reads them" in card
    assert "a perfect ranking's precision |" in card


def test_export_calibrates_thresholds_on_the_runs_validation_data(exported, run):
    thresholds = json.loads((exported / "thresholds.json").read_text())
    assert thresholds["source"] == str(run["val"]) and thresholds["min_positives"] == 30
    val = read_coala(run["val"])
    vocabulary = load_vocabulary()
    enough = {vocabulary[i] for i in np.flatnonzero(val.labels.sum(axis=0) >= 30)}
    assert set(thresholds["tags"]) == enough and enough <= set(TINY_TAGS)
    assert all(0.1 <= t <= 0.9 for t in thresholds["tags"].values())
    assert load_model_dir(exported).thresholds is not None
    metrics = json.loads((exported / "metrics.json").read_text())
    assert 0 <= metrics["top5"]["hit_rate"] <= 1 and metrics["top5"]["clips"] == 48
    assert 0 <= metrics["top5"]["precision"] <= metrics["top5"]["precision_bound"] <= 1


def test_a_card_names_coala_data_for_a_file_in_the_coala_layout(run, tmp_path):
    import shutil

    coala = tmp_path / "spec_tags_top_1000"
    shutil.copy(run["train"], coala)
    with __import__("h5py").File(coala, "a") as f:  # a COALA file has no corpus marker
        for key in list(f["dataset"].attrs):
            del f["dataset"].attrs[key]
    train(TrainConfig(str(coala), str(tmp_path / "run"), val=str(run["val"]), epochs=1,
                      batch_size=16, threads=1, seed=1))
    done = cli("export-model", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "model"))
    assert done.returncode == 0, done.stderr
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert "the COALA data: real Freesound sounds" in card and "not from field recordings" not in card
    assert load_model_dir(tmp_path / "model").info.trained_on.startswith("the COALA data")


def test_export_writes_the_primary_evaluation_into_metrics_json(exported, run):
    metrics = load_model_dir(exported).metrics
    assert set(TABLE_KEYS) <= set(metrics)
    assert metrics["data"] == str(run["test"]) and metrics["n_tags"] == len(TINY_TAGS)
    assert set(metrics["per_tag_ap"]) == TINY_TAGS
    assert metrics["label"] == "test" and "test" in metrics["evaluations"]


def test_evaluate_prints_the_table_and_records_each_data_file(exported, run):
    done = cli("evaluate", "--model", str(exported), "--data", str(run["val"]))
    assert done.returncode == 0, done.stderr
    for header in ("ROC-AUC macro", "ROC-AUC micro", "PR-AUC macro", "PR-AUC micro", "subset accuracy"):
        assert header in done.stdout
    assert "per-tag average precision" in done.stdout
    metrics = json.loads((exported / "metrics.json").read_text())
    assert metrics["data"] == str(run["val"])  # the latest evaluation is the top-level one
    assert {"test", "val.h5"} <= set(metrics["evaluations"])  # export's label, evaluate's file name


def test_evaluate_json_matches_the_library(exported, run):
    done = cli("evaluate", "--model", str(exported), "--data", str(run["test"]), "--json", "--no-write")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    expected = evaluate_model(exported, run["test"], "cpu")
    for key in TABLE_KEYS:
        assert printed[key] == pytest.approx(getattr(expected, key))
    assert printed["per_tag_ap"].keys() == expected.per_tag_ap.keys()


def test_evaluate_without_a_model_fails_clearly(run, tmp_path):
    done = cli("evaluate", "--model", str(tmp_path / "none"), "--data", str(run["test"]))
    assert done.returncode == 2
    assert "No trained model" in done.stderr
