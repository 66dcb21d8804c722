"""Which tags a stored sound teaches a model: what curators confirmed, what its uploader tagged, or both.

Freesound sounds arrive with their uploaders' own tags (the way the COALA data was labelled), so
every feed run brings weakly labelled training data. `uploader` maps those tags through the store's
normalization (core.store.vocabulary.normalize_tag) onto the 1000-tag vocabulary; tags outside it
are dropped and counted. `final` is a sound's final labels (its predictions at or above the
threshold plus a person's changes; with --reviewed-only, what curators confirmed). `both` takes the
final labels of reviewed sounds and the uploader tags of the rest. No label is invented here: each
one was put on the sound by a person (uploader or curator) or, for unreviewed `final`, the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.store.models import SoundRow
from core.store.vocabulary import normalize_tag

LABEL_SOURCES = ("final", "uploader", "both")


@dataclass(frozen=True)
class TrainingLabels:
    tags: tuple[str, ...]  # vocabulary tags (final labels may hold others; encoding drops them)
    origin: str  # "final" or "uploader": where they came from
    unmapped: int  # uploader tags that mapped to no vocabulary tag (dropped)


def uploader_tags(original: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], int]:
    """(vocabulary tags, in order, without repeats; count of uploader tags outside the vocabulary)."""
    kept: dict[str, None] = {}
    unmapped = 0
    for text in original:
        n = normalize_tag(text)
        if n.in_vocabulary:
            kept.setdefault(n.tag, None)
        else:
            unmapped += 1
    return tuple(kept), unmapped


def training_labels(row: SoundRow, original: tuple[str, ...], mode: str) -> TrainingLabels:
    """The labels `row` carries into a training file under `mode` (one of LABEL_SOURCES)."""
    if mode not in LABEL_SOURCES:
        raise ValueError(f"labels must be one of {', '.join(LABEL_SOURCES)}, got {mode!r}")
    if mode == "final" or (mode == "both" and row.reviewed):
        return TrainingLabels(tuple(row.final), "final", 0)
    tags, unmapped = uploader_tags(original)
    return TrainingLabels(tags, "uploader", unmapped)
