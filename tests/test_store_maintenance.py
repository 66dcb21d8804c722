"""`python -m core store check` and `store backup` on real store files."""

from __future__ import annotations

import os

import duckdb
import pytest

from core.__main__ import main
from core.store import SoundInfo, TagStore
from core.store.schema import SCHEMA_VERSION
from tests.audio_factory import make_tone_file
from tests.store_files import digest, good_store, make_read_only, undo_read_only

HEADER_BYTES = 3 * 4096  # DuckDB's file header and its two database headers precede block 0


def many_sounds(path, n: int) -> TagStore:
    store = TagStore(path)
    store.add_sounds([(SoundInfo(source="folder", name=f"s{i}", audio_path=f"/x/{i}.wav",
                                 content_hash=f"h{i}", duration_s=1.0),
                       [(f"t{j}", 0.5) for j in range(20)], "m@0") for i in range(n)])
    store.label(1, add=["bell"], user="ana")
    return store


def test_check_reports_version_counts_and_reads_every_block(tmp_path, capsys):
    db = good_store(tmp_path / "tags.duckdb", make_tone_file(tmp_path / "a.wav"))
    TagStore(db).label(1, add=["bell"], user="ana")
    assert main(["store", "check", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"schema version {SCHEMA_VERSION} (current)" in out
    assert "counts: sounds 1, reviewed 1, corrections 1, undos 0, predictions 2" in out
    assert "block_size 262144" in out and "table predictions: 2 rows" in out
    assert out.strip().endswith("integrity: ok")


def test_check_finds_a_damaged_block_that_opening_and_counting_do_not_read(tmp_path, capsys):
    db = tmp_path / "big.duckdb"
    many_sounds(db, 8000)
    with duckdb.connect(str(db), read_only=True) as con:
        block, size = con.execute(
            "SELECT max(block_id), any_value(block_size) FROM pragma_storage_info('predictions'), "
            "pragma_database_size()").fetchone()
    with open(db, "r+b") as f:  # inside the last block of predictions
        f.seek(HEADER_BYTES + block * size + 100)
        f.write(os.urandom(64))
    assert TagStore(db).stats()["predictions"] == 8000 * 20  # opened and counted: not noticed
    assert main(["store", "check", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is damaged" in err and "restore it from a backup" in err


def test_backup_is_a_whole_copy_that_passes_the_check(tmp_path, capsys):
    db = tmp_path / "tags.duckdb"
    store = many_sounds(db, 300)
    out = tmp_path / "backups" / "before-upgrade.duckdb"
    out.parent.mkdir()
    assert main(["store", "backup", "--db", str(db), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    copy = TagStore(out)
    assert copy.stats() == store.stats()
    assert copy.labels(1).added == ["bell"] and copy.history(1)[0].user == "ana"
    assert main(["store", "check", "--db", str(out)]) == 0
    assert not list(out.parent.glob(".*partial*"))


def test_check_and_backup_work_on_a_store_that_cannot_be_written(tmp_path, capsys):
    db = good_store(tmp_path / "store" / "tags.duckdb", make_tone_file(tmp_path / "a.wav"))
    before = digest(db)
    make_read_only(db)
    try:
        assert main(["store", "check", "--db", str(db)]) == 0
        assert main(["store", "backup", "--db", str(db), "--out", str(tmp_path / "b.duckdb")]) == 0
    finally:
        undo_read_only(db)
    assert digest(db) == before and TagStore(tmp_path / "b.duckdb").stats()["sounds"] == 1


@pytest.mark.parametrize("target", ["itself", "under a file"])
def test_backup_refuses_what_it_cannot_do_in_one_line(tmp_path, capsys, target):
    db = good_store(tmp_path / "tags.duckdb", make_tone_file(tmp_path / "a.wav"))
    out = db if target == "itself" else tmp_path / "a.wav" / "b.duckdb"  # no folder can be made
    before = digest(db)
    assert main(["store", "backup", "--db", str(db), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(out) in err
    assert digest(db) == before


def test_an_old_file_is_checked_and_backed_up_without_being_upgraded(tmp_path, capsys):
    from tests.test_store_migrations import make_v1_file

    db = tmp_path / "old.duckdb"
    make_v1_file(db)
    before = digest(db)
    assert main(["store", "check", "--db", str(db)]) == 0
    assert (f"schema version 1 (older: migrated to {SCHEMA_VERSION} on the next write)"
            in capsys.readouterr().out)
    out = tmp_path / "old-backup.duckdb"
    assert main(["store", "backup", "--db", str(db), "--out", str(out)]) == 0
    assert digest(db) == before  # neither opened it for writing
    assert main(["store", "check", "--db", str(out)]) == 0
    assert "schema version 1 (older" in capsys.readouterr().out
