"""Tiny corpora for the training tests: a source table of a few numpy-synthesized sounds (fast to
render, clearly distinct), built with the real corpus builder into temp folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.corpus.builder import CorpusConfig, build_corpus
from core.dataset import CoalaArrays, write_coala

TINY_SOURCES = """
[pools.train]
soundfonts = []
drumkits = []
voices = []

[[synth]]
name = "sine"
generator = "sine"
tags = ["sine", "tone"]

[[synth]]
name = "white_noise"
generator = "white_noise"
tags = ["noise", "white"]

[[synth]]
name = "click"
generator = "click"
tags = ["click"]

[[synth]]
name = "kick"
generator = "synth_kick"
tags = ["kick", "drum"]

[[synth]]
name = "chiptune"
generator = "chiptune"
tags = ["chiptune", "retro"]

[[synth]]
name = "siren"
generator = "siren"
tags = ["siren", "alarm"]

[mix]
kinds = { synth = 1.0 }
mixture_probability = 0.0
"""
TINY_TAGS = {"sine", "tone", "noise", "white", "click", "kick", "drum", "chiptune", "retro", "siren",
             "alarm"}


def tiny_catalog(folder: Path) -> Path:
    path = Path(folder) / "tiny_sources.toml"
    path.write_text(TINY_SOURCES)
    return path


def build_tiny(path: Path, n: int, seed: int, catalog: Path, workers: int = 0) -> Path:
    build_corpus(CorpusConfig(str(path), n, seed, "train", workers, chunk=64, catalog=str(catalog)))
    return path


def tiny_train_val(folder: Path, n_train: int) -> dict[str, Path]:
    """A tiny rendered training file of `n_train` clips and a validation file of 48 (other seeds)."""
    catalog = tiny_catalog(folder)
    return {"train": build_tiny(folder / "train.h5", n_train, 1, catalog),
            "val": build_tiny(folder / "val.h5", 48, 2, catalog)}


def tiny_corpus(path: Path, n: int = 96) -> Path:
    """A small COALA-layout file in which tag 0 is present exactly when the patch is bright."""
    rng = np.random.default_rng(0)
    bright = rng.random(n) < 0.5
    data = rng.random((n, 96, 96), dtype=np.float32) * 0.2 + bright[:, None, None] * 0.6
    labels = np.zeros((n, 1000), np.int16)
    labels[:, 0], labels[:, 1] = bright, ~bright
    path.parent.mkdir(parents=True, exist_ok=True)
    write_coala(path, CoalaArrays(np.arange(n), data, labels))
    return path
