"""Shared fixtures: real audio files and a small (untrained) model directory in temp folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.model import ModelDims, build_model
from core.modeldir import ModelInfo, save_model_dir
from tests.audio_factory import make_tone_file

TINY_DIMS = ModelDims(channels=(4, 8, 8, 8), hidden=32)


def make_model_dir(out: Path, dims: ModelDims = TINY_DIMS, seed: int = 0, name: str = "tiny-test",
                   version: str = "0") -> Path:
    """A randomly initialised model saved in the model-directory format (for plumbing tests)."""
    torch.manual_seed(seed)
    model = build_model(dims).eval()
    info = ModelInfo(name=name, version=version, preset="custom", dims=dims,
                     trained_on="nothing: random weights for tests")
    return save_model_dir(out, model, info, card="# tiny-test\nRandom weights, for tests only.\n")


def assert_same_last_weights(run: Path, other: Path) -> None:
    """Two run folders' last.pt hold the same weights (a resumed run against an uninterrupted one)."""
    from core.runs import LAST

    mine = torch.load(run / LAST, weights_only=True)["model"]
    theirs = torch.load(other / LAST, weights_only=True)["model"]
    for name, tensor in mine.items():
        torch.testing.assert_close(theirs[name], tensor, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def tone_wav(tmp_path) -> Path:
    return make_tone_file(tmp_path / "tone.wav", seconds=2.0)
