"""Decoding: every supported format, and bad input that gets a clear error, never a crash."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from core import audio
from core.audio import (
    SAMPLE_RATE,
    AudioError,
    EmptyAudioError,
    UnsupportedFormatError,
    find_audio_files,
    load_audio,
)
from core.features import patch_for
from tests.audio_factory import make_tone_file, tone


@pytest.mark.parametrize("ext,rate", [(".wav", 44_100), (".flac", 96_000), (".ogg", 32_000),
                                      (".opus", 48_000), (".mp3", 44_100)])
def test_formats_decode_to_mono_22k(tmp_path, ext, rate):
    path = make_tone_file(tmp_path / f"t{ext}", seconds=2.0, rate=rate, channels=2)
    a = load_audio(path)
    assert a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert abs(len(a.samples) - 2 * SAMPLE_RATE) < 0.05 * SAMPLE_RATE  # codec padding aside
    assert a.channels == 2 and a.source_rate == rate and not a.truncated


def test_ffmpeg_formats(tmp_path):
    wav = make_tone_file(tmp_path / "t.wav", 1.5)
    m4a = tmp_path / "t.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(m4a)], check=True)
    a = load_audio(m4a)
    assert abs(a.duration_s - 1.5) < 0.1 and np.isfinite(a.samples).all()


def test_ffmpeg_formats_are_downmixed_and_resampled_as_coala_did(tmp_path):
    """ffmpeg only decodes; the mono downmix and kaiser_fast resampling are the same as for wav."""
    librosa = pytest.importorskip("librosa")
    wav = make_tone_file(tmp_path / "t.wav", 1.5, rate=48_000, channels=2)
    m4a, pcm = tmp_path / "t.m4a", tmp_path / "decoded.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(m4a)], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(m4a), "-acodec", "pcm_f32le", str(pcm)],
                   check=True)
    native, rate = sf.read(pcm, dtype="float32")
    expected = librosa.resample(native.mean(axis=1), orig_sr=rate, target_sr=SAMPLE_RATE,
                                res_type="kaiser_fast")
    a = load_audio(m4a)
    assert (a.source_rate, a.channels) == (48_000, 2)
    np.testing.assert_allclose(a.samples, expected, atol=1e-5)


def test_ffmpeg_format_without_ffmpeg_names_the_format(tmp_path, monkeypatch):
    f = tmp_path / "t.m4a"
    f.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(200))
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(UnsupportedFormatError, match=r"\.m4a.*ffmpeg"):
        load_audio(f)


def test_empty_and_headers_only(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(EmptyAudioError):
        load_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 44_100)
    with pytest.raises(EmptyAudioError):
        load_audio(tmp_path / "zero.wav")


@pytest.mark.parametrize("name", ["corrupt.wav", "corrupt.ogg", "corrupt.mp3", "corrupt.xyz"])
def test_corrupt_files_raise_a_clear_error(tmp_path, name):
    f = tmp_path / name
    f.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(AudioError, match=name.split(".")[0]):
        load_audio(f)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="No such file"):
        load_audio(tmp_path / "nope.wav")


def test_silent_and_nan_files_give_valid_features(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(44_100, np.float32), 44_100, subtype="FLOAT")
    x = tone(1.0, 44_100)
    x[::100] = np.nan
    x[5] = np.inf
    sf.write(tmp_path / "nan.wav", x, 44_100, subtype="FLOAT")
    for name in ("silent.wav", "nan.wav"):
        patch = patch_for(load_audio(tmp_path / name).samples)
        assert np.isfinite(patch).all() and patch.min() >= 0


def test_long_file_is_capped_and_says_so(tmp_path):
    path = make_tone_file(tmp_path / "long.flac", seconds=75.0, rate=8_000)
    a = load_audio(path, max_seconds=60.0)
    assert a.truncated and abs(a.duration_s - 75.0) < 0.01
    assert len(a.samples) == 60 * SAMPLE_RATE


@pytest.mark.parametrize("rate", [7_919, 11_025, 192_000])
def test_odd_rates_and_many_channels(tmp_path, rate):
    path = make_tone_file(tmp_path / "odd.wav", seconds=1.0, rate=rate, channels=6)
    a = load_audio(path)
    assert abs(len(a.samples) - SAMPLE_RATE) <= 2 and a.channels == 6


def test_find_audio_files_recurses_folders(tmp_path):
    make_tone_file(tmp_path / "a" / "b" / "x.wav")
    make_tone_file(tmp_path / "a" / "y.flac")
    (tmp_path / "a" / "notes.txt").write_text("not audio")
    found = find_audio_files([tmp_path / "a"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/b/x.wav", "a/y.flac"]
