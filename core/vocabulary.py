"""The COALA 1000-tag vocabulary: index of the multi-hot label vector <-> tag."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

VOCABULARY_PATH = Path(__file__).parent / "assets" / "id2token_top_1000.json"
N_TAGS = 1000


@lru_cache(maxsize=4)
def load_vocabulary(path: str | Path = VOCABULARY_PATH) -> tuple[str, ...]:
    """Tags in label-index order, read from an id2token JSON file."""
    id2token = json.loads(Path(path).read_text())
    tags = tuple(id2token[str(i)] for i in range(len(id2token)))
    assert len(set(tags)) == len(tags), "vocabulary tags must be unique"
    return tags


def multi_hot(tags: list[str] | set[str], vocabulary: tuple[str, ...] | None = None) -> np.ndarray:
    """Tags -> (n_tags,) int16 multi-hot vector; tags outside the vocabulary are ignored."""
    vocabulary = vocabulary or load_vocabulary()
    index = {t: i for i, t in enumerate(vocabulary)}
    vec = np.zeros(len(vocabulary), dtype=np.int16)
    for t in tags:
        if t in index:
            vec[index[t]] = 1
    return vec


def decode_multi_hot(vec: np.ndarray, vocabulary: tuple[str, ...] | None = None) -> list[str]:
    vocabulary = vocabulary or load_vocabulary()
    return [vocabulary[i] for i in np.flatnonzero(vec)]
