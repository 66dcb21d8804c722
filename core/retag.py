"""Re-tag the stored sounds with another model (the promoted one, by default).

The new model's predictions are stored beside the old ones, under its own name@version, so the
store still says which model made each prediction and the feed shows the latest. Corrections are
never touched: a tag a person added, removed or confirmed stays as they left it. A sound the model
has already predicted is skipped, so a rerun after a stop picks up where it left off. Offers the
long-job seam (`on_progress`, `should_stop`) like the feed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import PREDICTIONS_KEPT
from core.store import SoundQuery, TagStore
from core.store.models import SoundRow
from core.tagger import Tagger

BATCH = 32  # sounds tagged, then stored together
TOP_K = PREDICTIONS_KEPT  # predictions stored per sound, as the feed stores

Progress = Callable[[int, int, str], None]  # (done, total, message)


@dataclass(frozen=True)
class RetagSummary:
    tagged: int  # sounds that got the model's predictions
    current: int  # sounds the model had predicted already (skipped)
    missing: int  # sounds whose audio file is gone (skipped)
    failed: int  # audio that could not be decoded
    model: str  # name@version of the model used
    errors: tuple[str, ...] = field(default=())  # one line per failed sound

    def line(self) -> str:
        return (f"re-tagged {self.tagged} sounds with {self.model}; already tagged by it "
                f"{self.current}, audio gone {self.missing}, failed {self.failed}")


def sounds_to_retag(store: TagStore, model: str, unreviewed_only: bool) -> tuple[list[SoundRow], int]:
    """(sounds whose current predictions are another model's, count already on `model`)."""
    rows = store.list_sounds(SoundQuery(reviewed=False if unreviewed_only else None,
                                        sort="oldest", limit=None))
    todo = [r for r in rows if r.labels.model != model]
    return todo, len(rows) - len(todo)


def retag(store: TagStore, tagger: Tagger, unreviewed_only: bool = False,
          on_progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None) -> RetagSummary:
    model = tagger.model_label
    todo, current = sounds_to_retag(store, model, unreviewed_only)
    present = [r for r in todo if r.audio_path and Path(r.audio_path).is_file()]
    tagged, errors = 0, []
    for start in range(0, len(present), BATCH):
        if should_stop and should_stop():
            break
        batch = present[start:start + BATCH]
        results = list(tagger.tag_files([r.audio_path for r in batch], top_k=TOP_K))
        done = [(r, res) for r, res in zip(batch, results, strict=True) if res.ok]
        items = [(r.id, res.tags, model) for r, res in done]
        errors += [f"sound {r.id}: {res.error}" for r, res in zip(batch, results, strict=True)
                   if not res.ok]
        tagged += store.add_predictions(items, [res.embedding for _, res in done])
        if on_progress:
            on_progress(start + len(batch), len(present), f"re-tagged {tagged}")
    return RetagSummary(tagged, current, len(todo) - len(present), len(errors), model,
                        tuple(errors))
