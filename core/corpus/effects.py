"""Effects on mono float32 clips. Two families:

- audible effects that earn a tag (reverb, echo, distortion, reverse, lofi, filter, wah, phaser,
  vibrato), and
- augmentations that earn none but keep the model from learning one renderer's fingerprint:
  small rooms, random EQ, band limits (through 8-16 kHz), lossy codec round trips (mp3, ogg),
  background noise, pitch shifts and level.
Each takes the clip, its rate and a seeded generator, and returns a new clip.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import soundfile as sf
import soxr
from scipy.fft import irfft, next_fast_len, rfft
from scipy.signal import fftconvolve, iirpeak, lfilter

from core.corpus.synth import bandpass, highpass, log_uniform, lowpass

CODEC_RATE = 22_050
Effect = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def room_response(rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic impulse response: sparse early reflections, then exponentially decaying noise."""
    n = max(16, int(rt60 * rate))
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail = lowpass(tail, log_uniform(rng, 2500, 9000), rate)
    early = np.zeros(n)
    taps = rng.integers(int(0.002 * rate), max(int(0.002 * rate) + 1, min(n, int(0.08 * rate))), 8)
    early[taps] = rng.uniform(-0.7, 0.7, 8)
    ir = tail * 0.5 + early
    ir[0] = 1.0
    return ir / np.sqrt(np.sum(ir ** 2))


def convolve_room(x: np.ndarray, rate: int, rng: np.random.Generator, rt60: float, wet: float) -> np.ndarray:
    wet_sig = fftconvolve(x, room_response(rate, rt60, rng))
    dry = np.zeros_like(wet_sig)
    dry[: len(x)] = x
    return (1 - wet) * dry + wet * wet_sig * (peak(x) / max(peak(wet_sig), 1e-9))


