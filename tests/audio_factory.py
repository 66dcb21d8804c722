"""Real audio files made by the tests themselves: tones, noise, chords, in any format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# extension -> (libsndfile container, subtype)
FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
           ".opus": ("OGG", "OPUS"), ".mp3": ("MP3", "MPEG_LAYER_III")}


def tone(seconds: float, rate: int = 44_100, freq: float = 440.0, channels: int = 1,
         seed: int = 0) -> np.ndarray:
    """A decaying tone with a little noise: (n,) or (n, channels) float32 in [-1, 1]."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    x = 0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-t * 1.5) + 0.01 * rng.standard_normal(len(t))
    x = x.astype(np.float32)
    if channels > 1:
        x = np.stack([x * (1 - 0.2 * c) for c in range(channels)], axis=1)
    return x


def write_audio(path: str | Path, data: np.ndarray, rate: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix.lower()
    container, subtype = FORMATS[ext]
    sf.write(str(path), data, rate, format=container, subtype=subtype)
    return path


def make_tone_file(path: str | Path, seconds: float = 2.0, rate: int = 44_100, freq: float = 440.0,
                   channels: int = 1, seed: int = 0) -> Path:
    return write_audio(path, tone(seconds, rate, freq, channels, seed), rate)
