"""The upload page (AppTest, real file uploads): tag, refuse, keep in the library, correct."""

from __future__ import annotations

import hashlib

import pytest

from app.tag_editor import add_box_key
from app.upload import MAX_UPLOAD_BYTES, UPLOAD_LIMIT_MB, refusal
from core.settings import PREDICTIONS_KEPT
from core.store import TagStore
from tests.app_fixtures import click_row, open_page, plain, point_app_at, streamlit_config
from tests.audio_factory import make_tone_file


@pytest.fixture
def app_env(monkeypatch, tmp_path, tiny_model_dir):
    return point_app_at(monkeypatch, tmp_path, tiny_model_dir)


def wav_bytes(tmp_path, name="tone.wav", seconds=2.0, freq=440.0) -> bytes:
    return make_tone_file(tmp_path / "src" / name, seconds=seconds, freq=freq).read_bytes()


def upload(at, *files):
    at.file_uploader(key="upload_files").set_value(list(files)).run()
    assert not at.exception
    return at


def test_without_files_the_page_explains_the_limits(app_env):
    at = open_page("upload")
    assert not at.exception
    page = plain(at)
    assert f"at most {UPLOAD_LIMIT_MB} MB per file" in page
    assert "first 60 s are analysed" in page
    assert set(at.file_uploader(key="upload_files").allowed_type) >= {
        ".wav", ".flac", ".ogg", ".opus", ".mp3"}


def test_the_stated_limit_is_the_servers_limit():
    assert streamlit_config()["server"]["maxUploadSize"] == UPLOAD_LIMIT_MB


def test_missing_model_is_a_clear_message(monkeypatch, tmp_path):
    point_app_at(monkeypatch, tmp_path, model_dir=None)
    at = open_page("upload")
    assert not at.exception
    assert "No trained model" in plain(at, ("warning",))


def test_an_upload_shows_spectrogram_player_and_scored_tags(app_env, tmp_path):
    at = upload(open_page("upload"), ("tone.wav", wav_bytes(tmp_path), "audio/wav"))
    assert len(at.image) == 1 and len(at.get("audio")) == 1
    bars = [p.text for p in at.progress]
    assert len(bars) >= 5 and all(" · " in b for b in bars)
    assert "2.0 s analysed in full" in plain(at)
    assert at.button(key=f"upload_{hashlib.sha256(wav_bytes(tmp_path)).hexdigest()[:16]}_keep")


def test_a_bad_file_is_refused_with_the_reason_and_the_others_still_tag(app_env, tmp_path):
    # Other extensions never reach the page: Streamlit's uploader refuses them itself (the browser
    # says which types it takes); test_refusal_reasons covers the page's own check.
    at = upload(open_page("upload"),
                ("broken.wav", b"RIFF\x00\x00\x00\x00not really a wave file", "audio/wav"),
                ("good.flac", make_tone_file(tmp_path / "good.flac").read_bytes(), "audio/flac"))
    errors = plain(at, ("error",))
    assert "Failed to decode broken.wav" in errors
    assert "upload-" not in errors and "/tmp" not in errors  # the temp file is not named
    assert len(at.image) == 1  # the good one has its spectrogram
    assert "good.flac" in plain(at)


def test_a_long_file_says_which_part_was_analysed(app_env, tmp_path):
    at = upload(open_page("upload"),
                ("long.flac", make_tone_file(tmp_path / "long.flac", seconds=75.0,
                                             rate=22_050).read_bytes(), "audio/flac"))
    assert "Long file (75.0 s): the first 60 s were analysed" in plain(at)


