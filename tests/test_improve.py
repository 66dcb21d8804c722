"""`python -m core improve` end to end on a tiny store and tiny corpora: a new model directory with
its lineage, old and new compared on the same held-out sounds, and none of those sounds trained on."""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest
import torch

from core.__main__ import main
from core.dataset import GROUP
from core.improve.blend import GRID, UNBLENDED, blend_states
from core.improve.pipeline import COMPARISON, HELDOUT_LABEL, fit_weights
from core.improve.split import part_of
from core.modeldir import load_model_dir
from core.store import SoundInfo, TagStore
from tests.audio_factory import tone, write_audio
from tests.conftest import make_model_dir
from tests.corpus_factory import build_tiny, tiny_catalog

# (uploader tags, how the audio is made): tones and noises, tagged as an uploader would
KINDS = [(["Sine", "tones"], "tone"), (["white noise", "Noise"], "noise")]


def make_sound(path, kind: str, i: int):
    rng = np.random.default_rng(i)
    if kind == "tone":
        data = tone(1.0, 22_050, 200.0 + 37 * i, seed=i)
    else:
        data = (0.3 * rng.standard_normal(22_050)).astype(np.float32)
    return write_audio(path, data, 22_050)


def fill_store(db, audio, n: int) -> TagStore:
    store = TagStore(db)
    for i in range(n):
        tags, kind = KINDS[i % 2]
        path = make_sound(audio / f"s{i}.wav", kind, i)
        info = SoundInfo(source="freesound", name=f"sound {i}", audio_path=str(path),
                         content_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
                         duration_s=1.0, freesound_id=5000 + i, original_tags=tuple(tags))
        store.add_sound(info, predictions=[("piano", 0.2), ("drum", 0.1)], model="tiny-test@0")
    for sound_id in range(1, n + 1, 5):  # a curator reviews every fifth sound
        store.label(sound_id, add=["tone" if sound_id % 2 else "noise"], user="ana")
    return store


@pytest.fixture
def setup(tmp_path, monkeypatch):
    catalog = tiny_catalog(tmp_path)
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    train = build_tiny(corpora / "train.h5", 48, 1, catalog)
    val = build_tiny(corpora / "val.h5", 24, 2, catalog)
    test = build_tiny(corpora / "test.h5", 24, 3, catalog)
    models = tmp_path / "models"
    base = make_model_dir(models / "default")
    (base / "lineage.json").write_text(json.dumps(
        {"made_by": "test", "data": [str(train)], "val": [str(val)], "test": {"test": str(test)}}))
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setenv("TAGGER_MODELS", str(models))
    monkeypatch.setenv("TAGGER_RUNS", str(tmp_path / "runs"))
    db = tmp_path / "tags.duckdb"
    store = fill_store(db, tmp_path / "audio", 40)
    return store, db, models, tmp_path / "runs"


def h5_store_ids(path) -> set[int]:
    with h5py.File(path, "r") as f:
        return {int(i) for i in f[GROUP]["store_id"][:]}


