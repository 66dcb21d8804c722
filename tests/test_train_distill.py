"""Distillation (core.distill): training rows aim at a blend of their labels and the teachers'
mean scores, in memory and streamed, over a share of a file too; the scores are computed once per
run folder, and a resumed run reads them back (its teacher may be gone) to the same weights."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core import patches
from core.dataset import CoalaArrays, write_coala
from core.distill import TEACHER_FOLDER, attach_teachers, soft_targets
from core.model_export import export_run
from core.modeldir import load_model_dir
from core.patches import MixedSource, PatchSource
from core.runs import read_log
from core.train import LAST, TrainConfig, train
from tests.conftest import assert_same_last_weights, make_model_dir
from tests.corpus_factory import build_tiny, tiny_catalog

PROJECT = Path(__file__).resolve().parent.parent
WEIGHT = 0.25


def numbered_file(path: Path, n: int) -> Path:
    """Row r: a patch filled with r, tag r % 7 (so every row is recognised in a batch)."""
    data = np.repeat(np.arange(n, dtype=np.float32), 96 * 96).reshape(n, 96, 96)
    labels = np.zeros((n, 1000), np.int16)
    labels[np.arange(n), np.arange(n) % 7] = 1
    write_coala(path, CoalaArrays(np.arange(n), data, labels))
    return path


def position_scores(n: int) -> np.ndarray:
    """Teacher scores that say each row's place in its source: tag 999 scores position / n."""
    scores = np.zeros((n, 1000), np.float32)
    scores[:, 999] = np.arange(n) / n
    return scores


def check_batches(source: PatchSource, rows: np.ndarray) -> int:
    """Every row of every batch aims at its own blend; returns the rows seen."""
    seen = 0
    for x, y in source.epoch(seed=3, batch=8):
        assert y.dtype == torch.float16
        for patch, aim in zip(x, y, strict=True):
            row = int(patch[0, 0])
            position = int(np.searchsorted(rows, row))
            assert aim[row % 7] == pytest.approx(1 - WEIGHT, abs=1e-3)
            assert aim[999] == pytest.approx(WEIGHT * position / len(rows), abs=1e-3)
            assert float(aim.sum()) == pytest.approx(1 - WEIGHT + WEIGHT * position / len(rows), abs=5e-3)
            seen += 1
    return seen


def test_soft_targets_blend_labels_and_scores():
    labels = np.array([[1, 0, 0]], np.int16)
    scores = np.array([[0.2, 0.6, 0.0]], np.float32)
    assert soft_targets(labels, scores, 0.5)[0].tolist() == pytest.approx([0.6, 0.3, 0.0], abs=1e-3)
    assert soft_targets(labels, scores, 1.0)[0].tolist() == pytest.approx([0.2, 0.6, 0.0], abs=1e-3)


@pytest.mark.parametrize("in_memory", [True, False])
def test_each_row_aims_at_its_own_blend_whole_file_or_a_share(tmp_path, monkeypatch, in_memory):
    monkeypatch.setattr(patches, "fits_in_memory", lambda _path: in_memory)
    monkeypatch.setattr(patches, "STREAM_CHUNK_ROWS", 16)  # several chunks, shuffled
    path = str(numbered_file(tmp_path / "n.h5", 64))
    share = np.array(sorted({3, 5, 8, 13, 21, 34, 35, 40, 41, 50, 55, 60, 61, 62, 63, 0}))
    for rows in (np.arange(64), share):
        source = PatchSource(path, None if len(rows) == 64 else rows)
        assert source.in_memory is in_memory
        scores = position_scores(len(rows))
        source.use_targets(lambda labels, pos, s=scores: soft_targets(labels, s[pos], WEIGHT))
        assert check_batches(source, rows) == len(rows) // 8 * 8
        _, labels = patches.predict(torch.nn.Flatten(), source, torch.device("cpu"))
        assert labels.dtype == np.uint8 and labels.sum() == len(rows)  # predictions keep the labels


def test_a_mixed_batch_aims_at_blends_from_every_file(tmp_path):
    a, b = (PatchSource(str(numbered_file(tmp_path / f"{name}.h5", 32))) for name in "ab")
    for source in (a, b):
        scores = position_scores(32)
        source.use_targets(lambda labels, pos, s=scores: soft_targets(labels, s[pos], WEIGHT))
    for _, y in MixedSource([a, b], [1.0, 1.0]).epoch(seed=1, batch=8):
        assert y.dtype == torch.float16 and torch.all(y.max(dim=1).values == 1 - WEIGHT)


