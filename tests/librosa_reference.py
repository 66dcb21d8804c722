"""A straightforward librosa/numpy re-statement of COALA's feature steps 1-6, for parity tests."""

from __future__ import annotations

import librosa
import numpy as np

from core.features import default_scaler, seed_for


def reference_patch(path: str, max_seconds: float = 60.0, res_type: str = "kaiser_fast") -> np.ndarray:
    """COALA's steps 1-6; res_type "kaiser_fast" is COALA's resampling (resampy)."""
    y, _ = librosa.load(path, sr=22000, mono=True, duration=max_seconds, res_type=res_type)
    if len(y) < 220000:
        noise = np.random.default_rng(seed_for(y)).random(220000, dtype=np.float32) * np.float32(5e-4)
        noise[: len(y)] += y
        y = noise
    S = librosa.feature.melspectrogram(y=y, sr=22000, n_fft=1024, hop_length=512, n_mels=96,
                                       power=1, center=True, pad_mode="reflect")
    log_s = np.log(S + np.finfo(np.float32).eps)
    starts = range(0, log_s.shape[1] - 96 + 1, 12)
    best = max(starts, key=lambda s: (log_s[:, s:s + 96].sum(), -s))
    patch = log_s[:, best:best + 96]
    scaler = default_scaler()
    return np.maximum(patch * scaler.scale[None, :] + scaler.min[None, :], 0.0)
