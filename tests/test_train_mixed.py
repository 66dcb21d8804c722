"""Training on several files at once: each batch draws from each file in proportion to its weight,
a small file is drawn again and again, validation reads several files, and a run resumes exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.dataset import CoalaArrays, parse_data_spec, write_coala
from core.patches import MixedSource, PatchSource
from core.runs import read_log
from core.train import TrainConfig, load_sources, train
from tests.conftest import assert_same_last_weights
from tests.corpus_factory import build_tiny, tiny_catalog

PROJECT = Path(__file__).resolve().parent.parent


def marked_file(path: Path, n: int, tag: int, seed: int) -> Path:
    """n random patches all carrying tag `tag` (and only it): which file a row came from shows."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, 1000), np.int16)
    labels[:, tag] = 1
    write_coala(path, CoalaArrays(np.arange(n), rng.random((n, 96, 96), dtype=np.float32), labels))
    return path


def test_each_batch_takes_rows_in_proportion_to_the_weights(tmp_path):
    a = PatchSource(str(marked_file(tmp_path / "a.h5", 200, 0, 1)))
    b = PatchSource(str(marked_file(tmp_path / "b.h5", 100, 1, 2)))
    mixed = MixedSource([a, b], [1.0, 3.0])
    assert mixed.shares(64) == [16, 48]
    from_b = [int(y[:, 1].sum()) for _, y in mixed.epoch(seed=5, batch=64)]
    assert len(from_b) == 300 // 64 and set(from_b) == {48}
    # b has 100 rows but gives 48 a batch: it is drawn pass after pass, every row as often
    assert 3 * sum(from_b) > 2 * 100


def test_shares_round_to_the_batch_and_keep_every_file(tmp_path):
    files = [PatchSource(str(marked_file(tmp_path / f"{i}.h5", 50, i, i))) for i in range(3)]
    assert sum(MixedSource(files, [1, 1, 1]).shares(64)) == 64
    assert MixedSource(files, [100, 1, 1]).shares(16) == [14, 1, 1]
    with pytest.raises(ValueError, match="positive"):
        MixedSource(files, [1, 0, 1])


def test_sampling_proportions_hold_over_an_epoch_within_tolerance(tmp_path):
    a = PatchSource(str(marked_file(tmp_path / "a.h5", 300, 0, 1)))
    b = PatchSource(str(marked_file(tmp_path / "b.h5", 300, 1, 2)))
    labels = torch.cat([y for _, y in MixedSource([a, b], [2.0, 1.0]).epoch(seed=1, batch=30)])
    share_a = labels[:, 0].float().mean().item()
    assert abs(share_a - 2 / 3) < 0.02


def test_data_specs_parse_weights_and_plain_paths():
    assert parse_data_spec("build/a.h5") == ("build/a.h5", 1.0)
    assert parse_data_spec("build/a.h5:2.5") == ("build/a.h5", 2.5)
    assert parse_data_spec("C:/data/a.h5") == ("C:/data/a.h5", 1.0)
    with pytest.raises(ValueError, match="positive"):
        parse_data_spec("a.h5:0")


@pytest.fixture(scope="module")
def two_corpora(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("two")
    catalog = tiny_catalog(folder)
    sizes = {"a": (96, 1), "b": (48, 2), "val": (32, 3), "val2": (16, 4)}
    return {name: build_tiny(folder / f"{name}.h5", n, seed, catalog) for name, (n, seed) in sizes.items()}


def mixed_config(files, out: Path, **kw) -> TrainConfig:
    return TrainConfig((str(files["a"]), f"{files['b']}:2"), str(out),
                       val=(str(files["val"]), str(files["val2"])),
                       **{"epochs": 3, "batch_size": 16, "threads": 1, "seed": 4, **kw})


def test_validation_reads_every_val_file_and_training_mixes(two_corpora, tmp_path):
    cfg = mixed_config(two_corpora, tmp_path / "run")
    train_data, val_data = load_sources(cfg)
    assert isinstance(train_data, MixedSource) and len(train_data) == 96 + 48
    assert len(val_data) == 48
    with pytest.raises(ValueError, match="take no weight"):
        load_sources(TrainConfig((str(two_corpora["a"]),), "x", val=(f"{two_corpora['val']}:2",)))


def test_a_run_over_two_files_resumes_to_the_same_weights(two_corpora, tmp_path):
    train(mixed_config(two_corpora, tmp_path / "whole"))
    train(mixed_config(two_corpora, tmp_path / "cut", epochs=2))
    train(mixed_config(two_corpora, tmp_path / "cut", epochs=3, resume=True))
    assert_same_last_weights(tmp_path / "whole", tmp_path / "cut")
    start = next(r for r in read_log(tmp_path / "whole") if r["event"] == "start")
    assert start["n_train"] == 144 and start["n_val"] == 48


def test_the_train_command_takes_several_data_and_val_files(two_corpora, tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "core", "train", "--data", str(two_corpora["a"]),
                           "--data", f"{two_corpora['b']}:2", "--val", str(two_corpora["val"]),
                           "--val", str(two_corpora["val2"]), "--out", str(out), "--epochs", "1",
                           "--batch-size", "16", "--threads", "1"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    start = next(r for r in read_log(out) if r["event"] == "start")
    assert start["config"]["data"] == [str(two_corpora["a"]), f"{two_corpora['b']}:2"]
    assert start["n_val"] == 48
