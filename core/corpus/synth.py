"""Signals the corpus synthesizes with numpy: tones, noises, alarms, drones, synthetic drums, ...

Every generator takes a seeded `np.random.Generator` and a sample rate and returns a mono float32
clip peaking at 1; it draws its own duration and parameters, so one seed is one sound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import butter, sosfilt

Generator = Callable[[np.random.Generator, int], np.ndarray]
GENERATORS: dict[str, Generator] = {}


def generator(fn: Generator) -> Generator:
    GENERATORS[fn.__name__] = fn
    return fn


# --- building blocks --------------------------------------------------------------------------------
def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def phase_of(freq: np.ndarray | float, n: int, rate: int) -> np.ndarray:
    """Instantaneous phase (radians) of a tone whose frequency may change sample by sample."""
    f = np.broadcast_to(np.asarray(freq, np.float64), (n,))
    return 2 * np.pi * np.cumsum(f) / rate


def harmonics(phase: np.ndarray, f_max: float, rate: int, shape: str,
              top_hz: float | None = None) -> np.ndarray:
    """Band-limited additive waveform: 'sine', 'square' (odd 1/k) or 'saw' (all 1/k); partials of
    the highest fundamental `f_max` stop below Nyquist (or below `top_hz` when given)."""
    if shape == "sine":
        return np.sin(phase)
    n_harm = max(1, int(min(rate / 2, top_hz or rate) / max(f_max, 1.0)))
    ks = range(1, n_harm + 1, 2) if shape == "square" else range(1, n_harm + 1)
    return sum(np.sin(k * phase) / k for k in ks)


def envelope(n: int, rate: int, attack: float, release: float, decay: float = 0.0) -> np.ndarray:
    """Linear attack and release (seconds), optional exponential decay time constant."""
    t = np.arange(n) / rate
    env = np.minimum(1.0, t / max(attack, 1e-4)) * np.minimum(1.0, (t[-1] - t) / max(release, 1e-4))
    if decay > 0:
        env = env * np.exp(-t / decay)
    return np.clip(env, 0.0, 1.0)


def bandpass(x: np.ndarray, lo: float, hi: float, rate: int, order: int = 2) -> np.ndarray:
    nyq = rate / 2
    lo, hi = max(lo, 10.0), min(hi, nyq * 0.95)
    if lo >= hi:
        return x
    return sosfilt(butter(order, [lo / nyq, hi / nyq], "bandpass", output="sos"), x)


def highpass(x: np.ndarray, cutoff: float, rate: int, order: int = 2) -> np.ndarray:
    return sosfilt(butter(order, min(cutoff, rate * 0.45) / (rate / 2), "highpass", output="sos"), x)


def lowpass(x: np.ndarray, cutoff: float, rate: int, order: int = 2) -> np.ndarray:
    return sosfilt(butter(order, min(cutoff, rate * 0.45) / (rate / 2), "lowpass", output="sos"), x)


def normalize(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return (x / peak if peak > 0 else x).astype(np.float32)


def seconds(rng: np.random.Generator, lo: float, hi: float, rate: int) -> int:
    return max(16, int(log_uniform(rng, lo, hi) * rate))


def banded_noise(rng: np.random.Generator, n: int, rate: int, centers: np.ndarray) -> np.ndarray:
    """Noise whose spectral centre follows `centers` (Hz, per sample): a bank of crossfaded bands."""
    edges = np.geomspace(100, rate * 0.45, 13)
    out = np.zeros(n)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mid = np.sqrt(lo * hi)
        weight = np.exp(-0.5 * (np.log(centers / mid) / 0.5) ** 2)  # (n,) band gain
        out += bandpass(rng.standard_normal(n), lo, hi, rate) * weight
    return out


def tone(rng: np.random.Generator, rate: int, shape: str) -> np.ndarray:
    n = seconds(rng, 0.2, 6.0, rate)
    f = log_uniform(rng, 60, 3000 if shape == "sine" else 1200)
    x = harmonics(phase_of(f, n, rate), f, rate, shape)
    decay = 0.0 if rng.random() < 0.6 else log_uniform(rng, 0.1, 2.0)
    return normalize(x * envelope(n, rate, log_uniform(rng, 0.002, 0.1), 0.02, decay))


# --- tones --------------------------------------------------------------------------------------------
@generator
def sine(rng: np.random.Generator, rate: int) -> np.ndarray:
    return tone(rng, rate, "sine")


@generator
def square(rng: np.random.Generator, rate: int) -> np.ndarray:
    return tone(rng, rate, "square")


@generator
def saw(rng: np.random.Generator, rate: int) -> np.ndarray:
    return tone(rng, rate, "saw")


@generator
def beep(rng: np.random.Generator, rate: int) -> np.ndarray:
    """One to four short beeps, sine or soft square, 400-3500 Hz."""
    f, shape = log_uniform(rng, 400, 3500), str(rng.choice(["sine", "sine", "square"]))
    n_on, n_off = seconds(rng, 0.04, 0.5, rate), seconds(rng, 0.03, 0.3, rate)
    beep_ = harmonics(phase_of(f, n_on, rate), f * 3, rate, shape) * envelope(n_on, rate, 0.003, 0.005)
    gap = np.zeros(n_off)
    count = int(rng.choice([1, 1, 2, 3, 4]))
    return normalize(np.concatenate([np.concatenate([beep_, gap]) for _ in range(count)])[:-n_off])


@generator
def blip(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A very short pitched chirp (20-120 ms) gliding up or down."""
    n = seconds(rng, 0.02, 0.12, rate)
    f0, f1 = log_uniform(rng, 300, 3000), log_uniform(rng, 300, 3000)
    x = np.sin(phase_of(np.geomspace(f0, f1, n), n, rate))
    return normalize(x * envelope(n, rate, 0.002, 0.01))


