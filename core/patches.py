"""COALA patches from HDF5 for training and evaluation: the whole file in memory when it fits, else
contiguous chunks of STREAM_CHUNK_ROWS rows (never one row at a time); seeded, rank-sharded batches;
several files mixed by weight; patch-level augmentation; prediction over files in order."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.dataset import dataset_size, fits_in_memory, read_coala

STREAM_CHUNK_ROWS = 4096  # rows read at once when a file does not fit in memory


class PatchSource:
    """The rows `rows` (None: all) of a COALA file: in memory when it fits, else streamed in chunks."""

    def __init__(self, path: str, rows: np.ndarray | None = None):
        self.path = path
        self.rows = None if rows is None else np.sort(np.asarray(rows))
        self.in_memory = fits_in_memory(path)
        self.x = self.y = None
        self.to_targets = None  # set by use_targets
        self.targets = None  # in memory: what training aims at when it is not the labels
        if self.in_memory:
            arrays = read_coala(path)  # one contiguous read of the whole file
            if self.rows is not None:
                arrays = arrays.subset(self.rows)
            self.x = torch.from_numpy(arrays.data)  # (n, 96, 96) float32
            self.y = torch.from_numpy(arrays.labels.astype(np.uint8))  # (n, n_tags)

    def __len__(self) -> int:
        return len(self.x) if self.in_memory else (
            dataset_size(self.path) if self.rows is None else len(self.rows))

    def label_frequencies(self) -> torch.Tensor:
        """(n_tags,) share of clips carrying each tag."""
        if self.in_memory:
            return self.y.float().mean(dim=0)
        total, n = None, 0
        for _, y in _ordered(self, STREAM_CHUNK_ROWS):
            s = y.float().sum(dim=0)
            total, n = (s if total is None else total + s), n + len(y)
        return total / max(n, 1)

    def use_targets(self, to_targets) -> None:
        """Train towards to_targets(labels, positions) -> float16 targets instead of the labels
        (core.distill); positions are the rows' places in this source's order. Predictions and
        label frequencies keep the labels."""
        self.to_targets = to_targets
        if self.in_memory:
            self.targets = torch.from_numpy(to_targets(self.y.numpy(), np.arange(len(self.y))))

    def n_batches(self, batch: int, world: int) -> int:
        return (len(self) // world) // batch

    def epoch(self, seed: int, batch: int, rank: int = 0, world: int = 1):
        """Yield (x, y) batches of this rank's share, in a seeded order; every rank gets as many.
        y is the labels (uint8), or the targets (float16) after use_targets."""
        n_batches = self.n_batches(batch, world)
        gen = torch.Generator().manual_seed(seed)
        if self.in_memory:
            order = torch.randperm(len(self), generator=gen)[rank::world][: n_batches * batch]
            aims = self.y if self.targets is None else self.targets
            for b in range(n_batches):
                idx = order[b * batch:(b + 1) * batch]
                yield self.x[idx], aims[idx]
            return
        yield from self._stream(gen, batch, rank, world, n_batches)

    def _stream(self, gen: torch.Generator, batch: int, rank: int, world: int, n_batches: int):
        n = dataset_size(self.path)
        starts = list(range(0, n, STREAM_CHUNK_ROWS))
        xs, ys, given = [], [], 0
        for c in torch.randperm(len(starts), generator=gen).tolist():
            a = read_coala(self.path, slice(starts[c], min(n, starts[c] + STREAM_CHUNK_ROWS)))
            keep = np.arange(starts[c], starts[c] + len(a))
            mask = (keep % world == rank) & (np.isin(keep, self.rows) if self.rows is not None else True)
            perm = torch.randperm(int(mask.sum()), generator=gen).numpy()
            xs.append(torch.from_numpy(a.data[mask][perm]))
            ys.append(torch.from_numpy(self._aims(a.labels[mask][perm], keep[mask][perm])))
            x, y = torch.cat(xs), torch.cat(ys)
            while len(x) >= batch and given < n_batches:
                yield x[:batch], y[:batch]
                x, y, given = x[batch:], y[batch:], given + 1
            xs, ys = [x], [y]
        # every rank stops at n_batches, computed from its share, so DDP steps stay in lockstep

    def _aims(self, labels: np.ndarray, file_rows: np.ndarray) -> np.ndarray:
        if self.to_targets is None:
            return labels.astype(np.uint8)
        positions = file_rows if self.rows is None else np.searchsorted(self.rows, file_rows)
        return self.to_targets(labels, positions)


class MixedSource:
    """Several sources sampled together: every batch holds a fixed share of rows from each, in
    proportion to its weight (largest remainder, at least one row each). An epoch is as many batches
    as the sources' rows fill; a source that runs out starts a new seeded pass of its own, so a small
    file (a user's corrections) can be drawn more often than it has rows."""

    def __init__(self, sources: list[PatchSource], weights: list[float]):
        if len(sources) != len(weights) or not sources:
            raise ValueError("one weight per source, at least one source")
        if any(w <= 0 for w in weights):
            raise ValueError(f"weights must be positive, got {weights}")
        self.sources, self.weights = sources, [float(w) for w in weights]

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def shares(self, batch: int) -> list[int]:
        """Rows per batch from each source: proportional to the weights, at least 1, summing to batch."""
        if batch < len(self.sources):
            raise ValueError(f"a batch of {batch} cannot hold a row of each of {len(self.sources)} files")
        total = sum(self.weights)
        exact = [batch * w / total for w in self.weights]
        rows = [max(1, int(e)) for e in exact]
        order = sorted(range(len(exact)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
        k = 0
        while sum(rows) < batch:
            rows[order[k % len(order)]] += 1
            k += 1
        while sum(rows) > batch:  # the minimum of 1 each overshot: take from the largest excess
            i = max((j for j in range(len(rows)) if rows[j] > 1), key=lambda j: rows[j] - exact[j])
            rows[i] -= 1
        return rows

    def label_frequencies(self) -> torch.Tensor:
        total = sum(self.weights)
        pairs = zip(self.sources, self.weights, strict=True)
        return sum(s.label_frequencies() * (w / total) for s, w in pairs)

    def n_batches(self, batch: int, world: int) -> int:
        return (len(self) // world) // batch

    def epoch(self, seed: int, batch: int, rank: int = 0, world: int = 1):
        n_batches = self.n_batches(batch, world)
        streams = [_endless(s, seed * 101 + i, rows, rank, world)
                   for i, (s, rows) in enumerate(zip(self.sources, self.shares(batch), strict=True))]
        for _ in range(n_batches):
            parts = [next(stream) for stream in streams]
            yield torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])


def _endless(source: PatchSource, seed: int, rows: int, rank: int, world: int):
    """Batches of `rows` from one source, pass after pass, each pass in its own seeded order."""
    if source.n_batches(rows, world) == 0:
        raise ValueError(f"{source.path} has too few rows for {rows} per batch")
    passes = 0
    while True:
        yield from source.epoch(seed * 7919 + passes, rows, rank, world)
        passes += 1


def spec_augment(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Zero one band of up to 12 mel bins and one span of up to 16 frames in a share p of clips."""
    b, n_mels, n_frames = x.shape  # (batch, n_mels, frames)
    chosen = (torch.rand(b, generator=gen) < p)[:, None, None]
    shape = (b, 1, 1)
    f0, fw = torch.randint(0, n_mels, shape, generator=gen), torch.randint(1, 13, shape, generator=gen)
    t0, tw = torch.randint(0, n_frames, shape, generator=gen), torch.randint(1, 17, shape, generator=gen)
    mel = torch.arange(n_mels)[None, :, None]
    frame = torch.arange(n_frames)[None, None, :]
    mask = ((mel >= f0) & (mel < f0 + fw)) | ((frame >= t0) & (frame < t0 + tw))  # (batch, mels, frames)
    return x.masked_fill(mask & chosen, 0.0)


@torch.no_grad()
def predict(model: nn.Module, data: PatchSource | MixedSource, device: torch.device, batch: int = 256,
            amp_dtype: torch.dtype | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid scores (N, n_tags) float32 and labels (N, n_tags) uint8 of every row, in file order."""
    model.eval()
    scores, labels = [], []
    for x, y in _ordered(data, batch):
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            logits = model(x.clamp_min(0.0).to(device))  # (batch, n_tags)
        scores.append(torch.sigmoid(logits.float()).cpu().numpy())
        labels.append(y.numpy())
    return np.concatenate(scores), np.concatenate(labels)


def _ordered(data: PatchSource | MixedSource, batch: int):
    if isinstance(data, MixedSource):
        for source in data.sources:
            yield from _ordered(source, batch)
        return
    if data.in_memory:
        for a in range(0, len(data), batch):
            yield data.x[a:a + batch], data.y[a:a + batch]
        return
    n = dataset_size(data.path)
    for start in range(0, n, STREAM_CHUNK_ROWS):
        arrays = read_coala(data.path, slice(start, min(n, start + STREAM_CHUNK_ROWS)))
        if data.rows is not None:
            keep = np.isin(np.arange(start, start + len(arrays)), data.rows)
            arrays = arrays.subset(np.flatnonzero(keep))
        for a in range(0, len(arrays), batch):
            yield (torch.from_numpy(arrays.data[a:a + batch]),
                   torch.from_numpy(arrays.labels[a:a + batch].astype(np.uint8)))
