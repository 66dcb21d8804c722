"""The course project's approach, re-implemented plainly as the benchmark's baseline."""

from __future__ import annotations

import numpy as np
import torch

from core.features import default_scaler


def course_patch(path: str) -> np.ndarray:
    """librosa.load at 22,000 Hz (kaiser_fast), librosa mel and log, numpy max-energy patch."""
    import librosa  # dev dependency; imported here so `core` starts without it

    y, _ = librosa.load(path, sr=22000, mono=True, res_type="kaiser_fast")
    return course_patch_from_samples(y)


def course_patch_from_samples(y: np.ndarray) -> np.ndarray:
    import librosa

    if len(y) < 220000:
        y = np.concatenate([y, np.zeros(220000 - len(y), np.float32)])
        y = y + 5e-4 * np.random.uniform(size=len(y)).astype(np.float32)
    S = librosa.feature.melspectrogram(y=y, sr=22000, n_fft=1024, hop_length=512, n_mels=96,
                                       power=1, pad_mode="reflect")
    log_s = np.log(S + np.finfo(np.float32).eps)
    best, best_sum = 0, -np.inf
    for start in range(0, log_s.shape[1] - 96 + 1, 12):
        total = log_s[:, start:start + 96].sum()
        if total > best_sum:
            best, best_sum = start, total
    scaler = default_scaler()
    return np.maximum(log_s[:, best:best + 96] * scaler.scale + scaler.min, 0).astype(np.float32)


@torch.inference_mode()
def course_tag(model: torch.nn.Module, path: str) -> np.ndarray:
    """One file at a time: patch, then the model, then sigmoid scores (n_tags,)."""
    patch = torch.from_numpy(course_patch(path))[None]  # (1, 96, 96)
    return torch.sigmoid(model(patch))[0].numpy()


class RowByRowDataset(torch.utils.data.Dataset):
    """The course loader: opens the HDF5 file and reads one row per item."""

    def __init__(self, path: str):
        import h5py

        self.path = path
        with h5py.File(path, "r") as f:
            self.n = f["dataset/id"].shape[0]
        self._file = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        import h5py

        if self._file is None:
            self._file = h5py.File(self.path, "r")
        g = self._file["dataset"]
        return torch.from_numpy(g["data"][i]), torch.from_numpy(g["label"][i].astype(np.float32))
