"""The feed page's review workflow (AppTest): put back and take back, the tag filter, typed tags
that are too long or hold vocabulary words, the review queue."""

from __future__ import annotations

import pytest

from core.store import TagStore
from tests.app_fixtures import add_real_sounds, open_page, plain


@pytest.fixture
def app_env(monkeypatch, tmp_path, tiny_model_dir):
    from tests.app_fixtures import point_app_at

    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    return db, tmp_path / "audio"


def button(at, key: str):
    (found,) = [b for b in at.button if b.key == key]
    return found


def test_put_back_restores_the_prediction_and_is_no_confirmation(app_env):
    db, audio = app_env
    (sid,) = add_real_sounds(db, audio, 1)
    at = open_page("feed")
    button(at, f"feed_{sid}_piano_remove").click().run()
    button(at, f"feed_{sid}_piano_restore").click().run()
    assert not at.exception
    labels = TagStore(db).labels(sid)
    assert "piano" in labels.final and labels.confirmed == [] and labels.removed == []
    assert "Not reviewed yet" in plain(at)


def test_removing_your_own_added_tag_takes_it_back(app_env):
    db, audio = app_env
    (sid,) = add_real_sounds(db, audio, 1)
    at = open_page("feed")
    at.multiselect(key=f"feed_{sid}_add").set_value(["guitar"]).run()
    button(at, f"feed_{sid}_guitar_remove").click().run()
    assert not at.exception
    labels = TagStore(db).labels(sid)
    assert labels.removed == [] and "guitar" not in labels.final
    assert "guitar" not in plain(at)  # no struck-through row left behind
    assert TagStore(db).label_rows()[0].labels.removed == []  # nor in the export


def test_tag_filter_matches_final_tags_at_the_threshold(app_env):
    db, audio = app_env
    ids = add_real_sounds(db, audio, 3)  # bell scores 0.45 on every sound: below 0.5
    at = open_page("feed")
    assert not at.selectbox(key="feed_tag").proto.accept_new_options  # Enter takes a real tag
    at.selectbox(key="feed_tag").set_value("bell").run()
    assert "No sound matches these filters" in plain(at)
    TagStore(db).label(ids[1], confirm=["bell"])
    at.selectbox(key="feed_tag").set_value("piano").run()
    at.selectbox(key="feed_tag").set_value("bell").run()
    assert "1 sound ·" in plain(at) and "tone number 1" in plain(at)


def test_a_tag_of_vocabulary_words_suggests_them_and_a_long_tag_is_refused(app_env):
    db, audio = app_env
    (sid,) = add_real_sounds(db, audio, 1)
    at = open_page("feed")
    at.multiselect(key=f"feed_{sid}_add").set_value(["door creak"]).run()
    assert "close vocabulary tags: door, creak" in plain(at, ("warning",))
    at.multiselect(key=f"feed_{sid}_add").set_value(["x" * 500]).run()
    assert not at.exception
    error = plain(at, ("error",))
    assert "Not saved" in error and "at most 100 characters" in error and "500" in error
    assert TagStore(db).labels(sid).added == ["door-creak"]
