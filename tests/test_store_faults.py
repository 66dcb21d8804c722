"""A broken store file gives one clear line and exit code 2, never a traceback, and is left as it was.

The files are real: a store whose blocks were overwritten (corrupt), a text file, a store that
cannot be written, a store on a full disk, a store another process holds. Read-only is made with
`chattr +i` when running as root (root writes through chmod), else with chmod; a full disk is a
real 4 MB tmpfs (root only: skipped elsewhere).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import main
from core.store import TagStore, connection
from tests.audio_factory import make_tone_file
from tests.store_files import corrupt, digest, good_store, make_read_only, undo_read_only
from tests.test_store_concurrency import HOLDER, spawn, wait_for_line

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def broken(request, tmp_path, monkeypatch):
    """(kind, store file, a real audio file) for kind in corrupt, text, read-only."""
    monkeypatch.delenv("TAGGER_DB", raising=False)
    audio = make_tone_file(tmp_path / "a.wav")
    db = tmp_path / "store" / "tags.duckdb"
    db.parent.mkdir()
    kind = request.param
    if kind == "text":
        db.write_text("my notes, saved under the wrong name\n")
    else:
        good_store(db, audio)
        corrupt(db) if kind == "corrupt" else make_read_only(db)
    yield kind, db, audio
    if kind == "read-only":
        undo_read_only(db)


def command(name: str, db: Path, audio: Path, model: Path, tmp_path: Path) -> list[str]:
    return {"tag": ["tag", str(audio), "--model", str(model)],
            "label": ["label", "1", "--add", "bell"],
            "export": ["export", "--format", "csv", "--out", str(tmp_path / "out.csv")],
            }[name] + ["--db", str(db)]


def one_error_line(capsys, db: Path) -> str:
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("error: ") and str(db) in lines[0] and "Traceback" not in out.err
    return lines[0]


WHAT_TO_DO = {"corrupt": "restore it from a backup", "text": "not a tag store",
              "read-only": "check the permissions"}


@pytest.mark.parametrize("broken", ["corrupt", "text", "read-only"], indirect=True)
@pytest.mark.parametrize("name", ["tag", "label", "export"])
def test_a_broken_store_gives_one_line_and_exit_code_2(broken, name, tiny_model_dir, tmp_path,
                                                       capsys):
    kind, db, audio = broken
    before = digest(db)
    assert main(command(name, db, audio, tiny_model_dir, tmp_path)) == 2
    assert WHAT_TO_DO[kind] in one_error_line(capsys, db)
    assert digest(db) == before
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("broken", ["text"], indirect=True)
def test_no_traceback_reaches_a_real_terminal(broken):
    _, db, _ = broken
    r = subprocess.run([sys.executable, "-m", "core", "label", "1", "--add", "bell", "--db", str(db)],
                       capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "not a tag store" in r.stderr, r.stderr


@pytest.fixture
def full_disk(tmp_path):
    """A real 4 MB tmpfs holding a store, then filled to the last byte."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                                            str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        audio = make_tone_file(tmp_path / "a.wav")
        db = good_store(mount / "tags.duckdb", audio)
        with open(mount / "filler", "wb") as f, pytest.raises(OSError):
            while True:
                f.write(bytes(1 << 16))
        yield db, audio
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("name", ["tag", "label"])
def test_a_full_disk_gives_one_line_and_exit_code_2(full_disk, name, tiny_model_dir, tmp_path,
                                                    capsys, monkeypatch):
    monkeypatch.delenv("TAGGER_DB", raising=False)
    db, audio = full_disk
    before = digest(db)
    if name == "tag":  # a new sound: the first write comes after the file was opened
        audio = make_tone_file(tmp_path / "new.wav", freq=1234.0)
    assert main(command(name, db, audio, tiny_model_dir, tmp_path)) == 2
    assert "is full" in one_error_line(capsys, db)
    assert digest(db) == before


def test_a_store_held_by_another_program_gives_one_line_and_exit_code_2(tmp_path, capsys,
                                                                        monkeypatch):
    db = good_store(tmp_path / "tags.duckdb", make_tone_file(tmp_path / "a.wav"))
    # Wait 1 s instead of the default 30 s for the other program.
    monkeypatch.setattr(connection, "RetryPolicy",
                        functools.partial(connection.RetryPolicy, deadline_s=1.0))
    holder = spawn(HOLDER, db, 30)
    try:
        wait_for_line(holder, "holding")
        before = digest(db)
        assert main(["label", "1", "--add", "bell", "--db", str(db)]) == 2
        assert "close it" in one_error_line(capsys, db)
        assert digest(db) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_backup_onto_a_full_disk_says_so_and_leaves_nothing(full_disk, tmp_path, capsys):
    db, _ = full_disk
    out = db.parent / "backup.duckdb"
    assert main(["store", "backup", "--db", str(db), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"could not write the backup {out}" in err
    assert sorted(p.name for p in db.parent.iterdir()) == ["filler", "tags.duckdb"]


def test_a_missing_sound_is_a_store_error_too(tmp_path):
    from core.store import SoundNotFoundError, StoreError

    store = TagStore(good_store(tmp_path / "tags.duckdb", make_tone_file(tmp_path / "a.wav")))
    with pytest.raises(StoreError, match="no sound with id 99") as caught:
        store.get_sound(99)
    assert isinstance(caught.value, SoundNotFoundError) and isinstance(caught.value, LookupError)
