"""COALA's resampler, in numpy: resampy's `kaiser_fast` filter, as librosa 0.7.2 applied it.

COALA loaded audio with `librosa.load(sr=22000, res_type='kaiser_fast')`: resampy evaluates a
Kaiser-windowed sinc table at every output time (linear interpolation between table entries) and
librosa zero-pads the result to `ceil(n * ratio)` samples. For a rational ratio num/den the output
times repeat their fractional part every `den` outputs, so here the taps are built once per phase,
exactly as resampy interpolates them, and applied as a few strided matrix products. It matches
resampy 0.4.3 to float32 round-off (tests/test_resample.py) without numba's import and JIT cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import gcd

import numpy as np
from numpy.lib.stride_tricks import as_strided

# resampy's data/kaiser_fast.npz, rebuilt: 24 zero crossings, 2**9 entries per crossing. The two
# shape values are its stored roll-off and the beta that reproduces its table to 4e-11.
KAISER_FAST_ZEROS = 24  # zero crossings of the sinc on each side
KAISER_FAST_PRECISION = 512  # table entries per zero crossing
KAISER_FAST_ROLLOFF = 0.8682120388377784  # cut-off, as a fraction of the lower Nyquist
KAISER_FAST_BETA = 9.903224388127958  # Kaiser window shape
TABLE_SIZE = KAISER_FAST_ZEROS * KAISER_FAST_PRECISION + 1  # 12,289: the right wing
EXTRA_READ = 1.0  # phases share a product while it reads at most this much more than their taps
ROWS_PER_PRODUCT = 4_096  # outputs per phase in one product: copies stay under 8 MB
MANY_PHASES = 2_000  # rates sharing few factors with the target (44,101 Hz: 22,000 phases)


@lru_cache(maxsize=1)
def kaiser_fast_table() -> np.ndarray:
    """(TABLE_SIZE,) float64: the right wing of resampy's kaiser_fast interpolation filter."""
    n = TABLE_SIZE - 1
    sinc = KAISER_FAST_ROLLOFF * np.sinc(
        KAISER_FAST_ROLLOFF * np.linspace(0, KAISER_FAST_ZEROS, num=n + 1, endpoint=True))
    return np.kaiser(2 * n + 1, KAISER_FAST_BETA)[n:] * sinc


@dataclass(frozen=True)
class _Plan:
    num: int  # input samples advanced every `den` outputs
    den: int  # phases: output times repeat their fraction every den outputs
    wing: int  # taps on each side of an output time; a phase's window is 2 * wing samples
    step: float  # input samples per output sample, as resampy computes it (a float)
    starts: np.ndarray  # (groups,) first window sample of each group of phases
    taps: np.ndarray  # (groups, span, phases per group) float32: the phases' taps, shifted
    below: np.ndarray  # (2 * wing,) resampy's taps for a time rounded just below an integer


def resample(x: np.ndarray, sr_orig: int, sr_new: int) -> np.ndarray:
    """(n,) float array at sr_orig -> (ceil(n * sr_new / sr_orig),) float32, as
    `librosa.resample(x, orig_sr=sr_orig, target_sr=sr_new, res_type='kaiser_fast')`."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if sr_orig == sr_new:
        return x.copy()
    ratio = float(sr_new) / sr_orig
    y = np.zeros(int(np.ceil(len(x) * ratio)), np.float32)  # librosa's fix_length
    n_out = int(len(x) * float(sr_new) / float(sr_orig))  # resampy's own length
    if n_out < 1:
        return y
    _blas_on_one_thread()
    plan = _plan(int(sr_orig), int(sr_new))
    rows = -(-n_out // plan.den)  # outputs per phase, rounded up
    groups, span, per = plan.taps.shape
    padded = np.zeros(plan.wing - 1 + (rows + 1) * plan.num + span, np.float32)
    padded[plan.wing - 1: plan.wing - 1 + len(x)] = x  # padded[i + wing - 1] = x[i]
    by_phase = np.empty((rows, groups * per), np.float32)  # (output // den, output % den)
    for first in range(0, rows, ROWS_PER_PRODUCT):  # bounds the copies of overlapping windows
        block = by_phase[first:first + ROWS_PER_PRODUCT]
        for g, start in enumerate(plan.starts):
            windows = _windows(padded, start + first * plan.num, len(block), span, plan.num)
            block[:, g * per:(g + 1) * per] = windows @ plan.taps[g]
    y[:n_out] = by_phase[:, :plan.den].reshape(-1)[:n_out]
    _redo_rounded_down(y, padded, n_out, plan)
    return y


@lru_cache(maxsize=1)
def _blas_on_one_thread() -> None:
    """numpy's BLAS on one thread for the process, from the first resampling on. Its products then
    add up in the same order in every process, so a file gives the same patch bit for bit
    whichever command computes it (with two threads the sums differ by 1e-7), and its threads no
    longer spin against the tagger's worker threads (that doubled the CPU time of a warm 10-s ogg
    on a busy machine)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _windows(padded: np.ndarray, first: int, rows: int, width: int, hop: int) -> np.ndarray:
    """(rows, width): row k is padded[first + k * hop: ... + width]. A view when rows do not
    overlap; else a copy, as BLAS needs (numpy's own loop for the view is 100 times slower)."""
    size = padded.itemsize
    view = as_strided(padded[first:], shape=(rows, width), strides=(hop * size, size),
                      writeable=False)
    return view if hop >= width else np.ascontiguousarray(view)


