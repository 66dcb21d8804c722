"""espeak-ng speech: one phrase, word, number or letter in a given language and voice variant."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from core.corpus.fluid import RenderError

ESPEAK_TIMEOUT_S = 30


@dataclass(frozen=True)
class SpeechPart:
    text: str  # what is said
    language: str  # espeak-ng voice, e.g. "en-us", "es"
    variant: str  # espeak-ng variant, e.g. "m3", "f2", "whisper"
    speed: int  # words per minute (espeak -s), 80-260
    pitch: int  # base pitch 0-99 (espeak -p)
    robot: bool = False  # ring-modulate it into a robot voice


def render_speech(part: SpeechPart) -> tuple[np.ndarray, int]:
    """Returns (mono float32 samples, sample rate) straight from espeak-ng."""
    cmd = ["espeak-ng", "-v", f"{part.language}+{part.variant}", "-s", str(part.speed),
           "-p", str(part.pitch), "--stdout", part.text]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=ESPEAK_TIMEOUT_S, check=True).stdout
        audio, rate = sf.read(io.BytesIO(out), dtype="float32")
    except subprocess.CalledProcessError as e:
        raise RenderError(f"espeak-ng failed for {part}: {e.stderr.decode(errors='replace')[-300:]}") from e
    except subprocess.TimeoutExpired as e:
        raise RenderError(f"espeak-ng took longer than {ESPEAK_TIMEOUT_S} s for {part}") from e
    except sf.LibsndfileError as e:
        raise RenderError(f"espeak-ng wrote unreadable audio for {part}: {e}") from e
    if part.robot:
        audio = robotize(audio, rate, carrier_hz=40 + (part.pitch % 7) * 12)
    return audio.astype(np.float32), rate


def robotize(x: np.ndarray, rate: int, carrier_hz: float) -> np.ndarray:
    """Ring modulation plus a short metallic comb: the classic robot voice."""
    t = np.arange(len(x)) / rate
    ring = x * np.sin(2 * np.pi * carrier_hz * t)
    delay = int(rate / 180)
    comb = ring.copy()
    comb[delay:] += 0.6 * ring[:-delay]
    return comb