def test_improve_makes_a_model_compared_on_held_out_sounds_it_never_saw(setup, capsys):
    store, db, models, runs = setup
    code = main(["improve", "--db", str(db), "--epochs", "1", "--batch-size", "16",
                 "--name", "imp", "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Traceback" not in out.err
    assert "store held-out: PR-AUC macro" in out.out and "promote imp" in out.out
    new = models / "imp"
    assert (new / "weights.safetensors").is_file() and (new / "thresholds.json").is_file()

    lineage = json.loads((new / "lineage.json").read_text())
    assert lineage["made_by"] == "improve" and lineage["base_model"] == "default"
    assert any("train.h5" in spec for spec in lineage["data"])  # the base corpus is in the mix
    assert any("store-weak.h5" in spec for spec in lineage["data"])
    assert lineage["store"]["files"]["weak"]["from"] == "uploader"
    assert lineage["created_at"] and set(lineage["figures"]) == {"test", HELDOUT_LABEL}
    blend = lineage["blend"]  # chosen on validation from the grid
    assert blend["chosen_on_validation"] and set(blend["validation"]) == {f"{a:g}" for a in GRID}
    assert blend["validation"][f"{blend['alpha']:g}"] == max(blend["validation"].values())

    # held out: exactly the sounds whose hash puts them there, and none of them trained on
    sounds = store.get_sounds(range(1, 41))
    expected = {i for i, s in sounds.items() if part_of(s.content_hash) == "heldout"}
    heldout_file = runs / "imp" / "data" / "store-heldout.h5"
    assert h5_store_ids(heldout_file) == expected and expected
    trained = set().union(*(h5_store_ids(spec.rpartition(":")[0]) for spec in lineage["data"]
                            if "store-" in spec))
    assert trained and not trained & expected
    assert not h5_store_ids(runs / "imp" / "data" / "store-val.h5") & expected

    comparison = json.loads((new / COMPARISON).read_text())
    held = comparison["evaluations"][HELDOUT_LABEL]
    assert held["old"]["n_clips"] == held["new"]["n_clips"] == len(expected)
    assert held["old"]["n_tags"] == held["new"]["n_tags"] and set(held["per_tag"]) >= {"sine"}
    assert comparison["evaluations"]["test"]["new"]["n_clips"] == 24
    assert "corrections" in held

    assert main(["models"]) == 0
    assert "imp" in capsys.readouterr().out
    assert not (models / "ACTIVE").exists()  # improving never promotes by itself


def test_improve_on_an_empty_store_says_what_to_do(setup, tmp_path, capsys):
    _, _, models, _ = setup
    code = main(["improve", "--db", str(tmp_path / "empty.duckdb"), "--epochs", "1",
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "no sound to learn from" in err and "Traceback" not in err
    assert sorted(p.name for p in models.iterdir()) == ["default"]


def test_small_files_get_weights_their_rows_can_fill():
    fitted = fit_weights([1000, 500, 3], [2.0, 1.0, 1.0], 64)
    total = sum(fitted)
    assert 64 * fitted[2] / total <= 2 + 1e-9  # a row to spare for rounding
    assert fitted[:2] == [2.0, 1.0]


def test_a_given_blend_keeps_that_mix_of_base_and_fine_tuned_weights(setup, capsys):
    _, db, models, runs = setup
    code = main(["improve", "--db", str(db), "--epochs", "1", "--batch-size", "16",
                 "--name", "half", "--device", "cpu", "--blend", "0.5"])
    assert code == 0, capsys.readouterr().err
    base = load_model_dir(models / "default").model.state_dict()
    tuned = torch.load(runs / "half" / UNBLENDED, map_location="cpu", weights_only=True)["model"]
    expected = blend_states(base, tuned, 0.5)
    kept = load_model_dir(models / "half").model.state_dict()
    for name in ("blocks.0.0.weight", "head.4.bias", "input_norm.running_mean"):
        assert torch.allclose(kept[name], expected[name], atol=1e-6)
        assert not torch.allclose(kept[name], tuned[name])  # the fine-tune did move it
    assert json.loads((models / "half" / "lineage.json").read_text())["blend"]["alpha"] == 0.5


def test_blend_states_mixes_floats_and_keeps_the_fine_tunes_counters():
    base = {"w": torch.zeros(2), "n": torch.tensor(3)}
    tuned = {"w": torch.ones(2), "n": torch.tensor(7)}
    mixed = blend_states(base, tuned, 0.25)
    assert torch.equal(mixed["w"], torch.full((2,), 0.25)) and int(mixed["n"]) == 7


def test_a_blend_outside_0_to_1_is_refused(setup, capsys):
    _, db, _, _ = setup
    with pytest.raises(SystemExit) as e:
        main(["improve", "--db", str(db), "--blend", "1.5"])
    assert e.value.code == 2
    assert "--blend: '1.5': give auto or a number in (0, 1]" in capsys.readouterr().err
