"""Every page of the app with a damaged store file: no exception, the store's message shown with
st.error, and the page goes on where it can (an upload is still tagged, export says why not)."""

from __future__ import annotations

import hashlib

import pytest

from tests.app_fixtures import open_page, plain, point_app_at
from tests.audio_factory import make_tone_file
from tests.store_files import corrupt, good_store

PAGES = ["home", "feed", "upload", "training", "export"]


WHAT_TO_DO = {"corrupt": "restore it from a backup", "text": "not a tag store"}


@pytest.fixture(params=list(WHAT_TO_DO))
def damaged(request, monkeypatch, tmp_path, tiny_model_dir):
    """(kind, db, its sha256): a store whose blocks were overwritten, or a text file."""
    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    if request.param == "text":
        db.write_text("notes\n")
    else:
        good_store(db, make_tone_file(tmp_path / "a.wav"))
        corrupt(db)
    return request.param, db, hashlib.sha256(db.read_bytes()).hexdigest()


def shows_the_store_error(at, kind: str, db) -> str:
    assert not at.exception, at.exception
    errors = plain(at, ("error",))
    assert str(db) in errors and WHAT_TO_DO[kind] in errors, plain(at)
    return errors


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_shows_the_store_error(damaged, page):
    kind, db, before = damaged
    shows_the_store_error(open_page(page), kind, db)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_uploads_are_still_tagged(damaged, tmp_path):
    kind, db, _ = damaged
    at = open_page("upload")
    data = make_tone_file(tmp_path / "src" / "tone.wav").read_bytes()
    at.file_uploader(key="upload_files").set_value([("tone.wav", data, "audio/wav")]).run()
    assert "cannot be kept in the library" in shows_the_store_error(at, kind, db)
    assert len(at.image) == 1 and len([p for p in at.progress if " · " in p.text]) >= 5
    assert not [b for b in at.button if b.label == "Keep in library"]


def test_export_says_why_it_cannot_and_training_still_starts(damaged):
    kind, db, _ = damaged
    assert "Nothing can be exported" in shows_the_store_error(open_page("export"), kind, db)
    at = open_page("training")
    assert "corrections cannot be exported" in shows_the_store_error(at, kind, db)
    assert at.button(key="training_export_corrections").disabled
    assert [b for b in at.button if b.label == "Start training"]