def _redo_rounded_down(y: np.ndarray, padded: np.ndarray, n_out: int, plan: _Plan) -> None:
    """resampy takes output t at float time t * step. Where that is an exact integer, rounding
    can land just below it: resampy then sums from the sample before. Redo those outputs so."""
    t = np.arange(0, n_out, plan.den)
    k = t // plan.den
    late = (t * plan.step).astype(np.int64) < k * plan.num
    if late.any():
        starts = k[late] * plan.num - 1  # the window of the sample before, in padded indices
        y[t[late]] = padded[starts[:, None] + np.arange(2 * plan.wing)] @ plan.below


def _plan(sr_orig: int, sr_new: int) -> _Plan:
    if sr_new // gcd(sr_orig, sr_new) <= MANY_PHASES:
        return _common_plan(sr_orig, sr_new)
    return _rare_plan(sr_orig, sr_new)


@lru_cache(maxsize=8)
def _common_plan(sr_orig: int, sr_new: int) -> _Plan:  # at most a few MB each
    return _build_plan(sr_orig, sr_new)


@lru_cache(maxsize=1)
def _rare_plan(sr_orig: int, sr_new: int) -> _Plan:  # 17 MB for 44,101 Hz, 73 MB for 192,001 Hz
    return _build_plan(sr_orig, sr_new)


def _build_plan(sr_orig: int, sr_new: int) -> _Plan:
    g = gcd(sr_orig, sr_new)
    num, den = sr_orig // g, sr_new // g
    ratio = float(sr_new) / sr_orig
    step = 1.0 / ratio
    scale = min(1.0, ratio)
    table = kaiser_fast_table() * ratio if ratio < 1 else kaiser_fast_table()
    index_step = int(scale * KAISER_FAST_PRECISION)
    wing = TABLE_SIZE // index_step
    times = np.arange(den) * step  # one output time per phase, as resampy computes it
    weights = _taps(times - times.astype(np.int64), scale, table, index_step, wing)
    below = _taps(np.array([1.0]), scale, table, index_step, wing, just_below=True)[0]
    starts, taps = _group(weights, np.arange(den) * num // den, num)
    return _Plan(num, den, wing, step, starts, taps, below.astype(np.float32))


def _taps(fracs: np.ndarray, scale: float, table: np.ndarray, index_step: int, wing: int,
          just_below: bool = False) -> np.ndarray:
    """resampy's weights for output times n + fracs: (len(fracs), 2 * wing), column j
    multiplying x[n - wing + 1 + j] (its left wing reversed, then its right wing)."""
    frac = scale * fracs
    if just_below:  # resampy's frac for a time a rounding below the next integer
        frac = np.nextafter(frac, 0.0)
    left = _wing(frac, table, index_step, wing)  # [:, i] multiplies x[n - i]
    right = _wing(scale - frac, table, index_step, wing)  # [:, k] multiplies x[n + 1 + k]
    return np.concatenate([left[:, ::-1], right], axis=1)


def _wing(frac: np.ndarray, table: np.ndarray, index_step: int, wing: int) -> np.ndarray:
    delta = np.diff(table, append=table[-1])
    index_frac = frac * KAISER_FAST_PRECISION
    offset = index_frac.astype(np.int64)
    eta = index_frac - offset
    i = np.arange(wing)
    used = i < ((len(table) - offset) // index_step)[:, None]  # resampy's tap count
    idx = np.where(used, offset[:, None] + i * index_step, 0)
    return np.where(used, table[idx] + eta[:, None] * delta[idx], 0.0)


def _group(weights: np.ndarray, bases: np.ndarray, num: int) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive phases share one product, their taps shifted to where their windows start:
    (groups,) first samples and (groups, span, per) taps."""
    den, width = weights.shape
    per = max(1, min(den, int(EXTRA_READ * width * den / num)))
    phase = np.arange(den)
    starts = bases[::per]
    shift = bases - starts[phase // per]  # (den,) where each phase's window starts in its group
    taps = np.zeros((len(starts), int(shift.max()) + width, per), np.float32)
    taps[(phase // per)[:, None], shift[:, None] + np.arange(width), (phase % per)[:, None]] = weights
    return starts, taps
