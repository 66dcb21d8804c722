"""Training from a handful of corrections checks first (core/train_checks.py): the command says
before starting when a file has too few clips or tags, and a run that dies says why in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.dataset import CoalaArrays, write_coala
from core.modeldir import WEIGHTS
from core.train_checks import (
    FAILURE,
    check_training_data,
    clips_for_validation,
    read_failure,
    record_failure,
)
from tests.conftest import make_model_dir

PROJECT = Path(__file__).resolve().parent.parent
N_TAGS = 1000


def coala_file(path: Path, n: int, n_tags: int = N_TAGS, seed: int = 0) -> Path:
    """n clips; each carries tag 0 or tag 1 (alternating) and tag 2: tags differ from clip to clip."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, n_tags), np.int16)
    labels[np.arange(n), np.arange(n) % 2] = 1
    labels[:, 2] = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    write_coala(path, CoalaArrays(np.arange(n), rng.random((n, 96, 96), dtype=np.float32), labels))
    return path


def train_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "train", *args], capture_output=True,
                          text=True, timeout=300, cwd=PROJECT)


def test_five_corrections_are_too_few_and_the_check_says_what_is_enough(tmp_path):
    check = check_training_data(coala_file(tmp_path / "five.h5", 5))
    assert not check.ok
    assert (check.n_train, check.n_val, check.val_tags) == (4, 1, 0)
    assert "15 or more clips" in check.problems[0]
    assert clips_for_validation(0.1) == 15


def test_enough_clips_with_differing_tags_pass(tmp_path):
    check = check_training_data(coala_file(tmp_path / "enough.h5", 15))
    assert check.ok, check.problems
    assert (check.n_train, check.n_val) == (13, 2) and check.val_tags == 2  # tags 0 and 1


def test_a_validation_file_whose_clips_all_carry_the_same_tags_is_refused(tmp_path):
    val = tmp_path / "val.h5"
    write_coala(val, CoalaArrays(np.arange(3), np.zeros((3, 96, 96), np.float32),
                                 np.ones((3, N_TAGS), np.int16)))
    check = check_training_data(coala_file(tmp_path / "train.h5", 20), val)
    assert check.n_train == 20 and check.n_val == 3
    assert [p for p in check.problems if "validation file" in p]


def test_labels_of_another_width_are_refused(tmp_path):
    check = check_training_data(coala_file(tmp_path / "narrow.h5", 30, n_tags=500))
    assert any("500 label columns" in p for p in check.problems)


def test_train_command_refuses_five_corrections_before_starting(tmp_path):
    out = tmp_path / "runs" / "five"
    done = train_cli("--data", str(coala_file(tmp_path / "five.h5", 5)), "--out", str(out),
                     "--epochs", "1")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and "cannot make a training run" in line
    assert "15 or more clips" in line
    assert not out.exists()


def test_a_run_that_dies_says_why_in_one_line_and_keeps_the_traceback(tmp_path):
    model = make_model_dir(tmp_path / "models" / "broken")
    weights = model / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:100])  # a model whose weights file was cut short
    out = tmp_path / "runs" / "tuned"
    done = train_cli("--data", str(coala_file(tmp_path / "data.h5", 40)), "--out", str(out),
                     "--init-from", str(model), "--epochs", "1")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: training failed: SafetensorError") and str(out / FAILURE) in line
    failure = read_failure(out)
    assert failure.reason.startswith("SafetensorError") and "\n" not in failure.reason
    assert failure.traceback.startswith("Traceback (most recent call last)")
    assert "load_model_dir" in failure.traceback


def test_record_failure_keeps_one_line_and_the_traceback(tmp_path):
    try:
        raise ValueError("no tag has both positive\nand negative clips: nothing to evaluate")
    except ValueError as e:
        record_failure(tmp_path / "run", e)
    failure = read_failure(tmp_path / "run")
    assert failure.reason == ("ValueError: no tag has both positive and negative clips: "
                              "nothing to evaluate")
    assert "raise ValueError" in failure.traceback
    assert json.loads((tmp_path / "run" / FAILURE).read_text())["error"] == "ValueError"
    assert read_failure(tmp_path / "nothing-here") is None


@pytest.mark.parametrize("n", [0, 1, 2])
def test_almost_empty_files_are_refused_not_crashed_on(tmp_path, n):
    check = check_training_data(coala_file(tmp_path / "tiny.h5", n))
    assert not check.ok
    assert any("training clips" in p for p in check.problems)
