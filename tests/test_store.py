"""The tag store's behaviour, on real DuckDB files in temp folders."""

from __future__ import annotations

import pytest

from core.store import (
    SoundInfo,
    SoundNotFoundError,
    SoundQuery,
    TagStore,
    default_db_path,
    file_hash,
)
from tests.audio_factory import make_tone_file

PREDICTIONS = [("piano", 0.93), ("drum", 0.62), ("bas", 0.41), ("guitar", 0.12)]


def sound(i: int = 0, source: str = "upload", **kw) -> SoundInfo:
    fields = dict(source=source, name=f"sound {i}.wav", audio_path=f"/audio/{i}.wav",
                  content_hash=f"hash-{i}", duration_s=1.5)
    fields.update(kw)
    return SoundInfo(**fields)


@pytest.fixture
def store(tmp_path) -> TagStore:
    return TagStore(tmp_path / "tags.duckdb")


def test_sound_and_predictions_are_stored_together(store):
    sid, is_new = store.add_sound(sound(1, freesound_id=None), PREDICTIONS, "tiny@1")
    assert is_new
    got = store.get_sound(sid)
    assert (got.id, got.name, got.source, got.content_hash) == (sid, "sound 1.wav", "upload",
                                                                 "hash-1")
    assert got.added_at is not None
    labels = store.labels(sid)
    assert labels.model == "tiny@1"
    assert labels.predicted == PREDICTIONS
    assert labels.final == ["piano", "drum"]  # at or above 0.5
    assert not labels.reviewed


def test_same_audio_is_stored_once(store):
    first, new1 = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    again, new2 = store.add_sound(sound(1, name="renamed.wav"), [("cat", 0.9)], "tiny@1")
    assert (again, new1, new2) == (first, True, False)
    assert store.stats()["sounds"] == 1
    assert store.labels(first).predicted == PREDICTIONS  # same model: not predicted twice