def test_keep_in_library_stores_the_file_and_its_corrections(app_env, tmp_path):
    db = app_env
    data = wav_bytes(tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    at = upload(open_page("upload"), ("my sound.wav", data, "audio/wav"))
    at.button(key=f"upload_{sha[:16]}_keep").click()
    at.run()
    assert not at.exception
    sound = TagStore(db).find_sound(sha)
    assert sound is not None and sound.source == "upload" and sound.name == "my sound.wav"
    assert sound.audio_path == str(tmp_path / "audio" / "uploads" / f"{sha}.wav")
    assert (tmp_path / "audio" / "uploads" / f"{sha}.wav").read_bytes() == data
    assert "In the library as sound" in plain(at, ("success",))
    predicted = TagStore(db).labels(sound.id).predicted
    assert len(predicted) == PREDICTIONS_KEPT  # one number for uploads, the feed and the CLI
    top = predicted[0][0]
    click_row(at, "upload", sound.id, f"{top}_remove")
    assert top in TagStore(db).labels(sound.id).removed
    at.multiselect(key=add_box_key("upload", sound.id)).set_value(["dogs"]).run()
    assert "dog" in TagStore(db).labels(sound.id).added


def test_the_same_audio_twice_is_tagged_and_shown_once(app_env, tmp_path):
    data = wav_bytes(tmp_path)
    at = upload(open_page("upload"), ("a.wav", data, "audio/wav"), ("b.wav", data, "audio/wav"))
    assert len(at.image) == 1
    assert "b.wav: the same audio as a.wav" in plain(at)


def test_the_threshold_slider_changes_what_counts(app_env, tmp_path):
    at = upload(open_page("upload"), ("tone.wav", wav_bytes(tmp_path), "audio/wav"))
    at.slider(key="upload_threshold").set_value(0.05).run()
    low = [p.text for p in at.progress if "below threshold" not in p.text]
    at.slider(key="upload_threshold").set_value(0.95).run()
    high = [p.text for p in at.progress if "below threshold" not in p.text]
    assert len(low) > len(high)
    assert at.session_state["threshold"] == 0.95  # shared with the feed page


@pytest.mark.parametrize(("name", "size", "expected"), [
    ("a.wav", 10, None), ("a.MP3", 10, None), ("a.m4a", 10, "not an accepted type"),
    ("a.wav", 0, "empty"), ("a.flac", MAX_UPLOAD_BYTES + 1, f"over the {UPLOAD_LIMIT_MB} MB limit"),
])
def test_refusal_reasons(name, size, expected):
    reason = refusal(name, size)
    assert reason is None if expected is None else expected in reason


def test_a_text_file_named_mp3_is_said_to_be_no_audio_in_one_line(app_env, tmp_path):
    at = upload(open_page("upload"), ("notes.mp3", b"my notes\nnot audio at all\n", "audio/mpeg"))
    errors = plain(at, ("error",))
    assert "notes.mp3 cannot be decoded as mp3: it is not mp3 audio" in errors
    assert "does not exist" not in errors and "pipe" not in errors and "\n" not in errors.strip()


def test_analyses_stay_when_another_page_is_visited(app_env, tmp_path):
    at = upload(open_page("upload"), ("tone.wav", wav_bytes(tmp_path), "audio/wav"))
    assert len(at.image) == 1
    at.switch_page("../pages/home.py").run()
    at.switch_page("../pages/upload.py").run()
    assert not at.exception
    assert len(at.image) == 1 and "tone.wav" in plain(at)  # the uploader itself is empty again
    at.button(key="upload_clear").click().run()
    assert len(at.image) == 0 and "Drop one or more sound files" in plain(at)


def test_keep_all_keeps_every_tagged_upload(app_env, tmp_path):
    db = app_env
    at = upload(open_page("upload"),
                ("a.wav", wav_bytes(tmp_path), "audio/wav"),
                ("b.flac", make_tone_file(tmp_path / "b.flac", freq=880.0).read_bytes(),
                 "audio/flac"),
                ("notes.mp3", b"not audio", "audio/mpeg"))
    at.button(key="upload_keep_all").click().run()
    assert not at.exception
    assert TagStore(db).count_sounds() == 2
    assert "Kept 2 files in the library" in plain(at)
