"""The store's side of review: put back and take back restore the prior state, the tag filter
counts a sound's final tags, typed tags are refused when too long, words inside a tag suggested."""

from __future__ import annotations

import pytest

from core.store import SoundInfo, SoundQuery, TagStore
from core.store.vocabulary import MAX_TAG_CHARS, normalize_tag, suggest


@pytest.fixture
def store(tmp_path) -> TagStore:
    s = TagStore(tmp_path / "t.duckdb")
    preds = [("piano", 0.9), ("note", 0.7), ("percussion", 0.18)]
    for i in range(3):
        s.add_sound(SoundInfo(source="folder", name=f"s{i}", audio_path=None,
                              content_hash=f"h{i}", duration_s=1.0), preds, "m@1")
    return s


def test_put_back_a_removed_prediction_is_no_confirmation(store):
    store.label(1, remove=["piano"], user="ann")
    result = store.take_back(1, "piano", user="ann")
    labels = store.labels(1)
    assert result.recorded == [("reset", "piano")]
    assert "piano" in labels.final and labels.confirmed == [] and labels.removed == []
    assert not labels.reviewed  # nothing of a person's is left on it
    assert store.undo(1, user="ann")  # Undo takes the put-back back: removed again
    assert store.labels(1).removed == ["piano"]


def test_put_back_restores_a_confirmation_it_removed(store):
    store.label(1, confirm=["percussion"], user="ann")
    store.label(1, remove=["percussion"], user="ann")
    store.take_back(1, "percussion", user="ann")
    labels = store.labels(1)
    assert labels.confirmed == ["percussion"] and "percussion" in labels.final


def test_taking_back_your_own_addition_leaves_no_removed_tag(store, tmp_path):
    store.label(1, add=["guitar"], user="ann")
    assert store.take_back(1, "guitar", user="bob", mine_only=True) is None  # not bob's
    store.take_back(1, "guitar", user="ann", mine_only=True)
    labels = store.labels(1)
    assert "guitar" not in labels.final and labels.removed == [] and labels.added == []
    rows = store.label_rows()
    assert rows[0].labels.removed == []  # what the export reads
    assert store.stats()["reviewed"] == 0


def test_tag_filter_counts_final_tags_at_the_threshold(store):
    assert store.count_sounds(SoundQuery(tag="percussion")) == 0  # 0.18 is below 0.5
    assert store.count_sounds(SoundQuery(tag="percussion", threshold=0.15)) == 3
    store.label(2, confirm=["percussion"])
    assert store.count_sounds(SoundQuery(tag="percussion")) == 1
    store.label(3, remove=["piano"])
    assert store.count_sounds(SoundQuery(tag="piano")) == 2  # removed by a person: not counted


def test_overlong_tag_is_refused_not_cut(store):
    with pytest.raises(ValueError, match=f"at most {MAX_TAG_CHARS} characters"):
        store.label(1, add=["a" * 500])
    assert store.labels(1).added == []
    assert normalize_tag("b" * MAX_TAG_CHARS).tag == "b" * MAX_TAG_CHARS


def test_words_inside_a_tag_are_suggested():
    assert normalize_tag("door creak").tag == "door-creak"
    assert suggest("door creak")[:2] == ["door", "creak"]
