"""The offline corpus: its source table, its planning, its renderers and the files it writes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from core.corpus import effects as fx
from core.corpus.builder import CorpusConfig, build_corpus, read_corpus_info
from core.corpus.catalog import CatalogError, load_catalog
from core.corpus.fluid import FluidPart, NoteEvent, render_parts
from core.corpus.recipe import plan_clip, plan_corpus, plan_layer
from core.corpus.render import render_clips
from core.corpus.speech import SpeechPart, render_speech
from core.dataset import read_coala
from core.features import N_PAD_SAMPLES
from core.vocabulary import decode_multi_hot, load_vocabulary
from tests.corpus_factory import TINY_TAGS, build_tiny, tiny_catalog

FLUID_R3 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def test_every_tag_of_the_source_table_is_a_coala_token_and_there_are_at_least_60():
    catalog = load_catalog()
    tags = catalog.used_tags()
    assert len(tags) >= 60
    assert set(tags) <= set(load_vocabulary())
    assert "bas" in tags and "bass" not in tags  # the vocabulary's own spelling


def test_every_drum_loop_carries_the_shared_loop_tags_and_its_own():
    loops = load_catalog().of_kind("pattern")
    assert len(loops) >= 5
    for loop in loops:
        assert {"drumloop", "kick", "snare", "hihat", "bd", "snr", "hh"} <= set(loop.tags)
        assert len(loop.tags) == len(set(loop.tags))
    house = load_catalog().source("house_loop")
    assert {"house", "dance"} <= set(house.tags) and house.tags[0] == "beat"


def test_a_tag_outside_the_vocabulary_is_refused_with_its_name(tmp_path):
    bad = tiny_catalog(tmp_path).read_text().replace('tags = ["click"]', 'tags = ["clickety"]')
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(CatalogError, match="clickety"):
        load_catalog(path)


def test_pools_keep_validation_and_holdout_sources_out_of_training():
    pools = load_catalog().pools
    train, val, holdout = pools["train"], pools["val"], pools["holdout"]
    for other in (val, holdout):
        assert not set(other.soundfonts) & set(train.soundfonts)
        assert not set(other.voices) & set(train.voices)
    assert "TimGM6mb" in holdout.soundfonts


def test_planning_is_reproducible_and_labels_follow_the_layers():
    catalog = load_catalog()
    a, b = plan_corpus(catalog, "train", 3, 50), plan_corpus(catalog, "train", 3, 50)
    assert a == b
    assert plan_corpus(catalog, "train", 4, 50) != a
    for spec in a:
        layer_tags = {t for layer in spec.layers for t in layer.tags}
        effect_tags = {t for e in spec.effects for t in catalog.effects[e].tags}
        assert set(spec.tags) == layer_tags | effect_tags


def test_fluidsynth_batch_renders_each_part_in_its_own_clip():
    parts = [FluidPart(FLUID_R3, 0, 0, 0, (NoteEvent(0, 300, 60, 100),), 600),
             FluidPart(FLUID_R3, 128, 0, 9, (NoteEvent(0, 50, 38, 120),), 400),
             FluidPart(FLUID_R3, 0, 40, 0, (), 500)]  # a part without notes stays silent
    clips = render_parts(parts, 22_000)
    assert [len(c) for c in clips] == [13_200, 8_800, 11_000]
    assert np.abs(clips[0]).max() > 0.01 and np.abs(clips[1]).max() > 0.01
    assert np.abs(clips[2]).max() < 1e-4


def test_espeak_speaks_and_the_robot_voice_differs():
    plain, rate = render_speech(SpeechPart("hello world", "en-us", "m3", 160, 50))
    robot, _ = render_speech(SpeechPart("hello world", "en-us", "m3", 160, 50, robot=True))
    assert rate > 8000 and len(plain) > rate * 0.3
    assert np.abs(plain).max() > 0.05
    assert not np.allclose(plain, robot[: len(plain)])


def test_every_kind_of_source_renders_sound_within_ten_seconds():
    catalog = load_catalog()
    specs = [s for s in plan_corpus(catalog, "train", 11, 40)]
    kinds = {catalog.source(s.main_source).kind for s in specs}
    assert kinds == {"instrument", "drum", "pattern", "speech", "synth"}
    clips = render_clips(specs)
    rendered = [c for c in clips if c is not None]
    assert len(rendered) >= 38
    assert all(c.dtype == np.float32 and 0 < len(c) <= N_PAD_SAMPLES for c in rendered)
    assert all(np.isfinite(c).all() and 0 < np.abs(c).max() <= 1.0 for c in rendered)


def test_building_twice_with_one_seed_gives_the_same_file(tmp_path):
    catalog = tiny_catalog(tmp_path)
    a = read_coala(build_tiny(tmp_path / "a.h5", 40, 5, catalog))
    b = read_coala(build_tiny(tmp_path / "b.h5", 40, 5, catalog, workers=2))
    c = read_coala(build_tiny(tmp_path / "c.h5", 40, 6, catalog))
    assert a.data.shape == (40, 96, 96) and a.labels.shape == (40, 1000)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.data, b.data, atol=1e-6)
    assert not np.allclose(a.data, c.data)
    assert a.data.min() >= 0  # scaled COALA patches, clamped at 0
    for row in a.labels:
        tags = set(decode_multi_hot(row))
        assert tags and tags <= TINY_TAGS


def test_corpus_command_writes_the_coala_layout_with_its_provenance(tmp_path):
    out = tmp_path / "corpus.h5"
    cmd = [sys.executable, "-m", "core", "corpus", "--out", str(out), "--n", "12", "--seed", "2",
           "--workers", "0", "--catalog", str(tiny_catalog(tmp_path))]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "12 clips" in done.stdout
    arrays = read_coala(out)
    assert len(arrays) == 12 and arrays.labels.sum(axis=1).min() >= 1
    info = read_corpus_info(out)
    assert info["corpus_config"]["seed"] == 2 and set(info["corpus_tags"]) == TINY_TAGS


def test_unknown_pool_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown pool"):
        build_corpus(CorpusConfig(str(tmp_path / "x.h5"), 5, 1, pool="nowhere",
                                  catalog=str(tiny_catalog(tmp_path))))


def test_default_catalog_corpus_mixes_kinds_and_labels_each_clip(tmp_path):
    out = build_corpus(CorpusConfig(str(tmp_path / "mixed.h5"), 16, 21, "val", workers=0))
    arrays = read_coala(out.path)
    assert len(arrays) == 16
    assert arrays.labels.sum(axis=1).min() >= 1
    assert sum(out.tag_counts.values()) == int(arrays.labels.sum())
    assert json.dumps(out.tag_counts)  # a plain dict of counts, for the summary line
    assert plan_clip(load_catalog(), "val", 21, 0).clip_id == int(arrays.ids[0])


def _frame_figure(x: np.ndarray, rate: int, frame_s: float, figure) -> np.ndarray:
    n = int(frame_s * rate)
    return np.array([figure(x[i:i + n]) for i in range(0, len(x) - n, n)])


def _zero_crossings(frame: np.ndarray) -> float:
    return float(np.count_nonzero(np.diff(np.signbit(frame))))


def _centroid(frame: np.ndarray) -> float:
    mag = np.abs(np.fft.rfft(frame))
    return float((mag * np.arange(len(mag))).sum() / max(mag.sum(), 1e-9))


def test_vibrato_makes_a_steady_tone_waver_in_pitch():
    rate = 22_000
    tone = np.sin(2 * np.pi * 440 * np.arange(rate * 2) / rate)
    steady = _frame_figure(tone, rate, 0.04, _zero_crossings)
    wavering = _frame_figure(fx.vibrato(tone, rate, np.random.default_rng(3)), rate, 0.04, _zero_crossings)
    assert steady.max() - steady.min() <= 1
    assert wavering.max() - wavering.min() >= 2  # a quarter semitone or more at 440 Hz over 40 ms


@pytest.mark.parametrize("effect", ["wah", "phaser"])
def test_wah_and_phaser_move_the_spectrum_of_steady_noise(effect):
    rate = 22_000
    swell = 0.2 + 0.8 * (np.arange(rate * 3) / rate % 0.5 < 0.25)  # an auto-wah follows the level
    noise = np.random.default_rng(0).standard_normal(rate * 3) * 0.3 * swell
    dry = _frame_figure(noise, rate, 0.1, _centroid)
    wet_clip = fx.TAGGED[effect](noise, rate, np.random.default_rng(5))
    wet = _frame_figure(wet_clip, rate, 0.1, _centroid)
    assert len(wet_clip) == len(noise) and np.isfinite(wet_clip).all()
    assert np.std(wet) > 3 * np.std(dry)


def test_an_effect_is_only_put_on_the_kinds_it_is_heard_on():
    catalog = load_catalog()
    assert "drum" not in catalog.effects["wah"].kinds
    specs = plan_corpus(catalog, "train", 5, 3000)
    kinds_with = {e: {catalog.source(s.main_source).kind for s in specs if e in s.effects}
                  for e in ("wah", "vibrato", "phaser")}
    for effect, kinds in kinds_with.items():
        assert kinds and kinds <= set(catalog.effects[effect].kinds), effect


def _groove_notes(name: str, seed: int):
    """A planned loop's notes by drum key, and its sixteenth-note step (the first backbeat snare,
    on step 4, fixes it)."""
    catalog = load_catalog()
    part = plan_layer(catalog, catalog.pools["train"], catalog.source(name), np.random.default_rng(seed)).part
    by_key = {k: [n.start_ms for n in part.notes if n.key == k] for k in (36, 38, 42, 46)}
    step = min(n.start_ms for n in part.notes if n.key == 38 and n.velocity >= 80) / 4
    return by_key, step


def test_a_house_loop_is_four_on_the_floor_with_open_hats_between_the_kicks():
    notes, step = _groove_notes("house_loop", 2)
    lo, hi = load_catalog().source("house_loop").params["bpm"]
    assert lo <= 60_000 / (4 * step) <= hi
    assert {0, 4, 8, 12} <= {round(t / step) for t in notes[36]}
    assert notes[46] and all(round(t / step) % 4 == 2 for t in notes[46] + notes[42])


def test_a_hiphop_loop_swings_its_offbeat_hats():
    notes, step = _groove_notes("hiphop_loop", 3)
    hats = notes[42] + notes[46]
    offbeats = [t / step % 4 for t in hats if 1.5 < t / step % 4 < 3]
    assert offbeats and all(2 <= b < 2.35 for b in offbeats)
    assert max(offbeats) > 2.05  # late, not straight
    assert {0, 7} <= {round(t / step) for t in notes[36]}


@pytest.mark.parametrize("name", ["pulse", "sub", "acid", "ufo", "coin", "radio_static"])
def test_each_new_generator_makes_a_finite_normalised_sound(name):
    from core.corpus.synth import GENERATORS
    clips = [GENERATORS[name](np.random.default_rng(seed), 22_000) for seed in range(3)]
    for clip in clips:
        assert clip.dtype == np.float32 and 0.05 * 22_000 < len(clip) <= 10 * 22_000
        assert np.isfinite(clip).all() and abs(float(np.abs(clip).max()) - 1.0) < 1e-5
    assert not np.allclose(clips[0][:1000], clips[1][:1000])  # the seed draws the sound
