"""The card's spectrogram: a short sound is drawn without the padding, on an axis in Hz; the
player's whole-second clock gets a note for sounds under a second."""

from __future__ import annotations

import numpy as np
import pytest

from app.spectrogram import FRAME_S, compute_spectrogram, hz_ticks, patch_title, shown_frames
from core.audio import SAMPLE_RATE
from tests.app_fixtures import open_page, plain, point_app_at


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_a_short_sound_is_drawn_without_the_padding():
    spec = compute_spectrogram(tone(0.45))
    assert shown_frames(spec) * FRAME_S == pytest.approx(0.45, abs=0.03)  # was 2.23 s
    assert "the sound lasts 0.4" in patch_title(spec) and "padding" in patch_title(spec)
    long = compute_spectrogram(tone(5.0))
    assert shown_frames(long) * FRAME_S == pytest.approx(5.0, abs=0.03)
    assert "padding" not in patch_title(long)


def test_the_frequency_axis_names_hertz_where_the_bands_lie():
    positions, labels = hz_ticks()
    assert labels == ["100", "250", "500", "1k", "2k", "4k", "8k"]
    assert positions == sorted(positions) and 0 < positions[0] and positions[-1] < 96
    # Slaney mels: 1 kHz is 15 of the 49.9 mels up to 11 kHz, so band 96 * 15 / 49.9 ~ 29
    assert 27 < positions[labels.index("1k")] < 31


def test_a_sound_under_a_second_says_how_long_it_is(monkeypatch, tmp_path, tiny_model_dir):
    import hashlib

    from core.store import SoundInfo, TagStore
    from tests.audio_factory import make_tone_file

    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    wav = make_tone_file(tmp_path / "blip.wav", seconds=0.45, freq=880.0)
    sid, _ = TagStore(db).add_sound(SoundInfo(source="folder", name="blip", audio_path=str(wav),
                                              content_hash=hashlib.sha256(wav.read_bytes()).hexdigest(),
                                              duration_s=0.45), [("piano", 0.9)], "tiny-test@0")
    at = open_page("feed")
    assert not at.exception
    assert "0.45 s long (the player rounds it down to 0:00)" in plain(at)
    at.session_state[f"feed_{sid}_spectrogram"] = True  # a person opens the card's spectrogram
    at.run()
    assert len(at.image) == 1