def test_teacher_scores_are_computed_once_per_run_folder(tmp_path):
    path = str(numbered_file(tmp_path / "n.h5", 24))
    teacher = str(make_model_dir(tmp_path / "teacher"))
    run = tmp_path / "run"
    calls = []
    attach_teachers([PatchSource(path)], [teacher, teacher], 0.5, run, torch.device("cpu"),
                    progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 2), (1, 2), (2, 2)]  # one pass per teacher
    saved = list((run / TEACHER_FOLDER).glob("*.npy"))
    assert len(saved) == 1 and np.load(saved[0]).shape == (24, 1000)
    shutil.rmtree(tmp_path / "teacher")  # gone: the scores kept in the run folder are enough
    again = PatchSource(path)
    attach_teachers([again], [teacher, teacher], 0.5, run, torch.device("cpu"),
                    progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 3  # nothing predicted again
    _, y = next(again.epoch(seed=0, batch=24))
    assert torch.all(y > 0) and torch.all(y < 1)  # blends, not labels: none is exactly 0 or 1


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("distill")
    catalog = tiny_catalog(folder)
    sizes = {"a": (96, 1), "val": (32, 3)}
    files = {name: build_tiny(folder / f"{name}.h5", n, seed, catalog) for name, (n, seed) in sizes.items()}
    files["teacher"] = make_model_dir(folder / "teacher")
    return files


def distilled(files, out: Path, **kw) -> TrainConfig:
    return TrainConfig((str(files["a"]),), str(out), val=(str(files["val"]),),
                       teachers=(str(files["teacher"]),),
                       **{"epochs": 3, "batch_size": 16, "threads": 1, "seed": 4, "distill": 0.5, **kw})


def test_a_distilled_run_logs_its_teachers_and_resumes_to_the_same_weights(corpora, tmp_path):
    train(distilled(corpora, tmp_path / "whole"))
    train(distilled(corpora, tmp_path / "cut", epochs=2))
    train(distilled(corpora, tmp_path / "cut", epochs=3, resume=True))
    assert_same_last_weights(tmp_path / "whole", tmp_path / "cut")
    plain = tmp_path / "plain"
    train(TrainConfig((str(corpora["a"]),), str(plain), val=(str(corpora["val"]),), epochs=3,
                      batch_size=16, threads=1, seed=4))
    differs = torch.load(plain / LAST, weights_only=True)["model"]
    whole = torch.load(tmp_path / "whole" / LAST, weights_only=True)["model"]
    assert any(not torch.equal(differs[n], t) for n, t in whole.items())  # the teacher counts
    logged = [r for r in read_log(tmp_path / "whole") if r["event"] == "teachers"]
    assert logged and logged[0]["teachers"] == [str(corpora["teacher"])] and logged[0]["distill"] == 0.5
    exported = export_run(tmp_path / "whole", tmp_path / "model", name="tiny-distilled")
    card = (exported / "MODEL_CARD.md").read_text()
    assert f"0.5 x the labels + 0.5 x the mean score of `{corpora['teacher']}`" in card
    assert load_model_dir(exported).info.trained_on.endswith("distilled from 1 teacher(s)")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "train", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=300)


def test_the_train_command_distills_and_refuses_bad_teachers(corpora, tmp_path):
    common = ["--data", str(corpora["a"]), "--val", str(corpora["val"]), "--epochs", "1",
              "--batch-size", "16", "--threads", "1"]
    done = run_cli(*common, "--teacher", str(corpora["teacher"]), "--distill", "0.3",
                   "--out", str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    assert "teacher" in done.stderr and "Traceback" not in done.stderr
    start = next(r for r in read_log(tmp_path / "cli") if r["event"] == "start")
    assert start["config"]["distill"] == 0.3
    scoring = [r for r in read_log(tmp_path / "cli") if r.get("phase") == "teachers"]
    assert [(r["step"], r["n_steps"]) for r in scoring] == [(0, 1), (1, 1)]  # the page's progress
    for bad, said in ((["--distill", "0.3"], "needs at least one --teacher"),
                      (["--teacher", str(tmp_path / "nowhere")], "neither a run folder"),
                      (["--teacher", str(corpora["teacher"]), "--distill", "1.5"], "must be in (0, 1]")):
        refused = run_cli(*common, *bad, "--out", str(tmp_path / "refused"))
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "refused" / LAST).exists()
