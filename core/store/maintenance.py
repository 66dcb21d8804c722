"""Looking after a tag store file: a read-only health check, and a consistent backup copy.

Both open the file read-only, so they also work on a store that cannot be written.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.store import queries
from core.store.connection import (
    Database,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    fetch_one,
    file_fault,
    new_cursor,
)
from core.store.schema import SCHEMA_VERSION, current_version

TABLES = ("schema_version", "sounds", "predictions", "corrections")  # every table of the schema
SIZE_FIELDS = ("database_size", "block_size", "total_blocks", "used_blocks", "free_blocks",
               "wal_size")


@dataclass
class StoreReport:
    path: str  # the file checked
    schema_version: int  # the file's; the program knows up to SCHEMA_VERSION
    counts: dict  # sounds, reviewed, corrections, undos, predictions
    storage: dict = field(default_factory=dict)  # DuckDB's pragma_database_size of the file
    tables: dict = field(default_factory=dict)  # table -> rows, segments, blocks (all read)

    def lines(self) -> list[str]:
        state = ("current" if self.schema_version == SCHEMA_VERSION else
                 f"older: migrated to {SCHEMA_VERSION} on the next write"
                 if self.schema_version < SCHEMA_VERSION else
                 f"newer than this program, which knows up to {SCHEMA_VERSION}: upgrade it")
        out = [f"tag store {self.path}",
               f"schema version {self.schema_version} ({state})",
               "counts: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()),
               "duckdb: " + ", ".join(f"{k} {v}" for k, v in self.storage.items())]
        out += [f"table {name}: {t['rows']} rows, {t['segments']} segments in {t['blocks']} "
                "blocks, every value read (block checksums verified)"
                for name, t in self.tables.items()]
        return out + ["integrity: ok"]


def check_store(path: str | Path) -> StoreReport:
    """Schema version, counts, DuckDB's storage figures; reads every value of every table, so
    DuckDB verifies the checksum of every block. Raises a StoreError subclass when it cannot."""
    db = _existing(path)
    return db.read(lambda cur: _report(cur, db.path))


def _report(cur: duckdb.DuckDBPyConnection, path: str) -> StoreReport:
    version = current_version(cur)
    if version == 0:
        raise StoreError(f"{path} is a DuckDB file without a tag store in it: check that --db or "
                         "TAGGER_DB names the right file")
    counts = _counts(cur)
    size = fetch_one(cur.execute(
        f"SELECT {', '.join(SIZE_FIELDS)} FROM pragma_database_size() "
        "WHERE database_name = current_database()"))
    return StoreReport(path, version, counts, dict(zip(SIZE_FIELDS, size, strict=True)),
                       {name: _read_table(cur, name) for name in TABLES})


def _read_table(cur: duckdb.DuckDBPyConnection, name: str) -> dict:
    # `name` is one of TABLES, never input: safe in SQL text.
    rows = fetch_one(cur.execute(f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {name}"))[0]
    segments, blocks = fetch_one(cur.execute(
        "SELECT count(*), count(DISTINCT block_id) FROM pragma_storage_info($t)", {"t": name}))
    return {"rows": rows, "segments": segments, "blocks": blocks}


@dataclass(frozen=True)
class BackupReport:
    path: str  # the backup written
    bytes: int  # its size
    counts: dict  # sounds, reviewed, corrections, undos, predictions: the same in both files


def backup_store(path: str | Path, out: str | Path) -> BackupReport:
    """Copy the store into a new DuckDB file `out` (DuckDB's COPY FROM DATABASE, in one read
    transaction: a consistent snapshot even while others write), then check the copy."""
    db, out = _existing(path), Path(out).resolve()
    if out == Path(db.path):
        raise StoreError(f"the backup would replace the store itself ({out}): choose another file")
    partial = out.with_name(f".{out.name}.partial")  # renamed to `out` once whole
    alias = f"tagstore_backup_{os.getpid()}"  # generated, never input: safe in SQL text
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove(partial)
        counts = db.read(lambda cur: _copy(cur, partial, alias, out))
        os.replace(partial, out)
    except OSError as e:
        raise _backup_error(out, e) from e
    finally:
        _detach(alias)
        with contextlib.suppress(OSError):
            _remove(partial)
    copied = Database(out, read_only=True).read(_counts)
    if copied != counts:
        raise StoreError(f"the backup {out} does not hold what the store does ({copied} against "
                         f"{counts}): try again")
    return BackupReport(str(out), out.stat().st_size, counts)


def _copy(cur: duckdb.DuckDBPyConnection, partial: Path, alias: str, out: Path) -> dict:
    source = fetch_one(cur.execute("SELECT current_database()"))[0]
    try:
        cur.execute(f"ATTACH ? AS {alias}", [str(partial)])
    except duckdb.Error as e:
        raise _backup_error(out, e) from e
    try:
        cur.execute(f"COPY FROM DATABASE {source} TO {alias}")
    except duckdb.Error as e:  # a full or read-only disk is the backup's; a damaged block, the store's
        if isinstance(file_fault(out, e), (StoreFullError, StoreReadOnlyError)):
            raise _backup_error(out, e) from e
        raise
    return _counts(cur)


def _backup_error(out: Path, error: BaseException) -> StoreError:
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    fault = file_fault(out, error)
    kind = type(fault) if isinstance(fault, (StoreFullError, StoreReadOnlyError)) else StoreError
    return kind(f"could not write the backup {out} ({detail}): choose a folder you can write to, "
                "on a disk with space")


def _counts(cur: duckdb.DuckDBPyConnection) -> dict:
    return dict(zip(("sounds", "reviewed", "corrections", "undos", "predictions"),
                    fetch_one(cur.execute(queries.STATS)), strict=True))


def _existing(path: str | Path) -> Database:
    if not Path(path).is_file():
        raise StoreError(f"no tag store at {path}: check --db or TAGGER_DB")
    return Database(path, read_only=True)


def _detach(alias: str) -> None:
    cursor = new_cursor()
    try:
        cursor.execute(f"DETACH DATABASE IF EXISTS {alias}")
    finally:
        cursor.close()


def _remove(partial: Path) -> None:
    for p in (partial, partial.with_name(partial.name + ".wal")):
        p.unlink(missing_ok=True)
