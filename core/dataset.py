"""The COALA HDF5 dataset format: group `dataset` with `id` (N,1) int32, `data` (N,96,96) float32
and `label` (N,1000) int16. Read in memory or streamed in chunks; written incrementally, from
arrays or from audio files (each decoded and made into the patch the tagger sees)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

GROUP = "dataset"
PATCH_SHAPE = (96, 96)
IN_MEMORY_LIMIT_BYTES = 4 * 2**30  # larger files are streamed chunk by chunk
CHUNK_ROWS = 256


class DatasetFormatError(Exception):
    pass


@dataclass
class CoalaArrays:
    ids: np.ndarray  # (N,) int64 Freesound (or corpus) ids
    data: np.ndarray  # (N, 96, 96) float32 scaled patches
    labels: np.ndarray  # (N, n_tags) int16 multi-hot

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: np.ndarray) -> CoalaArrays:
        return CoalaArrays(self.ids[idx], self.data[idx], self.labels[idx])


def _check_layout(f: h5py.File, path: Path) -> h5py.Group:
    if GROUP not in f:
        raise DatasetFormatError(f"{path}: no '{GROUP}' group (not a COALA HDF5 file)")
    g = f[GROUP]
    missing = {"id", "data", "label"} - set(g.keys())
    if missing:
        raise DatasetFormatError(f"{path}: group '{GROUP}' lacks {sorted(missing)}")
    n = g["id"].shape[0]
    if g["data"].shape[1:] != PATCH_SHAPE or g["data"].shape[0] != n or g["label"].shape[0] != n:
        raise DatasetFormatError(f"{path}: inconsistent shapes id {g['id'].shape}, "
                                 f"data {g['data'].shape}, label {g['label'].shape}")
    return g


def open_for_reading(path: str | Path) -> h5py.File:
    """The HDF5 file, read-only; a missing or non-HDF5 file raises DatasetFormatError in one line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise DatasetFormatError(f"{path}: not a readable HDF5 file ({e})") from None


def dataset_size(path: str | Path) -> int:
    with open_for_reading(path) as f:
        return _check_layout(f, Path(path))["id"].shape[0]


def read_coala(path: str | Path, rows: slice | np.ndarray | None = None) -> CoalaArrays:
    """Read the whole file (or the given rows, sorted) into memory."""
    path = Path(path)
    with open_for_reading(path) as f:
        g = _check_layout(f, path)
        sel = slice(None) if rows is None else rows
        ids = np.asarray(g["id"][sel]).reshape(-1).astype(np.int64)
        return CoalaArrays(ids, np.asarray(g["data"][sel], np.float32),
                           np.asarray(g["label"][sel], np.int16))


def iter_chunks(path: str | Path, chunk_rows: int = 4096):
    """Stream a file of any size as CoalaArrays chunks of contiguous rows."""
    n = dataset_size(path)
    for start in range(0, n, chunk_rows):
        yield read_coala(path, slice(start, min(n, start + chunk_rows)))


def fits_in_memory(path: str | Path) -> bool:
    n = dataset_size(path)
    return n * (96 * 96 * 4 + 1000 * 2) < IN_MEMORY_LIMIT_BYTES


