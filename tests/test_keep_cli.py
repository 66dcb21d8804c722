"""`python -m core keep PATH...`: keep files in the library as the upload page does, from a real
process, into a real DuckDB file, with a real (tiny) model."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from core.settings import ENV
from core.store import SoundQuery, TagStore
from tests.audio_factory import make_tone_file

ROOT = Path(__file__).resolve().parent.parent


def keep_cli(*args, db: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    env.update(TAGGER_DB=str(db), PYTHONPATH=str(ROOT))  # the copies follow the database
    return subprocess.run([sys.executable, "-m", "core", "keep", *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)


def test_keep_copies_tags_and_stores_each_file_once(tmp_path, tiny_model_dir):
    db = tmp_path / "store" / "tags.duckdb"
    a = make_tone_file(tmp_path / "in" / "a.wav", 2.0)
    make_tone_file(tmp_path / "in" / "b.ogg", 1.5, freq=880)
    broken = tmp_path / "in" / "broken.mp3"
    broken.write_bytes(b"not audio at all" * 100)
    done = keep_cli(tmp_path / "in", "--json", "--model", tiny_model_dir, db=db)
    assert done.returncode == 1, done.stderr  # one file could not be kept
    rows = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert rows["a.wav"]["new"] and rows["b.ogg"]["new"] and "error" in rows["broken.mp3"]
    assert "1 of 3 files could not be kept" in done.stderr

    store = TagStore(db)
    sounds = {s.name: s for s in store.list_sounds(SoundQuery(limit=None))}
    assert set(sounds) == {"a.wav", "b.ogg"}
    sha = hashlib.sha256(a.read_bytes()).hexdigest()
    copy = db.parent / "audio" / "uploads" / f"{sha}.wav"
    assert copy.read_bytes() == a.read_bytes()
    kept = store.get_sound(rows["a.wav"]["sound_id"])
    assert kept.source == "upload" and kept.audio_path == str(copy.resolve())
    labels = store.labels(kept.id)
    assert len(labels.predicted) == 20 and labels.model == "tiny-test@0"  # the settings' number

    again = keep_cli(a, "--model", tiny_model_dir, db=db)
    assert again.returncode == 0, again.stderr
    assert f"already in the library as sound {kept.id}" in again.stdout
    assert store.count_sounds() == 2


def test_keep_without_files_or_model_says_so_in_one_line(tmp_path):
    db = tmp_path / "tags.duckdb"
    empty = keep_cli(tmp_path, db=db)
    assert empty.returncode == 2 and empty.stderr.startswith("error: no audio files")
    f = make_tone_file(tmp_path / "a.wav")
    no_model = keep_cli(f, "--model", tmp_path / "no-model", db=db)
    assert no_model.returncode == 2 and "No trained model" in no_model.stderr
    assert "Traceback" not in no_model.stderr
