"""Opening a file made by an older version upgrades it in place and loses nothing."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from core.store import SCHEMA_VERSION, SchemaVersionError, SoundInfo, TagStore
from core.store.schema import MIGRATIONS, current_version, migrate

# The first released layout (schema version 1), written out by hand as that version made it.
V1_LAYOUT = """
CREATE TABLE schema_version (version INTEGER NOT NULL, description VARCHAR NOT NULL,
                             applied_at TIMESTAMP NOT NULL);
CREATE TABLE sounds (id BIGINT PRIMARY KEY, source VARCHAR NOT NULL, name VARCHAR NOT NULL,
                     audio_path VARCHAR, content_hash VARCHAR NOT NULL UNIQUE, duration_s DOUBLE,
                     freesound_id BIGINT, username VARCHAR, license VARCHAR, url VARCHAR,
                     added_at TIMESTAMP NOT NULL);
CREATE TABLE predictions (sound_id BIGINT NOT NULL, model VARCHAR NOT NULL, tag VARCHAR NOT NULL,
                          score DOUBLE NOT NULL, rank INTEGER NOT NULL);
CREATE TABLE corrections (id BIGINT PRIMARY KEY, batch BIGINT NOT NULL, sound_id BIGINT NOT NULL,
                          user_name VARCHAR NOT NULL, action VARCHAR NOT NULL,
                          tag VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, undoes BIGINT);
INSERT INTO schema_version VALUES (1, 'sounds, predictions, append-only corrections',
                                   TIMESTAMP '2024-01-01 00:00:00');
"""
OLD_TIME = datetime(2024, 1, 2, 3, 4, 5)


def make_v1_file(path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(V1_LAYOUT)
        con.execute("INSERT INTO sounds VALUES (1, 'freesound', 'old piano', '/a/1.wav', 'h1', "
                    "2.5, 4242, 'someone', 'CC0', 'https://freesound.org/s/4242/', $t)",
                    {"t": OLD_TIME})
        con.execute("INSERT INTO sounds VALUES (2, 'upload', 'old drum', NULL, 'h2', 1.0, NULL, "
                    "NULL, NULL, NULL, $t)", {"t": OLD_TIME})
        con.execute("INSERT INTO predictions VALUES (1, 'old@1', 'piano', 0.9, 1), "
                    "(1, 'old@1', 'drum', 0.2, 2), (2, 'old@1', 'drum', 0.8, 1)")
        con.execute("INSERT INTO corrections VALUES "
                    "(1, 1, 1, 'ana', 'add', 'bas', $t, NULL), "
                    "(2, 1, 1, 'ana', 'add', 'myowntag', $t, NULL), "
                    "(3, 2, 2, 'bob', 'remove', 'drum', $t, NULL), "
                    "(4, 3, 2, 'bob', 'undo', 'drum', $t, 2)", {"t": OLD_TIME})
    finally:
        con.close()


def test_a_version_1_file_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    make_v1_file(path)
    store = TagStore(path)
    assert store.schema_version == SCHEMA_VERSION
    old = store.get_sound(1)
    assert (old.name, old.freesound_id, old.username, old.added_at) == (
        "old piano", 4242, "someone", OLD_TIME)
    assert (old.original_tags, old.patch_start, old.description) == ((), 0, None)
    labels = store.labels(1)
    assert labels.predicted == [("piano", 0.9), ("drum", 0.2)]
    assert labels.added == ["bas", "myowntag"] and labels.final == ["piano", "bas", "myowntag"]
    assert labels.out_of_vocabulary == ["myowntag"]
    assert not store.labels(2).reviewed  # bob's removal was undone in version 1 already
    history = store.history(1)
    assert [(c.tag, c.original, c.in_vocabulary) for c in history] == [
        ("bas", "bas", True), ("myowntag", "myowntag", False)]
    assert store.stats()["sounds"] == 2


def test_an_upgraded_file_takes_new_writes_after_the_old_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    make_v1_file(path)
    store = TagStore(path)
    sid, is_new = store.add_sound(SoundInfo(source="upload", name="new", audio_path=None,
                                            content_hash="h3", duration_s=1.0,
                                            description="added after the upgrade"),
                                  [("cat", 0.7)], "new@2")
    assert (sid, is_new) == (3, True)
    assert store.add_sound(SoundInfo(source="upload", name="dup", audio_path=None,
                                     content_hash="h1", duration_s=1.0))[0] == 1
    result = store.label(1, remove=["piano"], user="ana")
    assert result.labels.final == ["bas", "myowntag"]
    assert [c.id for c in store.history(1)] == [1, 2, 5]
    assert store.undo(1, user="ana")
    assert store.labels(1).added == ["bas", "myowntag"]  # the newest batch was taken back


def test_migrations_are_recorded_once_and_can_run_again(tmp_path):
    path = tmp_path / "twice.duckdb"
    TagStore(path)
    TagStore(path)
    con = duckdb.connect(str(path))
    try:
        versions = [r[0] for r in con.execute(
            "SELECT version FROM schema_version ORDER BY version").fetchall()]
        assert versions == [m.version for m in MIGRATIONS]
        for m in MIGRATIONS:  # each migration is idempotent on its own
            m.apply(con)
        assert migrate(con) == SCHEMA_VERSION
        assert current_version(con) == SCHEMA_VERSION
    finally:
        con.close()
    assert TagStore(path).stats()["sounds"] == 0


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "future.duckdb"
    TagStore(path)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (99, 'from the future', now()::TIMESTAMP)")
    con.close()
    with pytest.raises(SchemaVersionError, match="99"):
        TagStore(path)
