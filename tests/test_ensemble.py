"""Ensembles (core.model.TaggerEnsemble): runs of one recipe from other seeds, exported as one
model directory whose logits are the mean of theirs and whose embedding is theirs side by side;
the tagger, the scores from stored embeddings and fine-tuning take it like a single network."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.model import TaggerEnsemble, build_model, ensemble_of
from core.model_export import export_run
from core.modeldir import load_model_dir
from core.tagger import Tagger
from core.train import TrainConfig, Trainer, load_best, train
from tests.conftest import TINY_DIMS, make_model_dir
from tests.corpus_factory import tiny_train_val

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_train_val(tmp_path_factory.mktemp("tiny-corpus"), 96)


def config(tiny, out: Path, **kw) -> TrainConfig:
    base = {"val": str(tiny["val"]), "epochs": 1, "batch_size": 16, "threads": 1}
    return TrainConfig(str(tiny["train"]), str(out), **{**base, **kw})


@pytest.fixture(scope="module")
def two_runs(tiny, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("runs")
    runs = [folder / f"seed-{seed}" for seed in (3, 4)]
    for seed, run in zip((3, 4), runs, strict=True):
        train(config(tiny, run, seed=seed))
    return runs


def test_an_ensemble_averages_logits_and_sets_embeddings_side_by_side():
    torch.manual_seed(0)
    networks = [build_model(TINY_DIMS).eval() for _ in range(3)]
    ensemble = ensemble_of(networks).eval()
    assert isinstance(ensemble, TaggerEnsemble) and ensemble.dims.members == 3
    x = torch.rand(5, 96, 96)
    with torch.no_grad():
        hidden, logits = ensemble.forward_with_embedding(x)
        np.testing.assert_allclose(logits, torch.stack([n(x) for n in networks]).mean(0), atol=1e-6)
        np.testing.assert_allclose(ensemble(x), logits, atol=1e-6)
        assert hidden.shape == (5, 3 * TINY_DIMS.hidden)
        np.testing.assert_allclose(hidden[:, TINY_DIMS.hidden:2 * TINY_DIMS.hidden],
                                   networks[1].forward_with_embedding(x)[0], atol=1e-6)
        np.testing.assert_allclose(ensemble.logits_from_embedding(hidden), logits, atol=1e-5)
    assert ensemble_of(networks[:1]) is networks[0]


def test_networks_of_other_dims_make_no_ensemble():
    with pytest.raises(ValueError, match="share their dims"):
        ensemble_of([build_model(TINY_DIMS), build_model(replace(TINY_DIMS, hidden=16))])


def test_an_ensemble_directory_round_trips_and_tags_with_its_embedding(tmp_path, tone_wav):
    dims = replace(TINY_DIMS, members=3)
    out = make_model_dir(tmp_path / "ensemble", dims=dims, seed=5)
    loaded = load_model_dir(out)
    assert isinstance(loaded.model, TaggerEnsemble) and loaded.info.dims == dims
    assert loaded.info.embedding.size == 3 * TINY_DIMS.hidden
    saved = json.loads((out / "config.json").read_text())
    assert saved["dims"]["members"] == 3 and saved["embedding"]["size"] == 3 * TINY_DIMS.hidden
    torch.manual_seed(5)
    again = build_model(dims).eval()
    x = torch.rand(2, 96, 96)
    with torch.no_grad():
        np.testing.assert_allclose(loaded.model(x), again(x), atol=1e-6)
    tagger = Tagger(out, "cpu", embeddings=True)
    result = next(iter(tagger.tag_files([str(tone_wav)], top_k=5)))
    assert result.ok and result.embedding.shape == (3 * TINY_DIMS.hidden,)
    np.testing.assert_allclose(tagger.scores_from_embeddings(result.embedding[None])[0],
                               result.scores, atol=1e-5)


def test_export_makes_one_model_of_several_runs(two_runs, tiny, tmp_path):
    out = export_run(two_runs, tmp_path / "model", name="tiny-ensemble", version="1",
                     evaluations={"val": str(tiny["val"])})
    loaded = load_model_dir(out)
    assert loaded.info.dims.members == 2 and loaded.thresholds is not None
    assert loaded.info.trained_on.endswith("; 2 runs from seeds 3, 4 averaged")
    x = torch.rand(4, 96, 96)
    with torch.no_grad():
        mean = torch.stack([load_best(r)[0](x) for r in two_runs]).mean(0)
        np.testing.assert_allclose(loaded.model(x), mean, atol=1e-5)
    card = (out / "MODEL_CARD.md").read_text()
    assert "An ensemble of 2 small CNNs" in card and "seeds 3, 4" in card
    assert "seed 3: epochs run: 1" in card and "seed 4: epochs run: 1" in card
    lineage = json.loads((out / "lineage.json").read_text())
    assert lineage["runs"] == [str(r) for r in two_runs]
    assert json.loads((out / "metrics.json").read_text())["evaluations"]["val"]["n_clips"] == 48


def test_export_refuses_runs_of_other_recipes_or_one_seed_twice(two_runs, tiny, tmp_path):
    other = tmp_path / "other-lr"
    train(config(tiny, other, seed=5, lr=1e-4))
    base = [sys.executable, "-m", "core", "export-model", "--out", str(tmp_path / "m")]
    for runs, why in (([two_runs[0], other], "differs in lr"),
                      ([two_runs[0], two_runs[0]], "share a seed")):
        cmd = base + [a for r in runs for a in ("--run", str(r))]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=PROJECT)
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert why in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_fine_tuning_an_ensemble_starts_from_all_its_networks(two_runs, tiny, tmp_path):
    model_dir = export_run(two_runs, tmp_path / "model", name="tiny-ensemble", version="1")
    tuned = config(tiny, tmp_path / "tuned", lr=1e-4, init_from=str(model_dir))
    trainer = Trainer(tuned)
    source = load_model_dir(model_dir).model.state_dict()
    assert isinstance(trainer.model, TaggerEnsemble)
    assert trainer.model.state_dict().keys() == source.keys()
    for name, tensor in trainer.model.state_dict().items():
        torch.testing.assert_close(tensor, source[name])
    trainer.close()
    train(tuned)
    again = export_run(tmp_path / "tuned", tmp_path / "tuned-model", name="tiny-tuned")
    assert load_model_dir(again).info.dims.members == 2
    assert "An ensemble of 2 small CNNs" in (again / "MODEL_CARD.md").read_text()


def test_a_head_only_fine_tune_keeps_the_conv_blocks_as_they_started(two_runs, tiny, tmp_path):
    model_dir = export_run(two_runs, tmp_path / "model", name="tiny-ensemble", version="1")
    start = load_model_dir(model_dir).model.state_dict()
    train(config(tiny, tmp_path / "head", lr=1e-3, init_from=str(model_dir), train_layers="head"))
    tuned = load_best(tmp_path / "head")[0].state_dict()
    assert tuned.keys() == start.keys()
    for name, tensor in tuned.items():
        kept = ".blocks." in name or ".input_norm." in name  # weights and batch-norm statistics
        assert torch.equal(tensor, start[name]) is kept, name


def test_improve_fine_tunes_the_head_of_an_ensemble_and_all_of_a_network(tmp_path):
    from core.improve.config import ImproveConfig
    from core.improve.pipeline import layers_to_train
    from core.modeldir import read_model_info

    single = read_model_info(make_model_dir(tmp_path / "one"))
    ensemble = read_model_info(make_model_dir(tmp_path / "four", replace(TINY_DIMS, members=4)))
    cfg = ImproveConfig(db="x", model="m", models_dir="d", runs_dir="r")
    assert layers_to_train(cfg, ensemble) == "head" and layers_to_train(cfg, single) == "all"
    assert layers_to_train(replace(cfg, train_layers="all"), ensemble) == "all"
    with pytest.raises(ValueError, match="--train-layers conv"):
        TrainConfig(("a.h5",), "out", train_layers="conv")
