"""The bundled model in models/default: complete, small, and right on real sounds it was not built from."""

import shutil
import subprocess
from pathlib import Path

import pytest

from core.modeldir import DEFAULT_MODEL_DIR, load_model_dir
from core.tagger import Tagger

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(DEFAULT_MODEL_DIR, "cpu")


def test_bundled_model_is_complete_small_and_meets_its_bar():
    size = sum(f.stat().st_size for f in DEFAULT_MODEL_DIR.iterdir())
    assert size < 25 * 2**20
    loaded = load_model_dir(DEFAULT_MODEL_DIR)
    assert "It learned from real recordings" in loaded.card and loaded.thresholds is not None
    test = loaded.metrics["evaluations"]["test"]  # the rendered test corpus (other seeds)
    # bundled (an ensemble of four runs): 0.959 and 0.675; each run alone 0.621-0.629 PR-AUC
    assert test["roc_auc_macro"] >= 0.95 and test["pr_auc_macro"] >= 0.66
    recorded = loaded.metrics["evaluations"]["recorded"]  # packages it never trained on
    # bundled: 0.775 and 0.702; its four runs alone gave 0.599-0.689, the distilled students 0.649-0.671
    assert recorded["roc_auc_macro"] >= 0.76 and recorded["top5"]["hit_rate"] >= 0.68


# The models trained on recordings too lost `drone` on the drone (README, "The bundled model"): a
# strict xfail, so a model that gets it back fails here until the mark goes.
REGRESSED = pytest.mark.xfail(strict=True, reason="regressed with the recorded corpus: rank 26")

# The vocabulary's own synonyms count as one tag (the corpus teaches both: a kick is also `kickdrum`
# and `bd`), so each case names the spellings a person would accept for it.
KICK, SNARE, PERCUSSION = {"kick", "kickdrum", "bd", "bassdrum"}, {"snare", "snr"}, {"percussion", "perc"}


@pytest.mark.parametrize("name,expected,within", [
    ("bd_808.ogg", KICK, 5), ("drum_heavy_kick.ogg", KICK, 5), ("sn_dolf.ogg", SNARE, 3),
    ("perc_bell.ogg", {"bell"}, 5), pytest.param("ambi_drone.ogg", {"drone"}, 5, marks=REGRESSED),
    ("loop_amen.ogg", {"drum", "drumloop", "breakbeat"}, 5), ("loop_amen.ogg", PERCUSSION, 5),
    ("drum_cymbal_open.ogg", {"cymbal"}, 3),
])
def test_real_cc0_samples_get_their_tag(tagger, name, expected, within):
    result = tagger.tag_file(DEMO / name, top_k=within)
    assert expected & {t for t, _ in result.tags}, result.tags


def test_a_voice_the_corpus_never_used_is_speech(tagger, tmp_path):
    assert shutil.which("espeak-ng"), "espeak-ng is installed by `make test`"
    wav = tmp_path / "phrase.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m8", "-w", str(wav),
                    "the quick brown fox jumps over the lazy dog"], check=True)
    top = [t for t, _ in tagger.tag_file(wav, top_k=3).tags]
    assert "speech" in top or "voice" in top, top


# Real recordings from minetest-data (CC-BY-SA-3.0), a package of the recorded corpus's test pool:
# never trained on. `make test` installs it (12 MB). Each case: the tags a person would accept.
# Of the 11 below: the bundled model 8, the three before it 8, 7 and 8, trained on rendered sounds alone 0.
MIN_RECORDING_HITS = 7
MINETEST = Path("/usr/share/games/minetest/games/minetest_game/mods")
RECORDINGS = {
    "default/sounds/default_gravel_footstep.1.ogg": {"footstep", "step", "walk", "walking", "gravel"},
    "default/sounds/default_wood_footstep.1.ogg": {"footstep", "step", "walk", "walking", "wood"},
    "default/sounds/default_snow_footstep.2.ogg": {"footstep", "step", "walk", "walking", "snow"},
    "default/sounds/default_hard_footstep.1.ogg": {"footstep", "step", "walk", "walking"},
    "default/sounds/default_break_glass.1.ogg": {"glas", "break", "shatter", "crash", "smash"},
    "doors/sounds/doors_door_open.ogg": {"door", "open", "creak", "hinge", "wood"},
    "doors/sounds/doors_steel_door_close.ogg": {"door", "close", "slam", "metal", "steel"},
    "fire/sounds/fire_fire.1.ogg": {"fire", "flame", "crackle"},
    "fire/sounds/fire_large.ogg": {"fire", "flame", "crackle"},
    "env_sounds/sounds/env_sounds_water.1.ogg": {"water", "liquid", "splash", "bubble", "stream"},
    "tnt/sounds/tnt_explode.ogg": {"explosion", "explode", "boom", "blast", "bomb"},
}


@pytest.fixture(scope="module")
def recording_tops(tagger) -> dict[str, list[str]]:
    assert MINETEST.is_dir(), "minetest-data is installed by `make test` (scripts/apt-install.sh)"
    results = tagger.tag_files([MINETEST / name for name in RECORDINGS], top_k=5)
    return {name: [t for t, _ in r.tags] for name, r in zip(RECORDINGS, results, strict=True)}


def test_real_recordings_it_never_trained_on_get_a_tag_a_person_would_accept(recording_tops):
    hits = {name: bool(set(top) & RECORDINGS[name]) for name, top in recording_tops.items()}
    assert sum(hits.values()) >= MIN_RECORDING_HITS, recording_tops
    assert hits["tnt/sounds/tnt_explode.ogg"] and hits["default/sounds/default_hard_footstep.1.ogg"]
