"""Tiny corpora for the training tests: a source table of a few numpy-synthesized sounds (fast to
render, clearly distinct), built with the real corpus builder into temp folders."""

from __future__ import annotations

from pathlib import Path

from core.corpus.builder import CorpusConfig, build_corpus

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
