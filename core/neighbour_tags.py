"""Tags from neighbours: the final tags of a sound's nearest *reviewed* sounds, weighted by
similarity, offered beside the model's guesses. Nothing is stored here: a person's click adds one.

It learns from the curator at once, with no retraining: a sound reviewed a minute ago is a
neighbour now. `evaluate` measures, on a held-out split of the reviewed sounds, whether mixing
these tags into the model's scores raises its top-5 hit rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from core.improve.split import part_of
from core.metrics import top_k_figures
from core.similar import EmbeddingIndex
from core.store import SoundQuery, TagStore

NEIGHBOURS = 5  # reviewed neighbours asked
MIN_SHARE = 0.4  # a tag is offered when it carries this share of the neighbours' similarity
MIN_SIMILARITY = 0.0  # neighbours less similar than this are not asked
BLEND = 0.5  # evaluate: weight of the neighbours' share against the model's score
HOLDOUT = 0.2  # evaluate: share of the reviewed sounds held out (by content hash, seeded)


@dataclass(frozen=True)
class NeighbourTags:
    sounds: int  # reviewed neighbours asked
    tags: list[tuple[str, float]]  # (tag, share of the neighbours' similarity), highest first

    def heading(self) -> str:
        noun = "sound" if self.sounds == 1 else "sounds"
        return f"From {self.sounds} similar {noun} you reviewed"

    def line(self) -> str:
        return f"{self.heading()}: " + ", ".join(t for t, _ in self.tags)


def reviewed_mask(store: TagStore, index: EmbeddingIndex) -> np.ndarray:
    """Which of the index's rows are reviewed sounds."""
    reviewed = set(store.list_ids(SoundQuery(reviewed=True, sort="oldest", limit=None)))
    return np.array([int(i) in reviewed for i in index.ids], bool)


def tag_shares(found: list[tuple[int, float]], finals: dict[int, list[str]]) -> list[tuple[str, float]]:
    """Each tag's share of the neighbours' similarity (weights clipped at 0), highest first."""
    weights = {sid: max(sim, 0.0) for sid, sim in found}
    total = sum(weights.values())
    if total <= 0:
        return []
    shares: dict[str, float] = {}
    for sid, w in weights.items():
        for tag in dict.fromkeys(finals.get(sid, [])):
            shares[tag] = shares.get(tag, 0.0) + w / total
    return sorted(shares.items(), key=lambda p: (-p[1], p[0]))


def neighbour_tags(store: TagStore, index: EmbeddingIndex, query: np.ndarray,
                   exclude: Iterable[int] = (), have: Iterable[str] = (),
                   threshold: float = 0.5, k: int = NEIGHBOURS,
                   min_share: float = MIN_SHARE, mask: np.ndarray | None = None) -> NeighbourTags:
    """Tags the k nearest reviewed sounds agree on, leaving out those in `have` (the sound's
    own final tags). `mask`: reviewed_mask(store, index), when the caller has it already."""
    mask = reviewed_mask(store, index) if mask is None else mask
    found = [(i, s) for i, s in index.search(query, k, exclude, mask) if s > MIN_SIMILARITY]
    finals = {r.id: r.final for r in store.rows_for([i for i, _ in found], threshold)}
    have = set(have)
    tags = [(t, s) for t, s in tag_shares(found, finals) if s >= min_share and t not in have]
    return NeighbourTags(len(found), tags)


@dataclass(frozen=True)
class NeighbourEvaluation:
    heldout: int  # reviewed sounds held out (queries)
    pool: int  # reviewed sounds their neighbours come from
    model_hit_rate: float  # top-5 hit rate of the model's stored scores alone
    neighbour_hit_rate: float  # of the neighbours' shares alone
    blended_hit_rate: float  # of BLEND * share + (1 - BLEND) * model score

    @property
    def gain(self) -> float:
        return self.blended_hit_rate - self.model_hit_rate

    def line(self) -> str:
        return (f"top-5 hit rate on {self.heldout} held-out reviewed sounds (neighbours from "
                f"{self.pool}): model {self.model_hit_rate:.3f}, neighbours "
                f"{self.neighbour_hit_rate:.3f}, model + neighbours {self.blended_hit_rate:.3f} "
                f"({self.gain:+.3f})")


def evaluate(store: TagStore, index: EmbeddingIndex, threshold: float = 0.5,
             holdout: float = HOLDOUT, seed: int = 0, k: int = NEIGHBOURS) -> NeighbourEvaluation:
    """Hold out a seeded share of the reviewed sounds (by content hash, core.improve.split);
    for each, its final tags are the truth, its stored predictions the model's scores, and its
    nearest reviewed sounds outside the held-out share the neighbours."""
    rows = {r.id: r for r in store.label_rows(reviewed_only=True, threshold=threshold)}
    rows = {i: r for i, r in rows.items() if index.vector(i) is not None and r.final}
    sounds = store.get_sounds(list(rows))
    held = {i for i in rows if part_of(sounds[i].content_hash, holdout, 0.0, seed) == "heldout"}
    pool = np.array([int(i) in rows and int(i) not in held for i in index.ids], bool)
    finals = {i: r.final for i, r in rows.items()}
    queries = sorted(held)
    tags = sorted({t for i in queries for t in finals[i]}
                  | {t for i in queries for t, _ in rows[i].predicted})
    col = {t: c for c, t in enumerate(tags)}
    truth, model, near = (np.zeros((len(queries), len(tags)), np.float32) for _ in range(3))
    for q, sid in enumerate(queries):
        _fill(truth[q], col, [(t, 1.0) for t in finals[sid]])
        _fill(model[q], col, rows[sid].predicted)
        found = index.search(index.vector(sid), k, [sid], pool)
        _fill(near[q], col, tag_shares(found, finals))
    blended = BLEND * near + (1 - BLEND) * model
    hit = lambda scores: top_k_figures(truth, scores, 5)["hit_rate"]  # noqa: E731
    return NeighbourEvaluation(len(queries), int(pool.sum()), hit(model), hit(near), hit(blended))


def _fill(row: np.ndarray, col: dict[str, int], pairs: Iterable[tuple[str, float]]) -> None:
    for tag, score in pairs:
        if tag in col:
            row[col[tag]] = max(row[col[tag]], score)

