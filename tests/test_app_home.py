"""The home page and the router (AppTest): model and card, store counts, settings, every page."""

from __future__ import annotations

import pytest

from app.settings import mask_secret
from core.store import TagStore
from tests.app_fixtures import add_real_sounds, click_row, open_page, plain, point_app_at

KEY = "fs-home-key-3Zq8Wm1Px7"
PAGES = ("home", "feed", "upload", "training", "export")


def test_home_shows_model_card_counts_and_where_to_start(monkeypatch, tmp_path, tiny_model_dir):
    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    ids = add_real_sounds(db, tmp_path / "audio", 3)
    TagStore(db).label(ids[0], remove=["piano"], user="ana")
    at = open_page()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sounds in the store"] == "3"
    assert metrics["Reviewed by a person"] == "1"
    assert metrics["Not reviewed yet"] == "2"
    page = plain(at)
    assert "tiny-test@0" in page
    assert "Random weights, for tests only." in page  # the model card
    assert len(at.get("page_link")) == 4


def test_empty_store_and_missing_model_raise_nothing(monkeypatch, tmp_path):
    point_app_at(monkeypatch, tmp_path, model_dir=None)
    at = open_page()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Sounds in the store"] == "0"
    assert "No trained model" in plain(at, ("warning",))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_an_empty_store_and_no_model(monkeypatch, tmp_path, page):
    point_app_at(monkeypatch, tmp_path, model_dir=None)
    at = open_page(None if page == "home" else page)
    assert not at.exception


def test_the_key_is_shown_masked_and_never_in_full(monkeypatch, tmp_path, tiny_model_dir):
    point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    at = open_page(secrets={"FREESOUND_API_KEY": KEY})
    page = plain(at)
    assert KEY not in page
    assert mask_secret(KEY) in page and "(from the Streamlit secret)" in page
    assert KEY not in str(dict(at.session_state.items()))


def test_the_key_from_the_environment_and_no_key(monkeypatch, tmp_path, tiny_model_dir):
    point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    monkeypatch.setenv("FREESOUND_API_KEY", KEY)
    page = plain(open_page())
    assert mask_secret(KEY) in page and "(from the environment variable)" in page
    monkeypatch.delenv("FREESOUND_API_KEY")
    at = open_page()
    assert "(not set)" in plain(at) and "FREESOUND_API_KEY" in plain(at, ("info",))


def test_settings_name_the_paths_in_use(monkeypatch, tmp_path, tiny_model_dir):
    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    page = plain(open_page())
    assert str(db) in page and str(tiny_model_dir) in page


def test_the_reviewer_name_is_used_for_corrections(monkeypatch, tmp_path, tiny_model_dir):
    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    (sid,) = add_real_sounds(db, tmp_path / "audio", 1)
    at = open_page()
    at.text_input(key="home_user").set_value("maria").run()
    at.switch_page("../pages/feed.py").run()
    click_row(at, "feed", sid, "piano_remove")
    assert [c.user for c in TagStore(db).history(sid)] == ["maria"]


@pytest.mark.parametrize(("secret", "shown"), [
    (None, "(not set)"), ("", "(not set)"), ("short", "••••••••"),
    ("a-much-longer-api-key-1234", "••••••••1234"),
])
def test_mask_secret(secret, shown):
    assert mask_secret(secret) == shown


def test_the_models_test_figures_are_shown(monkeypatch, tmp_path):
    from core.modeldir import write_metrics
    from tests.conftest import make_model_dir

    model = make_model_dir(tmp_path / "model")
    write_metrics(model, {"roc_auc_macro": 0.912, "roc_auc_micro": 0.95, "pr_auc_macro": 0.4,
                          "pr_auc_micro": 0.5, "subset_accuracy": 0.2, "n_clips": 1234,
                          "data": "/x/spec_tags_top_1000_val"})
    point_app_at(monkeypatch, tmp_path, model)
    at = open_page()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["ROC-AUC macro"] == "0.912" and metrics["subset accuracy"] == "0.200"
    assert "1234 clips of `spec_tags_top_1000_val`" in plain(at, ("caption",))


def test_an_ensemble_says_how_many_networks_it_averages(monkeypatch, tmp_path):
    from dataclasses import replace

    from tests.conftest import TINY_DIMS, make_model_dir

    for dims, shown in ((TINY_DIMS, "preset `custom` · 1000 tags"),
                        (replace(TINY_DIMS, members=3), "preset `custom` × 3 (an ensemble) · 1000 tags")):
        point_app_at(monkeypatch, tmp_path, make_model_dir(tmp_path / f"m{dims.members}", dims))
        at = open_page()
        assert not at.exception and shown in plain(at)
