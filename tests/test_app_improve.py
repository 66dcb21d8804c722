"""The app's side of the model registry, through AppTest: the home page's model list and its
switch without a restart, the fallback when a promoted model is gone, and the training page's
before/after view with promote and discard (comparison.json written by core.improve's own code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.improve.compare import compare_on
from core.improve.pipeline import COMPARISON
from core.registry import ACTIVE
from tests.app_fixtures import open_page, plain, point_app_at
from tests.conftest import make_model_dir
from tests.corpus_factory import build_tiny, tiny_catalog

TRAINING = str(Path(__file__).resolve().parent.parent / "pages" / "training.py")



@pytest.fixture
def models(tmp_path, monkeypatch):
    root = tmp_path / "models"
    make_model_dir(root / "default", seed=0, name="base", version="1")
    make_model_dir(root / "better", seed=1, name="better", version="1")
    point_app_at(monkeypatch, tmp_path, None)
    monkeypatch.delenv("TAGGER_MODEL")
    monkeypatch.setenv("TAGGER_MODELS", str(root))
    monkeypatch.setenv("TAGGER_RUNS", str(tmp_path / "runs"))
    return root


def test_home_lists_the_models_and_switches_without_a_restart(models):
    at = open_page()
    assert not at.exception
    text = plain(at)
    assert "base@1" in text and "default (active)" in text and "better" in text
    at.button(key="home_use_better").click().run()
    assert not at.exception
    assert (models / ACTIVE).read_text().strip() == "better"
    text = plain(at)
    assert "better@1" in text and "better (active)" in text and "is the active model now" in text


def test_home_says_when_the_promoted_model_is_gone(models):
    (models / ACTIVE).write_text("vanished\n")
    at = open_page()
    assert not at.exception
    assert "the promoted model 'vanished' is no longer in" in plain(at)
    assert "base@1" in plain(at)  # the fallback is in use


@pytest.fixture
def improved(models, tmp_path):
    """Two improved models, each with a comparison.json computed on a real tiny corpus."""
    test = build_tiny(tmp_path / "test.h5", 24, 3, tiny_catalog(tmp_path))
    for name, seed in (("improved-a", 2), ("improved-b", 3)):
        new = make_model_dir(models / name, seed=seed, name=name, version="1")
        entry = compare_on(models / "default", new, test)
        (new / COMPARISON).write_text(json.dumps(
            {"base": str(models / "default"), "new": str(new), "heldout_label": "store held-out",
             "evaluations": {"store held-out": {**entry, "corrections": {"total": 5, "old": 1,
                                                                         "new": 3}}}}))
        (new / "lineage.json").write_text(json.dumps({"created_at": f"2026-12-0{seed}",
                                                      "made_by": "improve",
                                                      "base_model": "default",
                                                      "blend": {"alpha": 0.7,
                                                                "chosen_on_validation": True}}))
    return models


def test_training_page_shows_before_after_and_promotes_and_discards(improved):
    at = AppTest.from_file(TRAINING, default_timeout=60).run()
    assert not at.exception
    text = plain(at)
    assert "Before and after" in text and "predicts **3 of 5**, the old one 1" in text
    assert "Better:" in text and "Worse:" in text
    summary = at.dataframe[0].value
    assert list(summary["data"]) == ["store held-out"] and summary["clips"][0] == 24
    assert at.button(key="training_improve") and at.button(key="training_retag")

    at.selectbox(key="training_compare_model").set_value("improved-a").run()
    assert "blended 0.7 × fine-tuned + 0.3 × base weights (chosen on validation)" in plain(at)
    at.button(key="training_promote").click().run()
    assert not at.exception
    assert (improved / ACTIVE).read_text().strip() == "improved-a"
    assert "improved-a is the active model now" in plain(at)
    assert at.button(key="training_discard").disabled  # never the active one

    at.selectbox(key="training_compare_model").set_value("improved-b").run()
    at.button(key="training_discard").click().run()
    assert not at.exception
    assert not (improved / "improved-b").exists() and (improved / "improved-a").is_dir()
    assert "improved-b was discarded" in plain(at)


def test_retag_button_runs_a_detached_retag_that_keeps_corrections(models, tmp_path):
    import time

    from app.jobs import retag_folder
    from core.detached import process_alive
    from core.store import TagStore
    from tests.app_fixtures import add_real_sounds

    db = tmp_path / "tags.duckdb"
    ids = add_real_sounds(db, tmp_path / "audio", 2)
    store = TagStore(db)
    store.label(ids[0], add=["guitar"], remove=["piano"], user="ana")
    at = AppTest.from_file(TRAINING, default_timeout=60).run()
    at.button(key="training_retag").click().run()
    assert not at.exception and "Re-tagging started" in plain(at)
    deadline = time.time() + 120
    while process_alive(retag_folder()) and time.time() < deadline:
        time.sleep(0.5)
    assert process_alive(retag_folder()) is False
    assert {store.labels(i).model for i in ids} == {"base@1"}  # the active model's predictions
    labels = store.labels(ids[0])
    assert "guitar" in labels.final and "piano" not in labels.final  # the correction stands
    assert "re-tagged 2 sounds with base@1" in (retag_folder() / "train.out").read_text()
