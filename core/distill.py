"""Distillation: a run can learn from teacher models as well as from the labels. Each training
row's target becomes (1 - w) * its label + w * the teachers' mean sigmoid score, w being
`TrainConfig.distill`. Teachers are model directories or run folders (their best.pt); their
scores over a training file are computed once per run, before the first epoch, and kept in the
run folder (teachers/), so a resumed run reads them back instead of predicting again.

Why: several models trained alike disagree most on the tags a clip's labels leave out, and their
averaged scores carry that doubt; one model trained towards the average keeps part of what the
ensemble gains, at a single model's cost (README, "Distilling several models into one")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.files import write_atomic, write_json
from core.modeldir import ModelNotFoundError, load_model_dir, read_model_info
from core.patches import PatchSource, predict
from core.runs import BEST
from core.vocabulary import load_vocabulary

TEACHER_FOLDER = "teachers"  # in the run folder: one .npy of mean teacher scores per training file


def check_teachers(teachers: Sequence[str]) -> None:
    """Each teacher is a run folder with a best epoch or a model directory, before any work."""
    for teacher in teachers:
        path = Path(teacher)
        if (path / BEST).is_file():
            continue
        try:
            read_model_info(path)
        except ModelNotFoundError:
            raise ValueError(f"--teacher {path}: neither a run folder with {BEST} "
                             "nor a model directory") from None


def load_teacher(path: str | Path) -> nn.Module:
    """A run folder's best epoch, or a model directory's weights; it must speak the COALA tags."""
    path = Path(path)
    if (path / BEST).is_file():
        from core.train import load_best  # core.train imports this module

        return load_best(path)[0]
    loaded = load_model_dir(path)
    if loaded.vocabulary != load_vocabulary():
        raise ValueError(f"teacher {path} has another vocabulary than the 1000 COALA tags")
    return loaded.model


def teacher_scores(teachers: Sequence[nn.Module], source: PatchSource, device: torch.device,
                   batch: int = 256, done: Callable[[], None] = lambda: None) -> np.ndarray:
    """(rows of the source, n_tags) float16: the teachers' mean sigmoid scores, in source order;
    `done` is called after each teacher."""
    total = None
    for model in teachers:
        scores, _ = predict(model.to(device), source, device, batch)
        total = scores if total is None else total + scores
        done()
    return (total / len(teachers)).astype(np.float16)


def soft_targets(labels: np.ndarray, scores: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * labels + weight * scores, float16 like the scores."""
    return ((1.0 - weight) * labels.astype(np.float32) + weight * scores).astype(np.float16)


def attach_teachers(sources: Sequence[PatchSource], teachers: Sequence[str], weight: float,
                    run_dir: Path, device: torch.device, batch: int = 256,
                    progress: Callable[[int, int], None] = lambda done, total: None) -> None:
    """Give every training source its soft targets, from the run folder when already computed;
    progress(done, total) counts (teacher, file) passes still to predict."""
    caches = [_cache_path(run_dir, source, teachers) for source in sources]
    total = len(teachers) * sum(not c.is_file() for c in caches)
    passes = 0
    models = None
    if total:
        progress(0, total)

    def one_done() -> None:
        nonlocal passes
        passes += 1
        progress(passes, total)

    for source, cache in zip(sources, caches, strict=True):
        if cache.is_file():
            scores = np.load(cache)
        else:
            models = models or [load_teacher(t) for t in teachers]
            scores = teacher_scores(models, source, device, batch, one_done)
            _save(cache, scores, source, teachers)
        if scores.shape[0] != len(source):
            raise ValueError(f"{cache} holds {scores.shape[0]} rows, {source.path} has {len(source)}")
        source.use_targets(lambda labels, pos, s=scores: soft_targets(labels, s[pos], weight))


def _cache_path(run_dir: Path, source: PatchSource, teachers: Sequence[str]) -> Path:
    rows = b"" if source.rows is None else source.rows.tobytes()
    key = hashlib.sha256(json.dumps([str(source.path), list(teachers)]).encode() + rows).hexdigest()
    return run_dir / TEACHER_FOLDER / f"{Path(source.path).stem}-{key[:12]}.npy"


def _save(cache: Path, scores: np.ndarray, source: PatchSource, teachers: Sequence[str]) -> None:
    write_atomic(cache, lambda f: np.save(f, scores))
    write_json(cache.with_suffix(".json"), {"data": str(source.path), "teachers": list(teachers),
                                            "rows": int(scores.shape[0])})