@generator
def sweep(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A sine (sometimes saw) sweeping up or down over 0.3-5 s."""
    n = seconds(rng, 0.3, 5.0, rate)
    f0, f1 = log_uniform(rng, 40, 400), log_uniform(rng, 1500, 9000)
    if rng.random() < 0.5:
        f0, f1 = f1, f0
    freqs = np.geomspace(f0, f1, n) if rng.random() < 0.7 else np.linspace(f0, f1, n)
    shape = "saw" if rng.random() < 0.25 else "sine"
    return normalize(harmonics(phase_of(freqs, n, rate), max(f0, f1), rate, shape)
                     * envelope(n, rate, 0.01, 0.02))


@generator
def fm(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Two-operator FM: a carrier modulated at a ratio, the index decaying (bells, basses, plucks)."""
    n = seconds(rng, 0.2, 3.0, rate)
    fc = log_uniform(rng, 80, 1200)
    ratio = float(rng.choice([0.5, 1.0, 1.4, 2.0, 3.5, 7.0]))
    index = rng.uniform(1, 8) * np.exp(-np.arange(n) / rate / log_uniform(rng, 0.05, 1.5))
    mod = index * np.sin(phase_of(fc * ratio, n, rate))
    x = np.sin(phase_of(fc, n, rate) + mod)
    return normalize(x * envelope(n, rate, 0.003, 0.05, log_uniform(rng, 0.2, 3.0)))


@generator
def ding(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A struck bell: inharmonic partials, each decaying at its own rate."""
    n = seconds(rng, 0.5, 3.5, rate)
    f, t = log_uniform(rng, 350, 2200), np.arange(n) / rate
    tau = log_uniform(rng, 0.3, 2.0)
    x = sum(a * np.sin(2 * np.pi * f * r * t + rng.uniform(0, 6.28)) * np.exp(-t * r / tau)
            for r, a in ((1.0, 1.0), (2.76, 0.6), (5.40, 0.4), (8.93, 0.25), (0.5, 0.3)) if f * r < rate / 2)
    return normalize(x * envelope(n, rate, 0.001, 0.02))


@generator
def pulse(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A band-limited pulse wave of 5-40 % duty (a square is 50 %), the duty sometimes swept (PWM)."""
    n = seconds(rng, 0.2, 5.0, rate)
    f = log_uniform(rng, 50, 1000)
    ph = phase_of(f, n, rate)
    duty = rng.uniform(0.05, 0.4)
    if rng.random() < 0.4:
        duty = duty + (0.45 - duty) * (0.5 - 0.5 * np.cos(phase_of(rng.uniform(0.3, 4), n, rate)))
    x = sum(np.sin(np.pi * k * duty) / k * np.cos(k * ph) for k in range(1, min(int(rate / 2 / f), 60) + 1))
    return normalize(x * envelope(n, rate, log_uniform(rng, 0.002, 0.05), 0.02))


@generator
def sub(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A sub bass: a 30-65 Hz sine, held or decaying like an 808, sometimes gliding into its pitch."""
    n = seconds(rng, 0.4, 4.0, rate)
    t = np.arange(n) / rate
    f = log_uniform(rng, 30, 65) * (1 + rng.uniform(0, 1.5) * np.exp(-t / 0.03) * (rng.random() < 0.5))
    decay = 0.0 if rng.random() < 0.5 else log_uniform(rng, 0.3, 2.0)
    return normalize(np.tanh(rng.uniform(1, 2) * np.sin(phase_of(f, n, rate)))
                     * envelope(n, rate, 0.005, 0.05, decay))


@generator
def acid(rng: np.random.Generator, rate: int) -> np.ndarray:
    """An acid bass line: sixteenth notes of a saw or square through a resonant low-pass whose cutoff
    snaps open on each note and closes again (the squelch of a TB-303)."""
    step = seconds(rng, 0.09, 0.16, rate)
    root = log_uniform(rng, 40, 90)
    q = rng.uniform(4, 14)
    shape_odd = rng.random() < 0.4
    out = []
    for _ in range(int(rng.integers(8, 33))):
        f0 = root * 2 ** (int(rng.choice([0, 0, 0, 3, 5, 7, 10, 12])) / 12)
        t = np.arange(step) / rate
        opening = log_uniform(rng, 500, 4000) * np.exp(-t / log_uniform(rng, 0.02, 0.12))
        cutoff = log_uniform(rng, 150, 400) + opening
        ph = phase_of(f0, step, rate)
        ks = range(1, int(rate / 2 / f0), 2 if shape_odd else 1)
        ratio = [k * f0 / cutoff for k in ks]
        note = sum(np.sin(k * ph) / k / np.sqrt((1 - r ** 2) ** 2 + (r / q) ** 2)
                   for k, r in zip(ks, ratio, strict=True))
        out.append(note * envelope(step, rate, 0.002, 0.01) * (rng.random() > 0.15))
    return normalize(np.tanh(np.concatenate(out) / 4))


@generator
def ufo(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A flying saucer: a sine warbling 6-20 times a second around a slowly rising or falling pitch."""
    n = seconds(rng, 1.0, 5.0, rate)
    centre = np.geomspace(log_uniform(rng, 300, 1500), log_uniform(rng, 300, 1500), n)
    warble = 1 + rng.uniform(0.1, 0.4) * np.sin(phase_of(rng.uniform(6, 20), n, rate))
    x = np.sin(phase_of(centre * warble, n, rate))
    return normalize(x * envelope(n, rate, 0.1, 0.2))


@generator
def coin(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A video game's coin pickup: a short square note, then a longer one a fourth or fifth up."""
    f = log_uniform(rng, 700, 1400)
    notes = []
    for ratio, lo, hi in ((1.0, 0.04, 0.09), (float(rng.choice([4 / 3, 3 / 2, 2.0])), 0.15, 0.5)):
        n = seconds(rng, lo, hi, rate)
        ph = (np.arange(n) * f * ratio / rate) % 1.0
        notes.append(np.where(ph < 0.5, 1.0, -1.0) * envelope(n, rate, 0.001, 0.01, n / rate / 2))
    return normalize(np.concatenate(notes))


# --- noises -------------------------------------------------------------------------------------------
@generator
def white_noise(rng: np.random.Generator, rate: int) -> np.ndarray:
    n = seconds(rng, 0.3, 6.0, rate)
    return normalize(rng.standard_normal(n) * envelope(n, rate, log_uniform(rng, 0.002, 0.3), 0.05))


@generator
def brown_noise(rng: np.random.Generator, rate: int) -> np.ndarray:
    n = seconds(rng, 0.5, 6.0, rate)
    x = highpass(np.cumsum(rng.standard_normal(n)), 20, rate)
    return normalize(x * envelope(n, rate, log_uniform(rng, 0.01, 0.5), 0.1))


@generator
def whoosh(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Noise whose band rises and falls, swelling and fading: a pass-by."""
    n = seconds(rng, 0.3, 2.0, rate)
    u = np.linspace(0, 1, n)
    peak = rng.uniform(0.3, 0.7)
    bell = np.exp(-0.5 * ((u - peak) / rng.uniform(0.12, 0.25)) ** 2)
    centers = log_uniform(rng, 200, 600) * (1 + bell * log_uniform(rng, 2, 12))
    return normalize(banded_noise(rng, n, rate, centers) * bell)


@generator
def wind(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Low banded noise with a slowly wandering centre and gusting level."""
    n = seconds(rng, 2.0, 8.0, rate)
    knots = rng.uniform(0, 1, 8)
    slow = np.interp(np.linspace(0, 7, n), np.arange(8), knots)
    centers = 150 + slow * log_uniform(rng, 300, 1500)
    gust = 0.3 + 0.7 * slow
    return normalize(banded_noise(rng, n, rate, centers) * gust * envelope(n, rate, 0.3, 0.3))


@generator
def vinyl(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Surface crackle: sparse clicks of random size over a faint hiss and rumble."""
    n = seconds(rng, 1.5, 8.0, rate)
    x = 0.02 * lowpass(rng.standard_normal(n), 6000, rate) + 0.05 * lowpass(rng.standard_normal(n), 60, rate)
    n_clicks = int(n / rate * rng.uniform(5, 40))
    pos = rng.integers(0, n - 8, n_clicks)
    x[pos] += rng.choice([-1, 1], n_clicks) * rng.pareto(2.0, n_clicks).clip(0, 8) * 0.3
    return normalize(highpass(x, 30, rate))


@generator
def radio_static(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A radio between stations: band-limited hiss with crackle, fading in and out, and sometimes the
    whistle of a carrier sliding past as the dial turns."""
    n = seconds(rng, 1.0, 6.0, rate)
    x = bandpass(rng.standard_normal(n), log_uniform(rng, 150, 500), log_uniform(rng, 2500, 5000), rate)
    x *= 0.6 + 0.4 * np.sin(phase_of(rng.uniform(0.2, 2), n, rate))
    pos = rng.integers(0, n, int(n / rate * rng.uniform(10, 60)))
    x[pos] += rng.choice([-1, 1], len(pos)) * rng.uniform(2, 6, len(pos))
    if rng.random() < 0.5:
        whistle = np.geomspace(log_uniform(rng, 300, 3000), log_uniform(rng, 300, 3000), n)
        x += rng.uniform(0.3, 1.0) * np.sin(phase_of(whistle, n, rate))
    return normalize(x * envelope(n, rate, 0.02, 0.05))


# --- alarms, machines ---------------------------------------------------------------------------------
@generator
def siren(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A wail (slow) or yelp (fast) pitch sweep between two frequencies."""
    n = seconds(rng, 1.5, 6.0, rate)
    lo, hi = log_uniform(rng, 400, 900), log_uniform(rng, 1100, 2000)
    lfo_rate = rng.uniform(0.2, 0.6) if rng.random() < 0.5 else rng.uniform(3, 8)
    lfo = 0.5 - 0.5 * np.cos(phase_of(lfo_rate, n, rate))
    freqs = lo + (hi - lo) * lfo
    x = harmonics(phase_of(freqs, n, rate), hi * 2, rate, "saw" if rng.random() < 0.4 else "sine")
    return normalize(lowpass(x, 5000, rate) * envelope(n, rate, 0.05, 0.1))


@generator
def alarm(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Pulsed or two-tone beeping at 2-10 Hz."""
    n = seconds(rng, 1.0, 5.0, rate)
    f1 = log_uniform(rng, 500, 3000)
    f2 = f1 * rng.choice([1.0, 1.25, 1.5, 0.8])
    pulse_hz = rng.uniform(2, 10)
    gate = (np.sin(phase_of(pulse_hz, n, rate)) > 0).astype(float)
    freqs = np.where(np.sin(phase_of(pulse_hz / 2, n, rate)) > 0, f1, f2)
    x = harmonics(phase_of(freqs, n, rate), max(f1, f2) * 3, rate, "square")
    return normalize(lowpass(x * gate, 8000, rate) * envelope(n, rate, 0.005, 0.02))


@generator
def phone_ring(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A telephone ring: two close tones, gated in the North American or British cadence."""
    n = seconds(rng, 1.5, 5.0, rate)
    f1, f2 = ((440, 480), (400, 450), (425, 475))[int(rng.integers(0, 3))]
    t = np.arange(n) / rate
    x = np.sin(2 * np.pi * f1 * t) + np.sin(2 * np.pi * f2 * t)
    period = rng.choice([3.0, 2.0])
    on = (t % period) < (period * 0.4) if rng.random() < 0.5 else ((t % 3.0) < 0.4) | (
        ((t % 3.0) > 0.6) & ((t % 3.0) < 1.0))
    return normalize(x * on * envelope(n, rate, 0.01, 0.02))


@generator
def hum(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Mains hum and buzz: 50 or 60 Hz and its harmonics, steady or slowly beating."""
    n = seconds(rng, 1.0, 6.0, rate)
    f = float(rng.choice([50.0, 60.0, 100.0, 120.0]))
    t = np.arange(n) / rate
    amps = rng.uniform(0, 1, 20) * (np.arange(1, 21) ** -rng.uniform(0.3, 1.5))
    x = sum(a * np.sin(2 * np.pi * f * (k + 1) * t + rng.uniform(0, 6.28)) for k, a in enumerate(amps))
    beating = 1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 2) * t)
    return normalize(x * beating * envelope(n, rate, 0.05, 0.05))


@generator
def drone(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Slowly moving detuned low saws: a dark, sustained drone."""
    n = seconds(rng, 3.0, 9.0, rate)
    f = log_uniform(rng, 35, 140)
    cutoff = log_uniform(rng, 250, 1200)
    voices = [harmonics(phase_of(f * r * (1 + rng.uniform(-0.006, 0.006)), n, rate), f * r, rate, "saw",
                        top_hz=2 * cutoff)
              for r in (1.0, 1.0, 1.5, 2.0)[: int(rng.integers(2, 5))]]
    x = lowpass(sum(voices), cutoff, rate)
    swell = 0.7 + 0.3 * np.sin(phase_of(rng.uniform(0.05, 0.3), n, rate))
    return normalize(x * swell * envelope(n, rate, rng.uniform(0.2, 1.5), 0.5))


@generator
def metronome(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Regular clicks at 50-200 bpm, every fourth one higher."""
    bpm, count = rng.uniform(50, 200), int(rng.integers(3, 13))
    step = int(60 / bpm * rate)
    click_n = int(0.03 * rate)
    f = log_uniform(rng, 800, 2500)
    out = np.zeros(step * count + click_n)
    for i in range(count):
        fi = f * (1.5 if i % 4 == 0 else 1.0)
        t = np.arange(click_n) / rate
        out[i * step:i * step + click_n] += np.sin(2 * np.pi * fi * t) * np.exp(-t / 0.006)
    return normalize(out)


@generator
def click(rng: np.random.Generator, rate: int) -> np.ndarray:
    """One to three clicks: an impulse or a 1-10 ms noise burst, filtered."""
    out = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        n = seconds(rng, 0.001, 0.01, rate)
        burst = rng.standard_normal(n) * np.exp(-np.arange(n) / max(1, n / 4))
        out += [burst, np.zeros(seconds(rng, 0.03, 0.25, rate))]
    x = np.concatenate(out)
    return normalize(bandpass(x, log_uniform(rng, 200, 1500), log_uniform(rng, 3000, 10000), rate))


@generator
def laser(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Fast exponential pitch drops with a little FM: pew."""
    shots = []
    for _ in range(int(rng.choice([1, 1, 2, 3]))):
        n = seconds(rng, 0.08, 0.5, rate)
        freqs = np.geomspace(log_uniform(rng, 1500, 6000), log_uniform(rng, 80, 500), n)
        ph = phase_of(freqs, n, rate)
        x = np.sin(ph + rng.uniform(0, 3) * np.sin(ph * rng.choice([0.5, 2.0])))
        shots += [x * envelope(n, rate, 0.002, 0.02), np.zeros(seconds(rng, 0.02, 0.2, rate))]
    return normalize(np.concatenate(shots))


@generator
def chiptune(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Pulse-wave arpeggios and jingles in 50-150 ms steps, like an old game console."""
    step = seconds(rng, 0.05, 0.15, rate)
    root = 48 + int(rng.integers(0, 24))
    scale = np.array([0, 4, 7, 12, 16, 19]) if rng.random() < 0.5 else np.array([0, 3, 7, 12, 15, 19])
    notes = root + rng.choice(scale, int(rng.integers(6, 24)))
    duty = float(rng.choice([0.125, 0.25, 0.5]))
    out = []
    for note in notes:
        f = 440 * 2 ** ((note - 69) / 12)
        ph = (np.arange(step) * f / rate) % 1.0
        out.append(np.where(ph < duty, 1.0, -1.0) * envelope(step, rate, 0.001, 0.004))
    return normalize(np.concatenate(out))


@generator
def wobble(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A dubstep wobble bass: a low saw whose lowpass cutoff swings with an LFO."""
    n = seconds(rng, 1.0, 4.0, rate)
    f0, lfo_hz = log_uniform(rng, 35, 90), float(rng.choice([1, 2, 3, 4, 6, 8]))
    cutoff = 150 + log_uniform(rng, 600, 2500) * (0.5 - 0.5 * np.cos(phase_of(lfo_hz, n, rate)))
    ph = phase_of(f0, n, rate)
    x = sum(np.sin(k * ph) / k / (1 + (k * f0 / cutoff) ** 4) for k in range(1, int(3500 / f0)))
    return normalize(np.tanh(2 * x) * envelope(n, rate, 0.01, 0.05))


@generator
def glitch(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Stuttered, reversed and crushed 10-80 ms slices of a tone or noise."""
    src = GENERATORS[str(rng.choice(["square", "saw", "fm", "white_noise", "chiptune"]))](rng, rate)
    out = []
    for _ in range(int(rng.integers(6, 30))):
        n = seconds(rng, 0.01, 0.08, rate)
        start = int(rng.integers(0, max(1, len(src) - n)))
        piece = src[start:start + n]
        piece = piece[::-1] if rng.random() < 0.3 else piece
        piece = np.round(piece * 4) / 4 if rng.random() < 0.3 else piece
        out.append(np.tile(piece, int(rng.choice([1, 1, 2, 4]))))
    return normalize(np.concatenate(out))


# --- synthetic drums ----------------------------------------------------------------------------------
@generator
def synth_kick(rng: np.random.Generator, rate: int) -> np.ndarray:
    """An analog-style kick: a sine falling from ~150 to ~45 Hz with a short click."""
    n = seconds(rng, 0.15, 0.9, rate)
    t = np.arange(n) / rate
    f = log_uniform(rng, 38, 60) + log_uniform(rng, 60, 250) * np.exp(-t / log_uniform(rng, 0.01, 0.06))
    x = np.sin(phase_of(f, n, rate)) * np.exp(-t / log_uniform(rng, 0.06, 0.5))
    x[: int(0.003 * rate)] += rng.standard_normal(int(0.003 * rate)) * rng.uniform(0, 0.5)
    return normalize(np.tanh(x * rng.uniform(1, 3)))


@generator
def synth_snare(rng: np.random.Generator, rate: int) -> np.ndarray:
    """A tone around 200 Hz plus a bright noise burst, both decaying fast."""
    n = seconds(rng, 0.12, 0.5, rate)
    t = np.arange(n) / rate
    body = np.sin(2 * np.pi * log_uniform(rng, 150, 280) * t) * np.exp(-t / log_uniform(rng, 0.02, 0.08))
    snap = bandpass(rng.standard_normal(n), log_uniform(rng, 800, 2500), 10000, rate)
    snap *= np.exp(-t / log_uniform(rng, 0.04, 0.2))
    return normalize(body * rng.uniform(0.3, 1.0) + snap)


@generator
def synth_hihat(rng: np.random.Generator, rate: int) -> np.ndarray:
    """High-passed noise (and metallic square partials), closed (short) or open (long)."""
    n = seconds(rng, 0.03, 0.6, rate)
    t = np.arange(n) / rate
    metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (205.3, 304.4, 369.6, 522.7, 540, 800))
    x = highpass(rng.standard_normal(n) + rng.uniform(0, 0.5) * metal, log_uniform(rng, 5000, 8000), rate, 4)
    return normalize(x * np.exp(-t / max(0.01, n / rate / 4)))


@generator
def synth_clap(rng: np.random.Generator, rate: int) -> np.ndarray:
    """Three or four noise bursts 8-15 ms apart, then a decaying band-passed tail."""
    spacing = int(log_uniform(rng, 0.008, 0.015) * rate)
    n = seconds(rng, 0.15, 0.6, rate) + 4 * spacing
    t = np.arange(n) / rate
    env = np.zeros(n)
    for i in range(int(rng.integers(3, 5))):
        env[i * spacing:] += np.exp(-(t[: n - i * spacing]) / 0.004)
    env += 0.6 * np.exp(-t / log_uniform(rng, 0.05, 0.2)) * (t > 3 * spacing / rate)
    centre = log_uniform(rng, 900, 2000)
    return normalize(bandpass(rng.standard_normal(n), centre * 0.6, centre * 2.5, rate) * env)
