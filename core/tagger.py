"""Tagger: a model directory in, ranked tags out, for paths, arrays or batches."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.audio import AudioError, DecodedAudio, load_audio, to_mono_22k
from core.device import resolve_device
from core.features import extract_patches
from core.modeldir import LoadedModel, load_model_dir

BATCH_SIZE = 32


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """One torch intra-op thread for the calling thread's work, restored after: with OpenMP (the
    Linux wheels) the setting is the calling thread's own, so the rest of the process (an app
    server, a training loop) keeps its threads."""
    before = torch.get_num_threads()
    if before == 1:  # the tagger's own worker threads are set once, when they start
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class TagResult:
    path: str | None
    tags: list[tuple[str, float]] = field(default_factory=list)  # ranked, highest first
    scores: np.ndarray | None = None  # (n_tags,) scores, calibrated when the model has thresholds
    patch_start: int = 0  # first frame of the analysed patch
    duration_s: float = 0.0  # of the whole input
    analysed_s: float = 0.0  # of the audio that was analysed
    truncated: bool = False  # only the first part of a long file was analysed
    error: str | None = None
    audio: DecodedAudio | None = None
    embedding: np.ndarray | None = None  # (embedding size,) float32, the penultimate layer

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self, model: str) -> dict:
        if self.error:
            return {"path": self.path, "error": self.error}
        out = {"path": self.path,
               "tags": [{"tag": t, "score": round(s, 6)} for t, s in self.tags],
               "model": model}
        if self.truncated:
            out["analysed_seconds"] = round(self.analysed_s, 3)
        return out


class Tagger:
    """Tags sounds with a model directory's CNN.

    Work is spread across files, not inside one clip: each worker thread decodes a file and
    extracts its patch with one torch thread, and the model scores the patches in batches, also
    with one torch thread (one_torch_thread: set for the tagger's work only, not the process).
    torch's intra-op threads on top of that would oversubscribe the cores: on 2 cores they
    took the p95 latency of one 10-s ogg from 24 ms to 134 ms and folder throughput from
    64 to 46 clips/s (see the README's Performance section). numpy's BLAS (the resampler's
    products) is held to one thread by core/resample.py itself.
    """

    def __init__(self, model_dir: str | Path | None = None, device: str = "auto",
                 embeddings: bool = True):
        self.device = resolve_device(device)
        self.loaded: LoadedModel = load_model_dir(model_dir, self.device)
        self.vocabulary = self.loaded.vocabulary
        self.embeddings = embeddings  # also return each sound's embedding (TagResult.embedding)

    @property
    def model_label(self) -> str:
        return self.loaded.info.label

    def rank(self, scores: np.ndarray, top_k: int | None = 10) -> list[tuple[str, float]]:
        order = np.argsort(-scores, kind="stable")[: top_k or len(scores)]
        return [(self.vocabulary[i], float(scores[i])) for i in order]

    def tag_array(self, samples: np.ndarray, rate: int, top_k: int | None = 10) -> TagResult:
        clip = to_mono_22k(samples, rate)
        decoded = DecodedAudio(clip, rate, 1 if samples.ndim == 1 else samples.shape[1],
                               len(samples) / rate, False)
        return self._results([self._prepare_audio(None, decoded)], top_k)[0]

    def tag_file(self, path: str | Path, top_k: int | None = 10) -> TagResult:
        """One file, decoded in this thread (a thread pool costs more than it saves here)."""
        return self._results([self._prepare(str(path))], top_k)[0]

    def tag_files(self, paths: Iterable[str | Path], top_k: int | None = 10,
                  workers: int | None = None) -> Iterator[TagResult]:
        """Decode and extract in parallel threads, score in batches; yields results in input order."""
        workers = workers or min(8, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            batch: list[_Prepared] = []
            for item in pool.map(self._prepare, [str(p) for p in paths]):
                batch.append(item)
                if len(batch) == BATCH_SIZE:
                    yield from self._results(batch, top_k)
                    batch = []
            if batch:
                yield from self._results(batch, top_k)

    def tag_patches(self, patches: np.ndarray | torch.Tensor, top_k: int | None = 10) -> list[TagResult]:
        """Scaled (batch, n_mels, n_frames) patches, as a COALA file holds them: results
        without audio (path None)."""
        patches = torch.as_tensor(np.asarray(patches, np.float32))
        results = []
        for start in range(0, len(patches), BATCH_SIZE):
            chunk = patches[start:start + BATCH_SIZE]
            results += self._results([_Prepared(None, _NO_AUDIO, p) for p in chunk], top_k)
        return results

    def _prepare(self, path: str) -> _Prepared:
        try:
            return self._prepare_audio(path, load_audio(path))
        except AudioError as e:
            return _Prepared(path, error=str(e))

    @torch.inference_mode()
    def _prepare_audio(self, path: str | None, audio: DecodedAudio) -> _Prepared:
        with one_torch_thread():
            feats = extract_patches([audio.samples], "cpu", self.loaded.scaler)
        return _Prepared(path, audio, feats.patches[0], feats.starts[0])

    @torch.inference_mode()
    def _score(self, patches: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """(batch, n_tags) scores: sigmoid outputs, calibrated by the model's per-tag thresholds
        when it has them (0.5 is then each tag's own threshold; see core.thresholds); and the
        (batch, embedding size) embeddings when the tagger returns them, else None."""
        patches = patches.to(self.device)
        with one_torch_thread():
            if self.embeddings:
                hidden, logits = self.loaded.model.forward_with_embedding(patches)
                embedded = hidden.float().cpu().numpy()
            else:
                logits, embedded = self.loaded.model(patches), None  # (batch, n_tags)
        return self._calibrated(logits), embedded

    @torch.inference_mode()
    def scores_from_embeddings(self, vectors: np.ndarray) -> np.ndarray:
        """(n, n_tags) scores of every vocabulary tag for stored embeddings of this model: its
        layers after the embedding, calibrated as tagging calibrates. A sound's stored
        predictions keep only its top tags; this gives the score of any tag without the audio."""
        hidden = torch.as_tensor(np.asarray(vectors, np.float32)).to(self.device)
        with one_torch_thread():
            logits = self.loaded.model.logits_from_embedding(hidden)
        return self._calibrated(logits)

    def _calibrated(self, logits: torch.Tensor) -> np.ndarray:
        scores = torch.sigmoid(logits).float().cpu().numpy()
        th = self.loaded.thresholds
        return th.calibrate(scores) if th is not None else scores

    def _results(self, batch: list[_Prepared], top_k) -> list[TagResult]:
        good = [item.patch for item in batch if item.error is None]
        scores, embedded = self._score(torch.stack(good)) if good else (None, None)
        results, row = [], 0
        for item in batch:
            if item.error is not None:
                results.append(TagResult(item.path, error=item.error))
                continue
            s, audio = scores[row], item.audio
            vector = embedded[row] if embedded is not None else None
            row += 1
            results.append(TagResult(item.path, self.rank(s, top_k), s, item.start, audio.duration_s,
                                     audio.analysed_s, audio.truncated, audio=audio,
                                     embedding=vector))
        return results


_NO_AUDIO = DecodedAudio(np.zeros(0, np.float32), 0, 1, 0.0, False)  # a patch given as it is


@dataclass
class _Prepared:
    """One input made ready for the model: its decoded audio and scaled patch, or why it failed."""

    path: str | None
    audio: DecodedAudio | None = None
    patch: torch.Tensor | None = None  # (n_mels, patch_frames), scaled
    start: int = 0
    error: str | None = None
