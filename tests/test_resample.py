"""core.resample reproduces resampy's kaiser_fast (COALA's librosa 0.7.2 loading) without numba."""

import numpy as np
import pytest

from core.resample import kaiser_fast_table, resample

resampy = pytest.importorskip("resampy")
librosa = pytest.importorskip("librosa")

# Rates COALA met on Freesound, plus rates that share few factors with 22,000 (many phases) and
# one where the output is longer than the input.
RATES = [44_100, 48_000, 96_000, 32_000, 22_050, 16_000, 11_025, 8_000, 44_101, 7_999]


def noise(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Full-band noise: every part of the filter, up to the input's Nyquist, shows in it."""
    return (0.3 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def test_table_is_resampys_kaiser_fast():
    half_window, precision, rolloff = resampy.filters.get_filter("kaiser_fast")
    assert precision == 512 and len(kaiser_fast_table()) == len(half_window)
    np.testing.assert_allclose(kaiser_fast_table(), half_window, rtol=0, atol=1e-9)


@pytest.mark.parametrize("rate", RATES)
def test_equals_librosa_kaiser_fast(rate):
    x = noise(2.3, rate, seed=rate)
    ref = librosa.resample(x, orig_sr=rate, target_sr=22_000, res_type="kaiser_fast")
    ours = resample(x, rate, 22_000)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 2e-6  # float32 round-off on values of about +-1


def test_other_filters_are_told_apart():
    """The comparison above can fail: resampy's kaiser_best differs from kaiser_fast."""
    x = noise(1.0, 44_100)
    best = resampy.resample(x, 44_100, 22_000, filter="kaiser_best")
    assert np.abs(resample(x, 44_100, 22_000)[: len(best)] - best).max() > 1e-2


def test_same_rate_and_tiny_inputs():
    x = noise(0.5, 22_000)
    np.testing.assert_array_equal(resample(x, 22_000, 22_000), x)
    assert resample(x[:1], 44_100, 22_000).tolist() == [0.0]  # librosa pads resampy's 0 samples
    assert len(resample(x[:0], 44_100, 22_000)) == 0
    np.testing.assert_allclose(resample(x[:3], 8_000, 22_000),
                               librosa.resample(x[:3], orig_sr=8_000, target_sr=22_000,
                                                res_type="kaiser_fast"), atol=2e-6)


def test_every_process_gets_the_same_samples_bit_for_bit(tmp_path):
    """BLAS's thread count changes the order of its sums: resample holds it to one thread, so
    processes started with one or with two BLAS threads give the same samples."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = ("import sys, numpy as np; from core.resample import resample; "
            "x = np.load(sys.argv[1]); np.save(sys.argv[2], resample(x, int(sys.argv[3]), 22000))")
    for rate in (44_100, 48_000):
        x = noise(3.0, rate, seed=7)
        np.save(tmp_path / "x.npy", x)
        for threads in ("1", "2"):
            subprocess.run([sys.executable, "-c", code, tmp_path / "x.npy",
                            tmp_path / f"y{threads}.npy", str(rate)], check=True, cwd=root,
                           env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root),
                                "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads})
        np.testing.assert_array_equal(np.load(tmp_path / "y1.npy"), np.load(tmp_path / "y2.npy"))
        np.testing.assert_array_equal(np.load(tmp_path / "y1.npy"), resample(x, rate, 22_000))
