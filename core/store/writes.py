"""The store's writes, each a function of a cursor inside the caller's transaction.

Rows go in through Arrow tables (one INSERT ... SELECT per table): DuckDB's executemany costs
about a millisecond a row, an Arrow insert of 100,000 rows a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from core.store.connection import StoreError, fetch_one
from core.store.models import SoundInfo
from core.store.queries import LAST_UNDOABLE_BATCH

PREDICTION_SCHEMA = pa.schema([("sound_id", pa.int64()), ("model", pa.string()),
                               ("tag", pa.string()), ("score", pa.float64()),
                               ("rank", pa.int32()), ("predicted_at", pa.timestamp("us"))])
SOUND_SCHEMA = pa.schema([
    ("id", pa.int64()), ("source", pa.string()), ("name", pa.string()),
    ("audio_path", pa.string()), ("content_hash", pa.string()), ("duration_s", pa.float64()),
    ("freesound_id", pa.int64()), ("username", pa.string()), ("license", pa.string()),
    ("url", pa.string()), ("description", pa.string()), ("created_at", pa.string()),
    ("original_tags", pa.list_(pa.string())), ("patch_start", pa.int32()),
    ("analysed_s", pa.float64()), ("added_at", pa.timestamp("us")), ("audio_kind", pa.string())])
CORRECTION_SCHEMA = pa.schema([
    ("id", pa.int64()), ("batch", pa.int64()), ("sound_id", pa.int64()),
    ("user_name", pa.string()), ("action", pa.string()), ("tag", pa.string()),
    ("created_at", pa.timestamp("us")), ("undoes", pa.int64()), ("original", pa.string()),
    ("in_vocabulary", pa.bool_())])

EMBEDDING_SCHEMA = pa.schema([("sound_id", pa.int64()), ("model", pa.string()),
                              ("vector", pa.list_(pa.float32())), ("embedded_at", pa.timestamp("us"))])
Embedding = np.ndarray  # (size,) float32: a model's penultimate layer for one sound

TEXT_KEYS = pa.schema([("key", pa.string())])
ID_KEYS = pa.schema([("key", pa.int64())])

Prediction = tuple[str, float]
EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


class SoundNotFoundError(StoreError, LookupError):
    """No sound with that id (or path, or hash) in the store."""


@contextmanager
def staged(cur: duckdb.DuckDBPyConnection, schema: pa.Schema, rows: list[tuple],
           name: str = "incoming_rows") -> Iterator[str]:
    """`rows` (tuples in schema order) visible to SQL as the view `name` (a constant)."""
    columns = list(zip(*rows, strict=True)) or [()] * len(schema)
    cur.register(name, pa.table([_array(c, f.type) for c, f in zip(columns, schema,
                                                                     strict=True)], schema=schema))
    yield name
    cur.unregister(name)  # (not on error: the cursor, and this view, is closed then anyway)


def insert_rows(cur: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema,
                rows: list[tuple]) -> None:
    """Bulk insert `rows` (tuples in schema order) into `table` (a constant name)."""
    if not rows:
        return
    names = ", ".join(schema.names)
    with staged(cur, schema, rows):
        cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM incoming_rows")


def _array(values: tuple, kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):  # via integers: pyarrow would import pandas for datetimes
        micros = [None if v is None else (v - EPOCH) // MICROSECOND for v in values]
        return pa.array(micros, pa.int64()).cast(kind)
    return pa.array(values, type=kind)


def next_ids(cur: duckdb.DuckDBPyConnection, table: str, column: str, n: int) -> list[int]:
    """`n` fresh ids after the largest in `table`.`column` (constant names).

    Safe because writes never overlap: one writer per process (a lock) and one process per
    file (DuckDB's file lock); nothing is ever deleted, so ids are never reused.
    """
    last = fetch_one(cur.execute(f"SELECT coalesce(max({column}), 0) FROM {table}"))[0]
    return list(range(last + 1, last + 1 + n))


def add_sounds(cur: duckdb.DuckDBPyConnection,
               items: Sequence[tuple[SoundInfo, Sequence[Prediction], str]],
               now: datetime, embeddings: Sequence[Embedding | None] | None = None
               ) -> list[tuple[int, bool]]:
    """Sounds with their predictions (and embeddings, one per item or None); a known content
    hash returns the stored id (not new).

    A known sound gets the predictions of a model that has not predicted it yet; the same
    model's predictions are never written twice.
    """
    hashes = [info.content_hash for info, _, _ in items]
    with staged(cur, TEXT_KEYS, [(h,) for h in hashes], "incoming_keys"):
        known = dict(cur.execute("SELECT content_hash, id FROM sounds WHERE content_hash IN "
                                 "(SELECT key FROM incoming_keys)").fetchall())
    fresh = list(dict.fromkeys(h for h in hashes if h not in known))
    ids = dict(zip(fresh, next_ids(cur, "sounds", "id", len(fresh)), strict=True))
    sound_rows, out, written = [], [], set()
    for info, _, _ in items:
        h = info.content_hash
        is_new = h in ids and h not in written
        if is_new:
            sound_rows.append(_sound_row(ids[h], info, now))
            written.add(h)
        out.append((ids.get(h) or known[h], is_new))
    insert_rows(cur, "sounds", SOUND_SCHEMA, sound_rows)
    add_predictions(cur, [(sid, preds, model) for (sid, _), (_, preds, model)
                          in zip(out, items, strict=True)], now)
    if embeddings is not None:
        add_embeddings(cur, [(sid, model, e) for (sid, _), (_, _, model), e
                             in zip(out, items, embeddings, strict=True) if e is not None], now)
    return out


def _sound_row(sound_id: int, info: SoundInfo, now: datetime) -> tuple:
    return (sound_id, info.source, info.name, info.audio_path, info.content_hash, info.duration_s,
            info.freesound_id, info.username, info.license, info.url, info.description,
            info.created_at, list(info.original_tags), info.patch_start, info.analysed_s, now,
            info.audio_kind)


def add_predictions(cur: duckdb.DuckDBPyConnection,
                    items: list[tuple[int, Sequence[Prediction], str]], now: datetime) -> int:
    """Each (sound_id, predictions, model) beside the sound's earlier ones; a model that has
    predicted the sound already is skipped. Returns how many sounds got predictions."""
    with staged(cur, ID_KEYS, [(sid,) for sid in {sid for sid, _, _ in items}], "incoming_keys"):
        done = set(cur.execute("SELECT DISTINCT sound_id, model FROM predictions WHERE sound_id "
                               "IN (SELECT key FROM incoming_keys)").fetchall())
    rows, written = [], 0
    for sound_id, predictions, model in items:
        if (sound_id, model) in done:
            continue
        done.add((sound_id, model))
        written += 1
        best: dict[str, float] = {}
        for tag, score in predictions:
            best.setdefault(tag, float(score))  # a repeated tag keeps its first score
        ranked = sorted(best.items(), key=lambda p: -p[1])
        rows += [(sound_id, model, tag, score, rank, now)
                 for rank, (tag, score) in enumerate(ranked, 1)]
    insert_rows(cur, "predictions", PREDICTION_SCHEMA, rows)
    return written


def add_embeddings(cur: duckdb.DuckDBPyConnection, items: Sequence[tuple[int, str, Embedding]],
                   now: datetime) -> int:
    """Each (sound_id, model, vector) unless that model's vector for the sound is stored already;
    every vector of one model must have the same size. Returns how many were written."""
    items = list({(int(sid), model): (int(sid), model, np.asarray(v, np.float32).ravel())
                  for sid, model, v in items}.values())
    if not items:
        return 0
    _check_sizes(cur, items)
    with staged(cur, ID_KEYS, [(sid,) for sid in {sid for sid, _, _ in items}], "incoming_keys"):
        done = set(cur.execute("SELECT sound_id, model FROM embeddings WHERE sound_id "
                               "IN (SELECT key FROM incoming_keys)").fetchall())
    items = [item for item in items if item[:2] not in done]
    if not items:
        return 0
    cur.register("incoming_vectors", embedding_table(items, now))
    names = ", ".join(EMBEDDING_SCHEMA.names)
    cur.execute(f"INSERT INTO embeddings ({names}) SELECT {names} FROM incoming_vectors")
    cur.unregister("incoming_vectors")
    return len(items)


def embedding_table(items: Sequence[tuple[int, str, np.ndarray]], now: datetime) -> pa.Table:
    """Arrow rows for the embeddings table, the vectors as one flat float32 buffer (fast)."""
    sizes = np.array([len(v) for _, _, v in items], np.int32)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    values = np.concatenate([v for _, _, v in items]).astype(np.float32)
    vectors = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
    micros = (now - EPOCH) // MICROSECOND
    return pa.table([pa.array([s for s, _, _ in items], pa.int64()),
                     pa.array([m for _, m, _ in items], pa.string()), vectors,
                     pa.array([micros] * len(items), pa.int64()).cast(pa.timestamp("us"))],
                    schema=EMBEDDING_SCHEMA)


def _check_sizes(cur: duckdb.DuckDBPyConnection, items: list[tuple[int, str, np.ndarray]]) -> None:
    for model in {m for _, m, _ in items}:
        sizes = {len(v) for _, m, v in items if m == model}
        stored = fetch_one(cur.execute("SELECT len(vector) FROM embeddings WHERE model = $m "
                                       "LIMIT 1", {"m": model}))
        sizes |= {stored[0]} if stored else set()
        if len(sizes) > 1 or 0 in sizes:
            raise ValueError(f"embeddings of {model} must all have one size, got {sorted(sizes)}")


def add_corrections(cur: duckdb.DuckDBPyConnection,
                    batches: list[tuple[int, str, list[tuple[str, str, str, bool]]]],
                    now: datetime) -> None:
    """Each batch is (sound_id, user, [(action, tag, original, in_vocabulary), ...])."""
    batches = [b for b in batches if b[2]]
    batch_ids = next_ids(cur, "corrections", "batch", len(batches))
    event_ids = iter(next_ids(cur, "corrections", "id", sum(len(b[2]) for b in batches)))
    rows = [(next(event_ids), batch, sound_id, user, action, tag, now, None, original, in_vocab)
            for batch, (sound_id, user, events) in zip(batch_ids, batches, strict=True)
            for action, tag, original, in_vocab in events]
    if not rows:
        return
    names = ", ".join(CORRECTION_SCHEMA.names)
    with staged(cur, CORRECTION_SCHEMA, rows):
        missing = fetch_one(cur.execute(
            "SELECT min(sound_id) FROM incoming_rows WHERE sound_id NOT IN (SELECT id FROM sounds)"))
        if missing[0] is not None:
            raise SoundNotFoundError(f"no sound with id {missing[0]} in the store")
        cur.execute(f"INSERT INTO corrections ({names}) SELECT {names} FROM incoming_rows")


def undo_last(cur: duckdb.DuckDBPyConnection, sound_id: int, user: str, now: datetime) -> bool:
    """Take back `user`'s last correction batch still in effect, as new 'undo' events."""
    row = fetch_one(cur.execute(LAST_UNDOABLE_BATCH, {"sound_id": sound_id, "user": user}))
    if row is None:
        return False
    batch = row[0]
    events = cur.execute("SELECT tag, coalesce(in_vocabulary, FALSE) FROM corrections "
                         "WHERE batch = $b ORDER BY id", {"b": batch}).fetchall()
    (undo_batch,) = next_ids(cur, "corrections", "batch", 1)
    ids = next_ids(cur, "corrections", "id", len(events))
    rows = [(i, undo_batch, sound_id, user, "undo", tag, now, batch, tag, in_vocab)
            for i, (tag, in_vocab) in zip(ids, events, strict=True)]
    insert_rows(cur, "corrections", CORRECTION_SCHEMA, rows)
    return True
