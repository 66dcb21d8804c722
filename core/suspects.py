"""Likely-wrong labels: which sounds' given tags the model's out-of-sample scores disagree with.

Given labels are what people put on a sound: a curator's final tags when it is reviewed, else
its uploader's tags mapped onto the vocabulary (core.store.training_labels, mode "both"); a
sound with neither is not judged. The scores are the stored predictions of the model that
tagged it last: out of sample for every store sound, since no model is trained on the store
before `improve` (and `improve` holds its sounds out by hash). The store keeps a sound's top
predictions only; given the model (a Tagger) and its stored embeddings, every judged tag is
scored from the sound's embedding (Tagger.scores_from_embeddings), so a tag outside the top ones
gets its own small score instead of a 0 shared with every other (ties that left the top of the
ranking to the sounds' ids). Without them, tags outside the stored predictions score 0.

Two more out-of-sample scores of each tag are averaged with the model's, each counting as much:
when the store holds the model's embeddings, the share of the sound's 10 nearest other judged
sounds whose given labels carry the tag; and always, what the sound's other given tags say of
it (core.label_pairs: how often the tags that go with it elsewhere go with it). Both leave the
sound's own labels out. On the planted-error pools each found more of the errors (README,
"Likely-wrong labels").

The ranking is cleanlab's multi-label label quality (Apache-2.0; see the README): per tag a
one-vs-rest "self-confidence" (the probability of the given yes/no), divided by its mean over
the sounds with the same given yes/no for that tag (confident learning's per-class thresholds:
a tag the scores are always unsure of is not doubted everywhere), aggregated per sound as the
worst tag's (cleanlab's exponential moving average with alpha 1; its default 0.8 found fewer
planted errors), lowest (most suspect) first. The tags behind a low score are named: a given
tag the scores doubt ("wrong?") or a tag they are sure of that was not given ("missing?").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from core.label_pairs import cooccurrence_scores
from core.settings import THRESHOLD
from core.similar import EmbeddingIndex
from core.store import TagStore
from core.store.training_labels import training_labels
from core.vocabulary import load_vocabulary

if TYPE_CHECKING:
    from core.tagger import Tagger

DOUBT = 0.5  # a tag's own quality under this (the model leans the other way) is named
MAX_NAMED = 3  # tags named per suspect
NEIGHBOURS = 10  # judged neighbours whose labels are mixed into the scores
BLOCK = 1024  # sounds whose neighbours are found per matrix product


@dataclass(frozen=True)
class Suspect:
    sound_id: int  # the store's id
    name: str  # title or file name (user text)
    quality: float  # cleanlab's label quality in [0, 1]: low means likely wrong or incomplete
    labels_from: str  # "final" (a curator's) or "uploader"
    labels: tuple[str, ...]  # the given vocabulary tags that were judged
    # (tag, "wrong?"/"missing?", score): the mean of the model's, neighbours' and label pairs' scores
    issues: tuple[tuple[str, str, float], ...] = field(default=())

    def to_json(self) -> dict:
        return {"sound_id": self.sound_id, "name": self.name, "quality": round(self.quality, 6),
                "labels_from": self.labels_from, "labels": list(self.labels),
                "issues": [{"tag": t, "kind": k, "score": round(s, 6)} for t, k, s in self.issues]}


def given_labels(store: TagStore, threshold: float = THRESHOLD):
    """(row, labels, origin) of every sound with given vocabulary labels, oldest first."""
    vocab = set(load_vocabulary())
    rows = store.label_rows(threshold=threshold)
    sounds = store.get_sounds([r.id for r in rows])
    out = []
    for row in rows:
        given = training_labels(row, sounds[row.id].original_tags, "both")
        tags = tuple(t for t in given.tags if t in vocab)
        if tags and row.predicted:
            out.append((row, tags, given.origin))
    return out


def suspects(store: TagStore, threshold: float = THRESHOLD, index: EmbeddingIndex | None = None,
             tagger: Tagger | None = None, label_pairs: bool = True) -> list[Suspect]:
    """Every judged sound, most likely mislabeled first (ties: lower id first); `index` (the
    model's embeddings) mixes the nearest judged sounds' labels into the scores; `tagger` (the
    model whose embeddings the store holds) scores every judged tag from them; `label_pairs`
    mixes in what the sound's other given tags say of each tag (core.label_pairs)."""
    from cleanlab.multilabel_classification.rank import get_label_quality_scores_per_class

    items = given_labels(store, threshold)
    if not items:
        return []
    tags = sorted({t for _, given, _ in items for t in given}
                  | {t for row, _, _ in items for t, _ in row.predicted})
    col = {t: c for c, t in enumerate(tags)}
    probs = np.zeros((len(items), len(tags)), np.float64)
    for r, (row, _, _) in enumerate(items):
        for tag, score in row.predicted:
            if tag in col:
                probs[r, col[tag]] = min(max(score, 0.0), 1.0)
    if tagger is not None:
        probs = _scores_from_embeddings(probs, store, items, tags, tagger, index)
    labels = [[col[t] for t in given] for _, given, _ in items]
    given_hot = np.zeros(probs.shape, np.float32)
    for r, cols in enumerate(labels):
        given_hot[r, cols] = 1.0
    probs = _mixed_scores(probs, given_hot, items, index, label_pairs)
    per_tag = _relative_to_class(get_label_quality_scores_per_class(labels, probs), given_hot)
    quality = per_tag.min(axis=1)  # cleanlab's moving average with alpha 1: the worst tag
    out = [Suspect(row.id, row.name, float(q), origin, given,
                   _issues(per_tag[r], probs[r], set(given), tags))
           for r, ((row, given, origin), q) in enumerate(zip(items, quality, strict=True))]
    return sorted(out, key=lambda s: (s.quality, s.sound_id))


def _mixed_scores(probs: np.ndarray, given: np.ndarray, items: list,
                  index: EmbeddingIndex | None, label_pairs: bool) -> np.ndarray:
    """The mean of the out-of-sample scores at hand, per sound: the model's, the neighbours'
    label shares (sounds with an embedding in `index`) and the label pairs' (core.label_pairs)."""
    total, sources = probs.copy(), np.ones((len(probs), 1))
    if index is not None and len(index):
        at, near = _neighbour_shares(given, items, index)
        total[at] += near
        sources[at] += 1
    if label_pairs:
        total += cooccurrence_scores(given)
        sources += 1
    return np.clip(total / sources, 0.0, 1.0)


def _relative_to_class(per_tag: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Each tag's quality divided by its mean over the sounds with the same given yes/no for
    that tag (at most 1): cleanlab's per-class thresholds of confident learning, so a tag the
    scores are always unsure of (rare, or hard for the model) is not doubted everywhere. A tag
    given to one sound only is thus never doubted on that sound: judging such tags by their
    plain quality, or pulling every mean towards the mean over all tags (even by one
    pseudo-sound), found fewer planted errors on the recorded val pool (0.39 and 0.38 against
    0.51; README)."""
    relative = np.ones_like(per_tag)
    for value in (0.0, 1.0):
        mask = given == value
        mean = np.where(mask, per_tag, 0.0).sum(axis=0) / np.maximum(mask.sum(axis=0), 1)
        relative = np.where(mask, per_tag / np.maximum(mean, 1e-6), relative)
    return np.minimum(relative, 1.0)


def _scores_from_embeddings(probs: np.ndarray, store: TagStore, items: list, tags: list[str],
                            tagger: Tagger, index: EmbeddingIndex | None) -> np.ndarray:
    """Rows of sounds with the tagger's embedding scored for every judged tag; the others keep
    their stored predictions. The vectors come from `index` when it holds the tagger's, else
    from the store."""
    if index is not None and index.model == tagger.model_label:
        ids, stored = index.ids, index.as_stored  # read once, for the neighbours too
    else:
        ids, vectors = store.embedding_matrix(tagger.model_label)
        stored = vectors.__getitem__
    at = {int(i): n for n, i in enumerate(ids)}
    rows = [(r, at[row.id]) for r, (row, _, _) in enumerate(items) if row.id in at]
    if not rows:
        return probs
    position = {t: i for i, t in enumerate(tagger.vocabulary)}
    columns = [position.get(t) for t in tags]
    known = np.array([c is not None for c in columns])
    scored = probs.copy()
    for start in range(0, len(rows), BLOCK):
        part = rows[start:start + BLOCK]
        full = tagger.scores_from_embeddings(stored(np.array([v for _, v in part])))
        target = np.array([r for r, _ in part])
        scored[np.ix_(target, np.flatnonzero(known))] = full[:, [c for c in columns if c is not None]]
    return np.clip(scored, 0.0, 1.0)


def _neighbour_shares(given: np.ndarray, items: list,
                      index: EmbeddingIndex) -> tuple[np.ndarray, np.ndarray]:
    """(rows, shares): for each sound with an embedding, the share of its nearest other judged
    sounds, weighted by similarity, whose given labels carry each tag (core.neighbour_tags'
    tag shares, in blocks of matrix products)."""
    rows = [(r, index.vector(row.id)) for r, (row, _, _) in enumerate(items)]
    rows = [(r, v) for r, v in rows if v is not None]
    if len(rows) < 2:
        return np.zeros(0, int), np.zeros((0, given.shape[1]))
    at = np.array([r for r, _ in rows])
    unit = np.stack([v for _, v in rows])  # (m, size), unit length
    labels = given[at]  # (m, tags) multi-hot
    k = min(NEIGHBOURS, len(rows) - 1)
    shares = np.zeros(labels.shape)
    for start in range(0, len(rows), BLOCK):
        sims = unit[start:start + BLOCK] @ unit.T  # (block, m)
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf  # not itself
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (block, k)
        weights = np.maximum(np.take_along_axis(sims, top, axis=1), 0.0)
        total = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
        shares[start:start + BLOCK] = np.einsum("bk,bkt->bt", weights, labels[top])
    return at, shares


def _issues(per_tag: np.ndarray, probs: np.ndarray, given: set[str],
            tags: list[str]) -> tuple[tuple[str, str, float], ...]:
    worst = [c for c in np.argsort(per_tag, kind="stable")[:MAX_NAMED] if per_tag[c] < DOUBT]
    return tuple((tags[c], "wrong?" if tags[c] in given else "missing?", float(probs[c]))
                 for c in worst)


def order_by(found: list[Suspect], ids: list[int]) -> list[int]:
    """`ids` with the sounds of `found` first, in its order (most suspect first); sounds that
    are not judged (no given labels, no predictions) keep their order after them."""
    rank = {s.sound_id: r for r, s in enumerate(found)}
    judged = sorted((i for i in ids if i in rank), key=rank.__getitem__)
    return judged + [i for i in ids if i not in rank]
