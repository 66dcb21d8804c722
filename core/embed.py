"""Embeddings for stored sounds that lack one (stored before schema 4, or by another model):
`python -m core embed`, or one at a time when a similar-sounds query needs it. The long-job seam
(`on_progress`, `should_stop`) as in core.retag. Predictions are not touched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.store import TagStore
from core.tagger import Tagger

BATCH = 32  # sounds embedded, then stored together

Progress = Callable[[int, int, str], None]  # (done, total, message)


@dataclass(frozen=True)
class EmbedSummary:
    embedded: int  # sounds that got the model's embedding
    missing: int  # sounds whose audio file is gone
    failed: int  # audio that could not be decoded
    model: str  # name@version

    def line(self) -> str:
        return (f"embedded {self.embedded} sounds with {self.model}; audio gone {self.missing}, "
                f"failed {self.failed}")


def embed_missing(store: TagStore, tagger: Tagger, ids: Sequence[int] | None = None,
                  on_progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None) -> EmbedSummary:
    """Embed the stored sounds (all, or `ids`) that have no embedding from the tagger's model."""
    model = tagger.model_label
    todo = store.without_embedding(model)
    if ids is not None:
        wanted = {int(i) for i in ids}
        todo = [t for t in todo if t[0] in wanted]
    present = [(sid, path) for sid, path in todo if path and Path(path).is_file()]
    embedded = failed = 0
    for start in range(0, len(present), BATCH):
        if should_stop and should_stop():
            break
        batch = present[start:start + BATCH]
        results = list(tagger.tag_files([path for _, path in batch], top_k=1))
        failed += sum(not r.ok for r in results)
        embedded += store.add_embeddings([(sid, model, r.embedding) for (sid, _), r
                                          in zip(batch, results, strict=True) if r.ok])
        if on_progress:
            on_progress(start + len(batch), len(present), f"embedded {embedded}")
    return EmbedSummary(embedded, len(todo) - len(present), failed, model)


def ensure_embedding(store: TagStore, tagger: Tagger, sound_id: int) -> np.ndarray | None:
    """The sound's embedding from the tagger's model, computed and stored when missing
    (None when its audio is gone or cannot be decoded)."""
    vector = store.embedding(sound_id, tagger.model_label)
    if vector is None:
        embed_missing(store, tagger, [sound_id])
        vector = store.embedding(sound_id, tagger.model_label)
    return vector