# --- audible, tagged -----------------------------------------------------------------------------
def reverb(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A large hall: RT60 1.2-4 s, mostly wet."""
    return convolve_room(x, rate, rng, rt60=rng.uniform(1.2, 4.0), wet=rng.uniform(0.4, 0.8))


def echo(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct repeats every 0.12-0.6 s, each quieter by the feedback factor."""
    delay, feedback = int(rng.uniform(0.12, 0.6) * rate), rng.uniform(0.35, 0.7)
    repeats = int(rng.integers(3, 8))
    out = np.zeros(len(x) + delay * repeats)
    for k in range(repeats + 1):
        out[k * delay:k * delay + len(x)] += x * feedback ** k
    return out


def distortion(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Overdrive (tanh), hard clipping or wave folding at high gain."""
    y = x / max(peak(x), 1e-9) * log_uniform(rng, 4, 40)
    mode = rng.integers(0, 3)
    if mode == 0:
        return np.tanh(y)
    if mode == 1:
        return np.clip(y, -1, 1)
    return np.sin(y)


def reverse(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    return x[::-1].copy()


def lofi(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Sample-and-hold down to 2-7 kHz without anti-aliasing, and 3-7 bit quantization."""
    hold = max(2, int(rate / log_uniform(rng, 2000, 7000)))
    y = np.repeat(x[::hold], hold)[: len(x)]
    levels = 2 ** int(rng.integers(3, 8))
    return np.round(y / max(peak(y), 1e-9) * levels) / levels


def filter_(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A steep low-pass, high-pass or band-pass that audibly removes part of the spectrum."""
    mode = rng.integers(0, 3)
    if mode == 0:
        return lowpass(x, log_uniform(rng, 250, 1200), rate, order=4)
    if mode == 1:
        return highpass(x, log_uniform(rng, 1500, 4000), rate, order=4)
    centre = log_uniform(rng, 400, 3000)
    return bandpass(x, centre / 1.5, centre * 1.5, rate, order=3)


def phaser(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Four to eight all-pass stages whose corner sweeps with a 0.1-2 Hz LFO, mixed with the dry
    signal: notches that glide up and down the spectrum."""
    corners = _lfo(len(x), rate, rng, rng.uniform(0.1, 2.0), log_uniform(rng, 200, 600),
                   log_uniform(rng, 1500, 5000))
    tan = np.tan(np.pi * np.minimum(corners, rate * 0.45) / rate)
    coeffs = (tan - 1) / (tan + 1)
    wet = x
    for _ in range(int(rng.integers(2, 5)) * 2):
        wet = _blockwise(wet, coeffs, lambda a: ([a, 1.0], [1.0, a]))
    return 0.5 * (x + wet * rng.uniform(0.7, 1.0))


def vibrato(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Pitch wavering 4-8 times a second by a quarter to a full semitone: a delay line swept by an LFO."""
    hz, semitones = rng.uniform(4, 8), rng.uniform(0.25, 1.0)
    depth_s = (2 ** (semitones / 12) - 1) / (2 * np.pi * hz)  # peak delay change for that pitch swing
    t = np.arange(len(x)) / rate
    delay = depth_s * (1 + np.sin(2 * np.pi * hz * t)) * rate
    return np.interp(np.arange(len(x)) - delay, np.arange(len(x)), x, left=0.0)


def wah(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A resonant band-pass swept between 400 Hz and 2.5 kHz, by an LFO or by the clip's own level
    (an auto-wah), like a wah-wah pedal."""
    n = len(x)
    if rng.random() < 0.5:
        centres = _lfo(n, rate, rng, rng.uniform(0.5, 4.0), log_uniform(rng, 350, 600),
                       log_uniform(rng, 1500, 2500))
    else:
        level = lowpass(np.abs(x), 15, rate)
        level = level / max(peak(level), 1e-9)
        centres = log_uniform(rng, 350, 600) * (1 + level * rng.uniform(2, 5))
    q = rng.uniform(2, 6)
    wet = _blockwise(x, centres, lambda f: iirpeak(min(f, rate * 0.45), q, rate))
    return wet / max(peak(wet), 1e-9) * peak(x)


def _lfo(n: int, rate: int, rng: np.random.Generator, hz: float, lo: float, hi: float) -> np.ndarray:
    """lo..hi Hz, swinging on a log scale `hz` times a second from a random phase."""
    swing = 0.5 - 0.5 * np.cos(2 * np.pi * hz * np.arange(n) / rate + rng.uniform(0, 2 * np.pi))
    return lo * (hi / lo) ** swing


def _blockwise(x: np.ndarray, control: np.ndarray, design, block: int = 128) -> np.ndarray:
    """Filter `x` with a time-varying filter: `design(control value)` gives (b, a) once per block
    of `block` samples; the filter's state carries over from block to block."""
    out = np.empty(len(x))
    zi = None
    for start in range(0, len(x), block):
        b, a = design(float(control[start]))
        if zi is None:
            zi = np.zeros(max(len(a), len(b)) - 1)
        out[start:start + block], zi = lfilter(b, a, x[start:start + block], zi=zi)
    return out


TAGGED: dict[str, Effect] = {"distortion": distortion, "filter": filter_, "wah": wah, "phaser": phaser,
                             "vibrato": vibrato, "lofi": lofi, "echo": echo, "reverb": reverb,
                             "reverse": reverse}
TAGGED_ORDER = ("vibrato", "distortion", "filter", "wah", "phaser", "lofi", "echo", "reverb",
                "reverse")  # signal-chain order


# --- augmentations, untagged ---------------------------------------------------------------------
def small_room(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A small, mostly dry room (RT60 0.08-0.5 s): far from the `reverb` tag's halls."""
    return convolve_room(x, rate, rng, rt60=rng.uniform(0.08, 0.5), wet=rng.uniform(0.1, 0.4))


def random_eq(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random gain curve, +-9 dB at six log-spaced frequencies."""
    n_fft = next_fast_len(len(x), real=True)
    spec = rfft(x, n_fft)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    knots = np.geomspace(60, rate / 2, 6)
    gains_db = rng.uniform(-9, 9, 6)
    curve = np.interp(np.log(np.maximum(freqs, 30)), np.log(knots), gains_db)
    return irfft(spec * 10 ** (curve / 20), n_fft)[: len(x)]


def band_limit(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Down to 8, 11.025 or 16 kHz and back: nothing left above 4-8 kHz, as in old recordings."""
    low = int(rng.choice([8000, 11025, 16000]))
    y = soxr.resample(soxr.resample(x.astype(np.float32), rate, low), low, rate)
    return _fit(y, len(x))


def codec(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """An mp3 or ogg/vorbis round trip at a low bitrate, in memory (at 22,050 Hz: mp3 has no 22,000)."""
    container, subtype = (("MP3", "MPEG_LAYER_III"), ("OGG", "VORBIS"))[int(rng.integers(0, 2))]
    buf = io.BytesIO()
    y = soxr.resample((x / max(peak(x), 1e-9) * 0.9).astype(np.float32), rate, CODEC_RATE)
    # libsndfile refuses mp3's lowest bitrates at 22,050 Hz (compression level near 1)
    sf.write(buf, y, CODEC_RATE, format=container, subtype=subtype,
             compression_level=rng.uniform(0.5, 0.9))
    buf.seek(0)
    decoded, _ = sf.read(buf, dtype="float32")
    return _fit(soxr.resample(decoded, CODEC_RATE, rate), len(x)) * peak(x) / 0.9


def background_noise(x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Faint hiss or rumble 20-45 dB under the clip."""
    noise = rng.standard_normal(len(x))
    if rng.random() < 0.5:
        noise = lowpass(noise, log_uniform(rng, 200, 3000), rate)
    snr_db = rng.uniform(20, 45)
    return x + noise * rms(x) / max(rms(noise), 1e-9) * 10 ** (-snr_db / 20)


def pitch_shift(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Resample like a sampler does: higher and shorter, or lower and longer."""
    if abs(semitones) < 1e-3:
        return x
    factor = 2 ** (semitones / 12)
    return soxr.resample(x.astype(np.float32), int(round(rate * factor)), rate)


AUGMENTATIONS: tuple[tuple[str, Effect, float], ...] = (  # (name, effect, probability), in order
    ("small_room", small_room, 0.3), ("random_eq", random_eq, 0.5), ("band_limit", band_limit, 0.25),
    ("codec", codec, 0.2), ("background_noise", background_noise, 0.3))


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, np.float32)
    out[: min(n, len(y))] = y[:n]
    return out
