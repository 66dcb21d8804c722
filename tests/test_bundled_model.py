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
    assert "not from field recordings" in loaded.card
    test = loaded.metrics["evaluations"]["test.h5"]  # the held-out test corpus (other seeds)
    assert test["roc_auc_macro"] >= 0.95 and test["pr_auc_macro"] >= 0.60


@pytest.mark.parametrize("name,expected,within", [
    ("bd_808.ogg", "kick", 5), ("drum_heavy_kick.ogg", "kick", 5), ("sn_dolf.ogg", "snare", 3),
    ("perc_bell.ogg", "bell", 1), ("ambi_drone.ogg", "drone", 5), ("loop_amen.ogg", "drum", 5),
    ("drum_cymbal_open.ogg", "cymbal", 3),
])
def test_real_cc0_samples_get_their_tag(tagger, name, expected, within):
    result = tagger.tag_file(DEMO / name, top_k=within)
    assert expected in [t for t, _ in result.tags], result.tags


def test_a_voice_the_corpus_never_used_is_speech(tagger, tmp_path):
    assert shutil.which("espeak-ng"), "espeak-ng is installed by `make test`"
    wav = tmp_path / "phrase.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m8", "-w", str(wav),
                    "the quick brown fox jumps over the lazy dog"], check=True)
    top = [t for t, _ in tagger.tag_file(wav, top_k=3).tags]
    assert "speech" in top or "voice" in top, top
