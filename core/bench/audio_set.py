"""The benchmark's own audio: deterministic synthetic clips in several formats and lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

FORMATS = {".wav": ("WAV", "PCM_16"), ".ogg": ("OGG", "VORBIS"), ".mp3": ("MP3", "MPEG_LAYER_III")}


def synth_clip(seconds: float, rate: int, channels: int, seed: int) -> np.ndarray:
    """Decaying partials plus noise bursts: (n, channels) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(80, 2000)
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5)) * np.exp(-t * rng.uniform(0.2, 3))
    bursts = rng.standard_normal(len(t)) * (np.sin(2 * np.pi * rng.uniform(0.5, 4) * t) > 0.9)
    x = (0.3 * x + 0.05 * bursts).astype(np.float32)
    return np.stack([x * (1 - 0.1 * c) for c in range(channels)], axis=1)


def write_clip(path: Path, seconds: float, rate: int = 44_100, channels: int = 2, seed: int = 0) -> Path:
    container, subtype = FORMATS[path.suffix]
    sf.write(str(path), synth_clip(seconds, rate, channels, seed), rate, format=container, subtype=subtype)
    return path


def mixed_folder(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """n files: wav, ogg and mp3 in turn, 1-30 s, 22.05-48 kHz, mono or stereo."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    exts, rates = list(FORMATS), [22_050, 32_000, 44_100, 48_000]
    paths = []
    for i in range(n):
        path = folder / f"clip{i:04d}{exts[i % 3]}"
        if not path.exists():
            write_clip(path, float(rng.uniform(1, 30)), rates[i % 4], 1 + i % 2, seed + i)
        paths.append(path)
    return paths
