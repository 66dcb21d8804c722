"""The torch feature pipeline matches a plain librosa statement of COALA's steps 1-6."""

import numpy as np
import pytest
import torch

from core.audio import load_audio
from core.features import (
    N_PAD_FRAMES,
    extract_patches,
    log_mel,
    mel_filterbank_np,
    pad_with_noise,
    patch_for,
)
from tests.audio_factory import make_tone_file, tone
from tests.librosa_reference import reference_patch

librosa = pytest.importorskip("librosa")

# Scaled values live in about [0, 1]; the scaler multiplies ln-mel by ~0.05, so 1e-4 on scaled
# values is 0.002 in ln-mel (0.2 % in magnitude). Measured differences are ~1e-6 (float32 STFT
# round-off); a real skew (dB instead of ln, power instead of magnitude, Hamming, 22,050 Hz)
# moves values by 0.01 or more.
TOLERANCE = 1e-4


def test_mel_filterbank_equals_librosa():
    ref = librosa.filters.mel(sr=22000, n_fft=1024, n_mels=96)
    np.testing.assert_allclose(mel_filterbank_np(), ref, atol=1e-7)


def test_log_mel_equals_librosa_on_padded_clip():
    y = pad_with_noise(tone(3.0, 22000))
    ref = np.log(librosa.feature.melspectrogram(y=y, sr=22000, n_fft=1024, hop_length=512,
                                                n_mels=96, power=1, pad_mode="reflect")
                 + np.finfo(np.float32).eps)
    ours = log_mel(torch.from_numpy(y)[None])[0].numpy()
    assert ours.shape == ref.shape == (96, N_PAD_FRAMES)
    np.testing.assert_allclose(ours, ref, atol=1e-3)


@pytest.mark.parametrize("seconds,rate,channels,ext", [
    (0.25, 44_100, 1, ".wav"), (10.0, 44_100, 2, ".ogg"), (14.5, 44_100, 2, ".ogg"),
    (3.0, 48_000, 2, ".flac"), (6.0, 48_000, 1, ".ogg"), (9.9, 8_000, 1, ".wav"),
    (5.0, 8_000, 2, ".wav"), (4.0, 16_000, 6, ".wav"), (12.0, 16_000, 1, ".flac"),
    (10.0, 22_050, 1, ".wav"), (3.0, 96_000, 2, ".flac"),
])
def test_patch_matches_librosa_reference(tmp_path, seconds, rate, channels, ext):
    """librosa.load with res_type='kaiser_fast', as COALA loaded its sounds, then steps 2-6."""
    path = make_tone_file(tmp_path / f"clip{ext}", seconds, rate, freq=330.0, channels=channels)
    ours = patch_for(load_audio(path).samples)
    ref = reference_patch(str(path))
    assert ours.shape == (96, 96) and ours.dtype == np.float32
    assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.999
    assert np.abs(ours - ref).max() < TOLERANCE
    assert ours.min() >= 0.0


@pytest.mark.parametrize("rate,ext", [(44_100, ".ogg"), (48_000, ".flac")])
def test_reference_tells_another_resampler_apart(tmp_path, rate, ext):
    """The parity test can fail: soxr's steeper filter (the old loader) moves the top mel bands
    by more than 0.01 on the scaled patch."""
    path = make_tone_file(tmp_path / f"clip{ext}", 10.0, rate, freq=330.0, channels=2)
    ours = patch_for(load_audio(path).samples)
    assert np.abs(ours - reference_patch(str(path), res_type="soxr_hq")).max() > 0.01


def test_same_audio_gives_same_patch_and_noise_differs_between_inputs():
    a, b = tone(2.0, 22000, seed=1), tone(2.0, 22000, seed=2)
    np.testing.assert_array_equal(patch_for(a), patch_for(a.copy()))
    assert not np.array_equal(pad_with_noise(a)[-1000:], pad_with_noise(b)[-1000:])


def test_batch_of_mixed_lengths_equals_one_by_one():
    clips = [tone(s, 22000, freq=f) for s, f in [(1.0, 200), (12.0, 900), (2.5, 3000), (1.0, 500)]]
    batch = extract_patches(clips)
    assert batch.patches.shape == (4, 96, 96)
    for clip, patch in zip(clips, batch.patches, strict=True):
        np.testing.assert_allclose(patch.numpy(), patch_for(clip), atol=1e-5)


def test_patch_sits_on_the_loud_part_of_a_long_clip():
    quiet = np.zeros(22000 * 20, np.float32)
    quiet[22000 * 15: 22000 * 16] = tone(1.0, 22000, freq=1000)
    start = extract_patches([quiet]).starts[0]
    loud_frame = 22000 * 15 // 512
    assert start <= loud_frame <= start + 96
