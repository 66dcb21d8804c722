"""`feed --source folder:PATH` and the shipped demo set: no key, no network, a real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from core.__main__ import main
from core.feed import FeedConfig, ingest_folder, load_credits
from core.store import SoundQuery, TagStore, file_hash
from core.tagger import Tagger
from tests.audio_factory import make_tone_file

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"


@pytest.fixture(scope="module")
def tagger(tiny_model_dir) -> Tagger:
    return Tagger(tiny_model_dir, device="cpu")


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "sounds"
    make_tone_file(root / "low.wav", 1.0, freq=110)
    make_tone_file(root / "sub" / "high.flac", 1.5, freq=1760)
    make_tone_file(root / "mid.ogg", 2.0, freq=440)
    credits = {"sounds": [{"file": "sub/high.flac", "name": "A high tone", "freesound_id": 4242,
                           "username": "someone", "license": CC0, "tags": ["tone", "high"],
                           "url": "https://freesound.org/people/someone/sounds/4242/"}]}
    (root / "credits.json").write_text(json.dumps(credits))
    return root


def rows(store: TagStore) -> dict[str, object]:
    return {Path(r.audio_path).name: r for r in store.list_sounds(SoundQuery(limit=None))}


def test_a_folder_is_stored_with_its_credits_and_a_rerun_skips_it(folder, tmp_path, tagger):
    store = TagStore(tmp_path / "t.duckdb")
    summary = ingest_folder(folder, store, tagger)
    assert (summary.fetched, summary.new, summary.failed) == (3, 3, 0)
    stored = rows(store)
    assert set(stored) == {"low.wav", "high.flac", "mid.ogg"}
    high = store.get_sound(stored["high.flac"].id)
    assert (high.source, high.name, high.freesound_id, high.username, high.license) == (
        "folder", "A high tone", 4242, "someone", CC0)
    assert high.original_tags == ("tone", "high")
    assert high.audio_path == str((folder / "sub" / "high.flac").resolve())
    assert high.content_hash == file_hash(folder / "sub" / "high.flac")
    low = store.get_sound(stored["low.wav"].id)
    assert (low.name, low.freesound_id) == ("low", None)  # no credit: the file name
    assert all(len(r.predicted) == 20 for r in stored.values())
    again = ingest_folder(folder, store, tagger)
    assert (again.new, again.skipped) == (0, 3)


def test_the_same_audio_under_another_name_is_not_stored_twice(folder, tmp_path, tagger):
    store = TagStore(tmp_path / "t.duckdb")
    ingest_folder(folder, store, tagger)
    shutil.copy(folder / "low.wav", folder / "copy of low.wav")
    summary = ingest_folder(folder, store, tagger)
    assert (summary.new, summary.skipped) == (0, 4)
    assert len(rows(store)) == 3


def test_a_broken_file_fails_alone_and_is_left_in_place(folder, tmp_path, tagger):
    broken = folder / "broken.wav"
    broken.write_bytes(b"RIFF" + b"\0" * 100)
    store = TagStore(tmp_path / "t.duckdb")
    summary = ingest_folder(folder, store, tagger)
    assert (summary.new, summary.failed) == (3, 1)
    assert "broken.wav" in summary.errors[0]
    assert broken.exists()  # the user's own file is never deleted
    assert "broken.wav" not in rows(store)


def test_a_damaged_credits_file_is_a_clear_error(folder):
    (folder / "credits.json").write_text('{"sounds": [{"name": "no file key"}]}')
    with pytest.raises(ValueError, match="credits.json"):
        load_credits(folder)


def test_feed_command_reads_a_folder_without_a_key(folder, tmp_path, tiny_model_dir, monkeypatch,
                                                    capsys):
    monkeypatch.delenv("FREESOUND_API_KEY", raising=False)
    db = tmp_path / "t.duckdb"
    args = ["feed", "--source", f"folder:{folder}", "--db", str(db), "--model", str(tiny_model_dir)]
    assert main([*args, "--limit", "2"]) == 0
    assert capsys.readouterr().out.startswith("fetched 2, new 2, skipped 0, failed 0")
    assert main([*args, "--if-empty"]) == 0  # the store holds sounds: nothing is loaded
    assert "already holds 2 sounds" in capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("fetched 3, new 1, skipped 2, failed 0")
    assert main([*args[:2], f"folder:{tmp_path / 'nowhere'}", *args[3:]]) == 2
    assert "No such folder" in capsys.readouterr().err


# -- the demo set shipped in data/demo -------------------------------------------------------------
def test_demo_credits_cover_every_file_with_a_freesound_source():
    credits = load_credits(DEMO)
    files = sorted(p.name for p in DEMO.glob("*.ogg"))
    assert 24 <= len(files) <= 30 and sorted(credits) == files
    for name, credit in credits.items():
        fid = credit["freesound_id"]
        assert isinstance(fid, int) and fid > 0, name
        assert credit["license"] == CC0 and credit["username"], name
        assert credit["url"].startswith("https://freesound.org/people/")
        assert credit["url"].endswith(f"/sounds/{fid}/")
        assert str(fid) in (DEMO / "CREDITS.md").read_text()
    assert len({c["freesound_id"] for c in credits.values()}) == len(credits)


def test_demo_files_are_small_ogg_vorbis():
    files = list(DEMO.glob("*.ogg"))
    assert sum(f.stat().st_size for f in files) < 4 * 2**20
    for f in files:
        info = sf.info(str(f))
        assert (info.format, info.subtype) == ("OGG", "VORBIS") and info.duration > 0.1, f.name


def test_the_demo_set_loads_into_a_fresh_store(tmp_path, tagger):
    store = TagStore(tmp_path / "t.duckdb")
    summary = ingest_folder(DEMO, store, tagger, FeedConfig(limit=None))
    n = len(list(DEMO.glob("*.ogg")))
    assert (summary.new, summary.failed) == (n, 0)
    stored = store.list_sounds(SoundQuery(limit=None))
    assert {r.source for r in stored} == {"folder"}
    assert all(r.freesound_id and r.username and len(r.predicted) == 20 for r in stored)
    assert store.has_freesound_id(load_credits(DEMO)["misc_crow.ogg"]["freesound_id"])
