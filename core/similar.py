"""Similar sounds: exact cosine similarity over the embeddings a model stored for each sound.

The embedding is the model's penultimate layer (core.model.EMBEDDING_LAYER), written with the
predictions (core.store). An EmbeddingIndex holds one model's vectors, unit length, as one float32
matrix; a query is one matrix-vector product and a partial sort: exact, no approximate index
(100,000 sounds of 512 floats is 200 MB and a few tens of milliseconds per query, see the bench).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.settings import THRESHOLD
from core.store import TagStore

DEFAULT_K = 10  # neighbours shown


class NoEmbeddingError(LookupError):
    """The sound has no embedding from the model, and none could be computed."""


@dataclass(frozen=True)
class Neighbour:
    sound_id: int  # the store's id
    name: str  # title or file name (user text)
    similarity: float  # cosine similarity of the embeddings, in [-1, 1] (ReLU outputs: [0, 1])
    tags: list[str]  # the neighbour's final tags (after people's corrections)
    audio_path: str | None  # its stored audio, for a player
    reviewed: bool  # a person has reviewed its tags

    def to_json(self) -> dict:
        return {"sound_id": self.sound_id, "name": self.name,
                "similarity": round(self.similarity, 6), "tags": self.tags}


class EmbeddingIndex:
    """One model's embeddings, unit length, for exact nearest-neighbour search."""

    def __init__(self, model: str, ids: np.ndarray, vectors: np.ndarray):
        self.model = model
        self.ids = np.asarray(ids, np.int64)  # (n,)
        vectors = np.asarray(vectors, np.float32)
        self.unit = unit_rows(vectors)  # (n, size)
        self.norms = np.linalg.norm(vectors, axis=1) if vectors.size else np.zeros(len(vectors))
        self._row = {int(i): r for r, i in enumerate(self.ids)}

    @classmethod
    def from_store(cls, store: TagStore, model: str) -> EmbeddingIndex:
        ids, vectors = store.embedding_matrix(model)
        return cls(model, ids, vectors)

    def __len__(self) -> int:
        return len(self.ids)

    def vector(self, sound_id: int) -> np.ndarray | None:
        row = self._row.get(int(sound_id))
        return None if row is None else self.unit[row]

    def as_stored(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of these rows at their stored length (the model's output layer needs it)."""
        return self.unit[rows] * self.norms[rows, None]

    def search(self, query: np.ndarray, k: int = DEFAULT_K, exclude: Iterable[int] = (),
               among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k most similar (sound_id, similarity), most similar first; `among` (a boolean
        mask over the index's rows) limits the candidates, `exclude` leaves sounds out."""
        if not len(self.ids) or k <= 0:
            return []
        q = unit_rows(np.asarray(query, np.float32)[None, :])[0]
        if q.shape[0] != self.unit.shape[1]:
            raise ValueError(f"the query has {q.shape[0]} floats; {self.model}'s embeddings "
                             f"have {self.unit.shape[1]}")
        sims = self.unit @ q  # (n,)
        allowed = np.ones(len(sims), bool) if among is None else among.copy()
        for sound_id in exclude:
            row = self._row.get(int(sound_id))
            if row is not None:
                allowed[row] = False
        sims = np.where(allowed, sims, -np.inf)
        k = min(k, int(allowed.sum()))
        if k == 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((self.ids[top], -sims[top]))]  # by similarity, then id
        return [(int(self.ids[r]), float(sims[r])) for r in top]


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (an all-zero row stays zero: it is similar to nothing)."""
    vectors = np.asarray(vectors, np.float32)
    if vectors.size == 0:
        return vectors.reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def embedding_model(counts: dict[str, int], preferred: str) -> str:
    """`preferred` (the active model) when the store holds its embeddings, else the model whose
    embeddings cover the most sounds, else `preferred` (nothing to search yet). `counts`: the
    store's embedding_counts()."""
    if counts.get(preferred) or not counts:
        return preferred
    return max(counts, key=lambda m: (counts[m], m))


def neighbours(store: TagStore, index: EmbeddingIndex, query: np.ndarray, k: int = DEFAULT_K,
               exclude: Iterable[int] = (), threshold: float = THRESHOLD,
               among: np.ndarray | None = None) -> list[Neighbour]:
    """The k nearest stored sounds with their names and final tags, nearest first."""
    found = index.search(query, k, exclude, among)
    rows = {r.id: r for r in store.rows_for([i for i, _ in found], threshold)}
    return [Neighbour(i, rows[i].name, sim, list(rows[i].final), rows[i].audio_path,
                      rows[i].reviewed) for i, sim in found if i in rows]


def similar_to_sound(store: TagStore, index: EmbeddingIndex, sound_id: int, k: int = DEFAULT_K,
                     threshold: float = THRESHOLD) -> list[Neighbour]:
    """The k sounds most similar to a stored one (itself left out)."""
    vector = index.vector(sound_id)
    if vector is None:
        raise NoEmbeddingError(f"sound {sound_id} has no embedding from {index.model}: run "
                               "`python -m core embed` (or re-tag it) first")
    return neighbours(store, index, vector, k, [sound_id], threshold)
