"""Per-tag thresholds: fitted on validation, kept in the model directory, and used wherever a
score meets a threshold: the tagger's scores, the CLI, the store's final labels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.modeldir import load_model_dir
from core.store import TagStore
from core.tagger import Tagger
from core.thresholds import (
    DEFAULT_THRESHOLD,
    Thresholds,
    best_f1_threshold,
    fit_thresholds,
    load_thresholds,
    save_thresholds,
)
from core.vocabulary import load_vocabulary
from tests.audio_factory import make_tone_file

PROJECT = Path(__file__).resolve().parent.parent


def test_the_best_f1_cut_falls_between_the_positives_and_the_negatives():
    scores = np.array([0.9, 0.8, 0.35, 0.3, 0.1, 0.05])
    positive = np.array([1, 1, 1, 0, 0, 0], bool)
    assert best_f1_threshold(scores, positive) == pytest.approx(0.325)


def test_tags_without_enough_positives_keep_the_default():
    rng = np.random.default_rng(0)
    vocabulary = load_vocabulary()
    labels = np.zeros((200, 1000), np.int16)
    labels[:40, 3] = 1  # 40 positives: gets its own threshold
    labels[:12, 7] = 1  # 12 positives: too few
    scores = rng.random((200, 1000)).astype(np.float32) * 0.2
    scores[:40, 3] += 0.25
    th = fit_thresholds(scores, labels, vocabulary, "val.h5")
    assert th.calibrated == (vocabulary[3],)
    assert 0.15 < th.values[3] < 0.3 and th.values[7] == DEFAULT_THRESHOLD


def test_calibrated_scores_are_one_half_at_each_tags_threshold():
    values = np.full(1000, 0.5, np.float32)
    values[0], values[1] = 0.2, 0.8
    th = Thresholds(values, ("a", "b"), "")
    scores = np.full((1, 1000), 0.5, np.float32)
    scores[0, 0], scores[0, 1] = 0.2, 0.8
    out = th.calibrate(scores)
    np.testing.assert_allclose(out[0, :3], [0.5, 0.5, 0.5], atol=1e-6)
    assert th.calibrate(np.array([[0.3] + [0.5] * 999], np.float32))[0, 0] > 0.5  # above its 0.2


@pytest.fixture
def calibrated_model(tmp_path, tiny_model_dir) -> tuple[Path, dict, dict]:
    """The tiny model with a thresholds.json: its top tag on a tone gets a threshold at half its
    raw score (so it counts), its second tag one well above its raw score (so it does not)."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    tone = make_tone_file(tmp_path / "tone.wav")
    raw = dict(Tagger(model, "cpu").tag_file(tone, top_k=2).tags)
    (first, s1), (second, s2) = raw.items()
    vocabulary = load_vocabulary()
    values = np.full(1000, DEFAULT_THRESHOLD, np.float32)
    wanted = {first: s1 / 2, second: min(0.9, s2 + 0.3)}
    for tag, value in wanted.items():
        values[vocabulary.index(tag)] = value
    save_thresholds(model, Thresholds(values, tuple(wanted), "test"), vocabulary)
    return model, raw, wanted


def test_thresholds_round_trip_through_the_model_directory(calibrated_model):
    model, raw, wanted = calibrated_model
    saved = json.loads((model / "thresholds.json").read_text())
    assert saved["tags"] == pytest.approx({t: round(float(np.float32(v)), 4) for t, v in wanted.items()},
                                          abs=1e-4)
    assert set(load_thresholds(model, load_vocabulary()).calibrated) == set(wanted)
    assert load_model_dir(model).thresholds is not None


def test_the_cli_reports_calibrated_scores(calibrated_model, tmp_path):
    model, raw, wanted = calibrated_model
    done = subprocess.run([sys.executable, "-m", "core", "tag", str(tmp_path / "tone.wav"), "--json",
                           "--top", "1000", "--model", str(model)], capture_output=True, text=True,
                          cwd=PROJECT, timeout=120)
    assert done.returncode == 0, done.stderr
    scores = {t["tag"]: t["score"] for t in json.loads(done.stdout)["tags"]}
    first, second = wanted
    assert scores[first] > 0.5 and scores[second] < 0.5
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    expected = 1 / (1 + np.exp(-(logit(raw[first]) - logit(wanted[first]))))
    assert scores[first] == pytest.approx(expected, abs=1e-4)


def test_the_store_keeps_calibrated_scores_so_final_labels_follow_the_thresholds(calibrated_model,
                                                                                  tmp_path):
    model, raw, wanted = calibrated_model
    db = tmp_path / "tags.duckdb"
    done = subprocess.run([sys.executable, "-m", "core", "tag", str(tmp_path / "tone.wav"), "--db",
                           str(db), "--json", "--model", str(model)], capture_output=True, text=True,
                          cwd=PROJECT, timeout=120)
    assert done.returncode == 0, done.stderr
    labels = TagStore(db).labels(json.loads(done.stdout)["sound_id"])
    first, second = wanted
    assert first in labels.final and second not in labels.final
