"""The COALA feature pipeline, once, in torch: waveform -> log-mel -> max-energy patch -> scaler.

Steps 1-6 of ../shared/coala/README.md (COALA `utils.py`, librosa 0.7.2), batched on any device.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.audio import SAMPLE_RATE

N_FFT = 1024
HOP_LENGTH = 512
N_MELS = 96
PAD_SECONDS = 10
N_PAD_SAMPLES = PAD_SECONDS * SAMPLE_RATE  # 220,000: shorter clips are zero-padded to this
NOISE_AMPLITUDE = 5e-4  # uniform [0, 1) noise added to padded clips
LOG_EPS = float(np.finfo(np.float32).eps)
PATCH_FRAMES = 96  # patch width (time frames)
PATCH_HOP = 12  # candidate patches start every 12 frames
N_PAD_FRAMES = 1 + N_PAD_SAMPLES // HOP_LENGTH  # 430 frames for 10 s (center=True)
assert N_PAD_FRAMES == 430, "COALA's 10 s clips give 430 frames"
assert N_PAD_FRAMES >= PATCH_FRAMES

ASSETS = Path(__file__).parent / "assets"
SCALER_PATH = ASSETS / "scaler_top_1000.json"

FEATURE_CONSTANTS = {
    "sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop_length": HOP_LENGTH, "n_mels": N_MELS,
    "window": "hann", "center": True, "pad_mode": "reflect", "power": 1, "mel": "slaney",
    "pad_seconds": PAD_SECONDS, "noise_amplitude": NOISE_AMPLITUDE, "log": "ln(S + eps32)",
    "patch_frames": PATCH_FRAMES, "patch_hop": PATCH_HOP, "clamp_min": 0.0,
}


@dataclass(frozen=True)
class Scaler:
    """COALA's MinMaxScaler: its 96 features are the 96 time positions of a patch."""

    scale: np.ndarray  # (96,)
    min: np.ndarray  # (96,)

    @classmethod
    def from_json(cls, path: str | Path = SCALER_PATH) -> Scaler:
        d = json.loads(Path(path).read_text())
        return cls(np.asarray(d["scale"], np.float32), np.asarray(d["min"], np.float32))

    def to_dict(self) -> dict:
        return {"scale": self.scale.tolist(), "min": self.min.tolist()}


@dataclass
class FeatureBatch:
    patches: torch.Tensor  # (batch, n_mels, patch_frames), scaled, >= 0
    starts: list[int]  # first frame of each clip's chosen patch
    logmels: list[torch.Tensor] | None = None  # (n_mels, frames) each, when asked for


@lru_cache(maxsize=1)
def default_scaler() -> Scaler:
    return Scaler.from_json(SCALER_PATH)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    f = np.asarray(f, dtype=np.float64)
    mels = f / f_sp
    log_t = f >= min_log_hz
    mels[log_t] = min_log_mel + np.log(f[log_t] / min_log_hz) / logstep
    return mels


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    freqs = f_sp * m
    log_t = m >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (m[log_t] - min_log_mel))
    return freqs


def mel_filterbank_np(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular filters, as librosa.filters.mel: (n_mels, bins)."""
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0],
                                   _hz_to_mel(np.array([sr / 2]))[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=4)
def _mel_filters(device: torch.device) -> torch.Tensor:
    return torch.from_numpy(mel_filterbank_np()).to(device)


@lru_cache(maxsize=4)
def _hann(device: torch.device) -> torch.Tensor:
    return torch.hann_window(N_FFT, periodic=True, device=device)


def seed_for(samples: np.ndarray) -> int:
    """A seed drawn from the audio itself, so the same file always gets the same padding noise.

    Built from the length and the whole-unit part of the summed magnitude, not from the exact
    bytes: decoders and downmixes that differ by float round-off still draw the same noise.
    """
    magnitude = int(np.abs(samples).sum(dtype=np.float64))
    return zlib.crc32(f"{len(samples)}:{magnitude}".encode())


def pad_with_noise(samples: np.ndarray, seed: int | None = None) -> np.ndarray:
    """Step 2: clips under 10 s are zero-padded to 10 s plus 5e-4 * U[0,1) noise; others kept."""
    if len(samples) >= N_PAD_SAMPLES:
        return np.asarray(samples, dtype=np.float32)
    rng = np.random.default_rng(seed_for(samples) if seed is None else seed)
    out = rng.random(N_PAD_SAMPLES, dtype=np.float32) * np.float32(NOISE_AMPLITUDE)
    out[: len(samples)] += samples
    return out


def log_mel(waveforms: torch.Tensor) -> torch.Tensor:
    """Steps 3-4: (batch, samples) -> natural-log magnitude mel (batch, n_mels, frames)."""
    device = waveforms.device
    spec = torch.stft(waveforms, N_FFT, HOP_LENGTH, window=_hann(device), center=True,
                      pad_mode="reflect", return_complex=True)  # (batch, bins, frames)
    mel = torch.matmul(_mel_filters(device), spec.abs())  # (batch, n_mels, frames)
    return torch.log(mel + LOG_EPS)


def best_patch_starts(logmels: torch.Tensor) -> torch.Tensor:
    """Step 5: first frame of the 96-frame window (hop 12) with the largest summed log value."""
    energy = logmels.sum(dim=1)  # (batch, frames)
    windows = energy.unfold(1, PATCH_FRAMES, PATCH_HOP).sum(dim=2)  # (batch, n_windows)
    return windows.argmax(dim=1) * PATCH_HOP


def scale_patches(patches: torch.Tensor, scaler: Scaler | None = None) -> torch.Tensor:
    """Step 6: per-time-position MinMax scaling, clamped at 0. (batch, mel, time) in and out."""
    scaler = scaler or default_scaler()
    scale = torch.as_tensor(scaler.scale, device=patches.device)
    offset = torch.as_tensor(scaler.min, device=patches.device)
    return (patches * scale + offset).clamp_min(0.0)


def extract_patches(clips: list[np.ndarray], device: str | torch.device = "cpu",
                    scaler: Scaler | None = None, keep_logmel: bool = False) -> FeatureBatch:
    """Mono 22 kHz clips -> scaled patches (batch, 96, 96), clips of equal length batched together."""
    device = torch.device(device)
    prepared = [pad_with_noise(c) for c in clips]
    patches: list[torch.Tensor | None] = [None] * len(clips)
    starts = [0] * len(clips)
    logmels: list[torch.Tensor | None] = [None] * len(clips)
    by_length: dict[int, list[int]] = {}
    for i, w in enumerate(prepared):
        by_length.setdefault(len(w), []).append(i)
    for idx in by_length.values():
        wave = torch.from_numpy(np.stack([prepared[i] for i in idx])).to(device)  # (b, samples)
        lm = log_mel(wave)  # (b, n_mels, frames)
        st = best_patch_starts(lm)
        for j, i in enumerate(idx):
            s = int(st[j])
            patches[i] = lm[j, :, s:s + PATCH_FRAMES]
            starts[i] = s
            logmels[i] = lm[j].cpu() if keep_logmel else None
    batch = scale_patches(torch.stack(patches), scaler)
    return FeatureBatch(batch, starts, logmels if keep_logmel else None)


def patch_for(samples: np.ndarray, scaler: Scaler | None = None) -> np.ndarray:
    """One clip -> the float32 (96 mel, 96 time) patch the model sees."""
    return extract_patches([samples], scaler=scaler).patches[0].numpy()