def test_a_newer_model_adds_its_predictions_and_becomes_current(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    store.add_sound(sound(1), [("cat", 0.8), ("dog", 0.3)], "tiny@2")
    labels = store.labels(sid)
    assert labels.model == "tiny@2"
    assert labels.final == ["cat"]
    assert store.stats()["predictions"] == len(PREDICTIONS) + 2


def test_freesound_metadata_round_trips(store):
    info = sound(7, source="freesound", freesound_id=123456, username="someone",
                 license="http://creativecommons.org/licenses/by/4.0/",
                 url="https://freesound.org/s/123456/", description="A piano.",
                 created_at="2024-05-06T12:34:56.789", original_tags=("Piano", "keys", "C4"),
                 patch_start=36, analysed_s=12.5)
    sid, _ = store.add_sound(info, PREDICTIONS, "tiny@1")
    got = store.get_sound(sid)
    for field in ("freesound_id", "username", "license", "url", "description", "created_at",
                  "original_tags", "patch_start", "analysed_s"):
        assert getattr(got, field) == getattr(info, field), field
    assert store.has_freesound_id(123456)
    assert not store.has_freesound_id(654321)


def test_invalid_sounds_are_refused_before_writing(store):
    with pytest.raises(ValueError, match="source"):
        sound(1, source="somewhere")
    with pytest.raises(ValueError, match="content_hash"):
        sound(1, content_hash="")
    assert store.stats()["sounds"] == 0


def test_corrections_change_the_final_labels(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    result = store.label(sid, add=["Bass", "808"], remove=["drum"], confirm=["guitar"],
                         user="ana")
    assert result.recorded == [("add", "bas"), ("add", "808"), ("remove", "drum"),
                               ("confirm", "guitar")]
    assert result.out_of_vocabulary == ["808"]
    labels = result.labels
    assert labels.added == ["bas", "808"]
    assert labels.removed == ["drum"]
    assert labels.confirmed == ["guitar"]
    # predictions kept by score (guitar is confirmed although below 0.5), then the additions
    assert labels.final == ["piano", "guitar", "bas", "808"]
    assert labels.reviewed
    assert labels.out_of_vocabulary == ["808"]
    assert store.labels(sid) == labels


def test_the_last_action_on_a_tag_wins(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    store.label(sid, remove=["piano"], user="ana")
    store.label(sid, add=["piano"], user="bob")
    labels = store.labels(sid)
    assert "piano" in labels.final and labels.added == ["piano"] and labels.removed == []


def test_the_threshold_decides_which_predictions_count(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    assert store.labels(sid, threshold=0.4).final == ["piano", "drum", "bas"]
    assert store.labels(sid, threshold=0.95).final == []


def test_typed_tags_are_normalized_and_unusable_ones_reported(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    result = store.label(sid, add=["Drums", "the", "!!!", "guitr"], user="ana")
    assert result.recorded == [("add", "drum"), ("add", "guitr")]
    assert result.ignored == ["the", "!!!"]
    assert "guitar" in result.suggestions["guitr"]
    history = store.history(sid)
    assert [(c.tag, c.original, c.in_vocabulary) for c in history] == [
        ("drum", "Drums", True), ("guitr", "guitr", False)]


def test_contradictory_or_malformed_requests_are_refused(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    with pytest.raises(ValueError, match="both added and removed"):
        store.label(sid, add=["drums"], remove=["drum"])
    with pytest.raises(TypeError, match="list of tags"):
        store.label(sid, add="piano")
    with pytest.raises(SoundNotFoundError):
        store.label(sid + 100, add=["piano"])
    assert store.history(sid) == []


def test_undo_takes_back_the_users_last_correction_as_new_history(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    store.label(sid, add=["cat"], user="ana")
    store.label(sid, remove=["piano"], add=["dog"], user="ana")
    store.label(sid, add=["bird"], user="bob")
    assert store.undo(sid, user="ana")
    labels = store.labels(sid)
    assert labels.added == ["cat", "bird"] and "piano" in labels.final  # bob's change stays
    assert store.undo(sid, user="ana")
    assert store.labels(sid).added == ["bird"]
    assert not store.undo(sid, user="ana")  # nothing left to take back
    history = store.history(sid)
    assert [(c.user, c.action, c.tag, c.undone) for c in history] == [
        ("ana", "add", "cat", True), ("ana", "add", "dog", True), ("ana", "remove", "piano", True),
        ("bob", "add", "bird", False),
        ("ana", "undo", "dog", False), ("ana", "undo", "piano", False),
        ("ana", "undo", "cat", False)]
    assert [c.id for c in history] == sorted(c.id for c in history)


def test_undoing_everything_makes_the_sound_unreviewed_again(store):
    sid, _ = store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    store.label(sid, confirm=["piano"])
    assert store.labels(sid).reviewed
    store.undo(sid)
    assert not store.labels(sid).reviewed
    assert store.stats()["reviewed"] == 0


def test_find_sound_by_id_path_or_hash(store, tmp_path):
    audio = make_tone_file(tmp_path / "a.wav")
    info = sound(1, audio_path=str(audio.resolve()), content_hash=file_hash(audio))
    sid, _ = store.add_sound(info, PREDICTIONS, "tiny@1")
    assert store.find_sound(sid).id == sid
    assert store.find_sound(str(sid)).id == sid
    assert store.find_sound(str(audio)).id == sid
    copy = tmp_path / "elsewhere" / "same.wav"
    copy.parent.mkdir()
    copy.write_bytes(audio.read_bytes())
    assert store.find_sound(copy).id == sid  # same audio under another name
    assert store.find_sound(file_hash(audio)).id == sid
    assert store.find_sound(sid + 1) is None
    assert store.find_sound(tmp_path / "missing.wav") is None
    with pytest.raises(SoundNotFoundError):
        store.get_sound(sid + 1)


def _fill(store, n: int = 30) -> list[int]:
    items = []
    for i in range(n):
        score = 0.5 + (i - n / 2) / (2 * n)  # some near 0.5, some far
        items.append((sound(i, source=("upload", "folder", "freesound")[i % 3],
                            freesound_id=i if i % 3 == 2 else None),
                      [("piano" if i % 2 else "drum", score), ("cat", 0.05)], "tiny@1"))
    return [sid for sid, _ in store.add_sounds(items)]


def test_listing_filters_sorts_and_pages_in_sql(store):
    ids = _fill(store, 30)
    store.label(ids[0], add=["bass"])
    store.label(ids[1], confirm=["piano"])
    assert store.count_sounds(SoundQuery(reviewed=True)) == 2
    assert store.count_sounds(SoundQuery(reviewed=False)) == 28
    assert store.count_sounds(SoundQuery(source="freesound")) == 10
    assert {r.id for r in store.list_sounds(SoundQuery(tag="bass"))} == {ids[0]}
    # the tag filter counts final tags: piano at or above 0.5 (8 sounds), or confirmed (ids[1])
    assert store.count_sounds(SoundQuery(tag="piano")) == 9
    assert store.count_sounds(SoundQuery(tag="piano", threshold=0.01)) == 15
    newest = store.list_sounds(SoundQuery(limit=10))
    assert [r.id for r in newest] == sorted(ids, reverse=True)[:10]
    pages = [store.list_sounds(SoundQuery(limit=7, offset=o)) for o in range(0, 30, 7)]
    assert sorted(r.id for p in pages for r in p) == sorted(ids)  # no gaps, no repeats
    unsure = store.list_sounds(SoundQuery(sort="uncertain", limit=30))
    gaps = [r.uncertainty for r in unsure]
    assert gaps == sorted(gaps) and gaps[0] < 0.02
    first = store.list_sounds(SoundQuery(reviewed=True, sort="oldest"))
    assert [r.id for r in first] == ids[:2] and first[0].final == ["bas"]


def test_a_page_of_sounds_is_read_at_once(store):
    ids = _fill(store, 12)
    assert store.count_sounds() == store.count_sounds(SoundQuery(sort="uncertain")) == 12
    page = store.list_sounds(SoundQuery(limit=5))
    sounds = store.get_sounds([r.id for r in page] + [max(ids) + 100])  # one id is not there
    assert sorted(sounds) == sorted(r.id for r in page)
    assert all(sounds[r.id] == store.get_sound(r.id) for r in page)
    assert store.get_sounds([]) == {}


def test_stats_count_what_a_user_sees(store):
    ids = _fill(store, 6)
    store.label(ids[0], add=["bass", "cat"])
    store.label(ids[1], add=["dog"], user="bob")
    store.undo(ids[1], user="bob")
    stats = store.stats()
    assert stats == {"sounds": 6, "reviewed": 1, "corrections": 3, "undos": 1,
                     "predictions": 12, "by_source": {"folder": 2, "freesound": 2, "upload": 2}}


def test_everything_survives_reopening(tmp_path):
    path = tmp_path / "tags.duckdb"
    first = TagStore(path)
    sid, _ = first.add_sound(sound(1), PREDICTIONS, "tiny@1")
    first.label(sid, add=["cat"], user="ana")
    again = TagStore(path)
    assert again.labels(sid).added == ["cat"]
    assert again.schema_version == first.schema_version


def test_default_db_path_follows_tagger_db(monkeypatch, tmp_path):
    monkeypatch.delenv("TAGGER_DB", raising=False)
    assert default_db_path().parts[-2:] == ("data", "tags.duckdb")
    monkeypatch.setenv("TAGGER_DB", str(tmp_path / "elsewhere.duckdb"))
    assert default_db_path() == tmp_path / "elsewhere.duckdb"
    store = TagStore()
    store.add_sound(sound(1), PREDICTIONS, "tiny@1")
    assert (tmp_path / "elsewhere.duckdb").is_file()