class CoalaWriter:
    """Append rows to a new COALA HDF5 file; `with CoalaWriter(path) as w: w.append(...)`."""

    def __init__(self, path: str | Path, n_tags: int = 1000):
        self.path = Path(path)
        self.n_tags = n_tags
        self._file: h5py.File | None = None

    def __enter__(self) -> CoalaWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = h5py.File(self.path, "w")
        g = self._file.create_group(GROUP)
        g.create_dataset("id", (0, 1), maxshape=(None, 1), dtype=np.int32, chunks=(CHUNK_ROWS, 1))
        g.create_dataset("data", (0, *PATCH_SHAPE), maxshape=(None, *PATCH_SHAPE),
                         dtype=np.float32, chunks=(CHUNK_ROWS // 8, *PATCH_SHAPE))
        g.create_dataset("label", (0, self.n_tags), maxshape=(None, self.n_tags), dtype=np.int16,
                         chunks=(CHUNK_ROWS, self.n_tags))
        return self

    def append(self, ids: np.ndarray, data: np.ndarray, labels: np.ndarray) -> None:
        g = self._file[GROUP]
        n, k = g["id"].shape[0], len(ids)
        for key, values in (("id", np.asarray(ids, np.int32).reshape(-1, 1)),
                            ("data", np.asarray(data, np.float32)),
                            ("label", np.asarray(labels, np.int16))):
            g[key].resize(n + k, axis=0)
            g[key][n:n + k] = values

    def __exit__(self, *exc) -> None:
        self._file.close()


@dataclass(frozen=True)
class AudioRow:
    """One clip to write from its audio file (the tag store feeds these: core.store.export)."""

    clip_id: int  # the `id` column
    audio_path: str | None  # the file its patch is made from (None: no audio kept)
    tags: Sequence[str]  # its labels; tags outside the vocabulary are ignored
    store_id: int | None = None  # written to the `store_id` column


def missing_audio(audio_path: str | None) -> str | None:
    """Why a row's audio cannot be read, before decoding it; None when the file is there."""
    if not audio_path:
        return "no audio file stored"
    if not Path(audio_path).is_file():
        return f"audio file is gone: {audio_path}"
    return None


def write_audio_rows(path: str | Path, rows: Sequence[AudioRow],
                     progress: Callable[[int, int], None] | None = None) -> dict[int, str]:
    """A COALA file of the rows' patches and labels, plus `store_id`; returns the rows left out
    (row index -> why: no audio, or audio that cannot be decoded)."""
    from core.audio import AudioError, load_audio  # torch only when audio is written
    from core.features import patch_for
    from core.vocabulary import load_vocabulary, multi_hot

    vocab = load_vocabulary()
    skipped, store_ids = {}, []
    with CoalaWriter(path, len(vocab)) as writer:
        for i, row in enumerate(rows):
            why = missing_audio(row.audio_path)
            try:
                patch = None if why else patch_for(load_audio(row.audio_path).samples)  # (96, 96)
            except AudioError as e:
                why = f"audio cannot be decoded: {e}"
            if why:
                skipped[i] = why
            else:
                writer.append(np.array([row.clip_id]), patch[None], multi_hot(row.tags, vocab)[None])
                store_ids.append(-1 if row.store_id is None else row.store_id)
            if progress:
                progress(i + 1, len(rows))
    with h5py.File(path, "a") as f:
        f[GROUP].create_dataset("store_id", data=np.asarray(store_ids, np.int64))
    return skipped


def synthetic_arrays(n: int, seed: int = 0) -> CoalaArrays:
    """n random patches with sparse labels: data for throughput measurements, not for learning."""
    rng = np.random.default_rng(seed)
    return CoalaArrays(np.arange(n), rng.random((n, 96, 96), dtype=np.float32),
                       (rng.random((n, 1000)) < 0.01).astype(np.int16))


def write_coala(path: str | Path, arrays: CoalaArrays) -> None:
    with CoalaWriter(path, arrays.labels.shape[1]) as w:
        w.append(arrays.ids, arrays.data, arrays.labels)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded train/validation split without replacement: (train_idx, val_idx), each sorted."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_fraction)))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def parse_data_spec(spec: str) -> tuple[str, float]:
    """"PATH:WEIGHT" -> (PATH, WEIGHT); a plain PATH weighs 1. A path may itself hold colons."""
    path, sep, weight = spec.rpartition(":")
    if sep and path:
        try:
            value = float(weight)
        except ValueError:
            return spec, 1.0
        if not value > 0:
            raise ValueError(f"the weight of {path} must be a positive number, got {weight}")
        return path, value
    return spec, 1.0
