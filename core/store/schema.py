"""The tag store's schema, in one place, as explicit numbered migrations.

Each migration is idempotent (IF NOT EXISTS, guarded back-fills) and runs in the same transaction
as the row recording it in `schema_version`, so a file is always at one whole version. Opening a
file made by an older version applies the missing migrations; data is never dropped. Opening a
file from a newer version is refused rather than guessed at.

History:
  1  sounds, predictions, corrections (append-only)
  2  Freesound metadata (description, created_at, original tags), the analysed patch
     (patch_start, analysed_s), prediction time, and correction provenance (original text,
     in_vocabulary)
  3  Freesound account: which audio a feed sound was stored from (preview or original), and an
     upload's state on Freesound (upload_state, uploaded_at; its new id goes in freesound_id)
  4  embeddings: one vector per (sound, model), the model's penultimate layer, written with the
     predictions (core.similar finds similar sounds with them)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from core.store.connection import StoreError, fetch_one
from core.vocabulary import load_vocabulary

V1 = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL,
    description VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS sounds (
    id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    audio_path VARCHAR,
    content_hash VARCHAR NOT NULL UNIQUE,
    duration_s DOUBLE,
    freesound_id BIGINT,
    username VARCHAR,
    license VARCHAR,
    url VARCHAR,
    added_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    sound_id BIGINT NOT NULL,
    model VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    rank INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS corrections (
    id BIGINT PRIMARY KEY,
    batch BIGINT NOT NULL,
    sound_id BIGINT NOT NULL,
    user_name VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    undoes BIGINT
);
"""

V2 = """
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS description VARCHAR;
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS created_at VARCHAR;
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS original_tags VARCHAR[];
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS patch_start INTEGER;
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS analysed_s DOUBLE;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS predicted_at TIMESTAMP;
ALTER TABLE corrections ADD COLUMN IF NOT EXISTS original VARCHAR;
ALTER TABLE corrections ADD COLUMN IF NOT EXISTS in_vocabulary BOOLEAN;
UPDATE sounds SET original_tags = [] WHERE original_tags IS NULL;
UPDATE sounds SET patch_start = 0 WHERE patch_start IS NULL;
UPDATE predictions SET predicted_at = TIMESTAMP '1970-01-01' WHERE predicted_at IS NULL;
UPDATE corrections SET original = tag WHERE original IS NULL;
"""


V3 = """
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS audio_kind VARCHAR;
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS upload_state VARCHAR;
ALTER TABLE sounds ADD COLUMN IF NOT EXISTS uploaded_at TIMESTAMP;
UPDATE sounds SET audio_kind = 'preview' WHERE audio_kind IS NULL AND source = 'freesound';
"""


# A list (FLOAT[]) rather than a fixed-size FLOAT[n] ARRAY: the size is the model's (512 for the
# bundled compact model, 4096 for the course preset) and one file holds several models' vectors.
# Every vector of one model has that model's size (TagStore checks it on write and on read).
V4 = """
CREATE TABLE IF NOT EXISTS embeddings (
    sound_id BIGINT NOT NULL,
    model VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,
    embedded_at TIMESTAMP NOT NULL
);
"""


def _v1(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(V1)


def _v2(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(V2)
    cur.execute("UPDATE corrections SET in_vocabulary = list_contains($vocab, tag) "
                "WHERE in_vocabulary IS NULL", {"vocab": list(load_vocabulary())})


def _v3(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(V3)


def _v4(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute(V4)


@dataclass(frozen=True)
class Migration:
    version: int  # the schema version this migration brings the file to
    description: str  # one line, stored in schema_version
    apply: Callable[[duckdb.DuckDBPyConnection], None]  # idempotent: safe to run twice


MIGRATIONS = (
    Migration(1, "sounds, predictions, append-only corrections", _v1),
    Migration(2, "Freesound metadata, analysed patch, prediction time, correction provenance", _v2),
    Migration(3, "audio kind (preview or original), upload state on Freesound", _v3),
    Migration(4, "embeddings per sound and model (penultimate layer)", _v4),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


class SchemaVersionError(StoreError):
    """The file was written by a newer version of this program."""


def current_version(cur: duckdb.DuckDBPyConnection) -> int:
    """0 for an empty file (no schema_version table yet)."""
    exists = fetch_one(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                         "current_database() AND table_name = 'schema_version'"))[0]
    if not exists:
        return 0
    return fetch_one(cur.execute("SELECT coalesce(max(version), 0) FROM schema_version"))[0]


def migrate(cur: duckdb.DuckDBPyConnection) -> int:
    """Bring the file (inside the caller's transaction) to SCHEMA_VERSION; returns the version."""
    version = current_version(cur)
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(f"the tag store has schema version {version}; this program knows "
                                 f"up to {SCHEMA_VERSION}: upgrade the program")
    for m in MIGRATIONS:
        if m.version > version:
            m.apply(cur)
            cur.execute("INSERT INTO schema_version VALUES ($v, $d, $at)",
                        {"v": m.version, "d": m.description, "at": utc_now()})
    return SCHEMA_VERSION


def utc_now() -> datetime:
    """Timestamps are stored as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
