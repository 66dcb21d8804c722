"""Reading the embeddings table: one vector, or one model's whole matrix as numpy."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from core.store.connection import fetch_one

ONE = "SELECT vector FROM embeddings WHERE sound_id = $id AND model = $m LIMIT 1"
ALL = "SELECT sound_id, vector FROM embeddings WHERE model = $m ORDER BY sound_id"
COUNTS = "SELECT model, count(*) FROM embeddings GROUP BY model ORDER BY model"
MISSING = """
SELECT id, audio_path FROM sounds
WHERE id NOT IN (SELECT sound_id FROM embeddings WHERE model = $m) ORDER BY id
"""


def one(cur: duckdb.DuckDBPyConnection, sound_id: int, model: str) -> np.ndarray | None:
    row = fetch_one(cur.execute(ONE, {"id": sound_id, "m": model}))
    return None if row is None else np.asarray(row[0], np.float32)


def matrix(cur: duckdb.DuckDBPyConnection, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, (n, size) float32), read through Arrow: one flat buffer, no Python lists."""
    table = cur.sql(ALL, params={"m": model}).to_arrow_table()
    ids = table.column("sound_id").to_numpy().astype(np.int64)
    if len(ids) == 0:
        return ids, np.zeros((0, 0), np.float32)
    vectors = pa.concat_arrays(table.column("vector").chunks)
    offsets = vectors.offsets.to_numpy()
    size = int(offsets[1] - offsets[0])
    if not np.all(np.diff(offsets) == size):
        raise ValueError(f"the embeddings of {model} have different sizes")
    flat = vectors.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]]
    return ids, flat.astype(np.float32, copy=False).reshape(len(ids), size)
