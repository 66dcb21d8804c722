"""Each tag's chance on a sound judged from the sound's other given tags alone: how often the
tags that go with it in the rest of the store go with it (label co-occurrence, leave-one-out).

Given tags come in patterns (`footstep` with `step`, `rain` with `water`): a tag that none of
the sound's other tags is ever seen with is a doubtful label, and a tag that always comes with
one of them yet is absent is likely missing. The sound's own labels never count towards its own
scores, so the scores stay out of sample, as the model's do.
"""

from __future__ import annotations

import numpy as np

SMOOTHING = 0.5  # pseudo-sounds of a tag's prior added to each pair count
BLOCK = 8192  # (sound, given tag) pairs handled per step


def cooccurrence_scores(given: np.ndarray) -> np.ndarray:
    """(sounds, tags) multi-hot given labels -> (sounds, tags) scores in [0, 1]: for each tag,
    the highest share, over the sound's other given tags, of the other sounds given that tag
    that also carry this one (smoothed towards the tag's share of the other sounds); where the
    sound has no other given tag to judge a tag by, that share itself (a tag seen alone is as
    likely as it is common: on the recorded val pool this found more planted errors than
    leaving such tags to the other scores)."""
    given = np.asarray(given, np.float64) > 0
    n_sounds = len(given)
    if n_sounds < 2:
        return np.zeros(given.shape)
    together = given.T.astype(np.float64) @ given  # (tags, tags) sounds given both
    counts = np.diag(together).copy()
    rows, tags = np.nonzero(given)  # row by row: each sound's given tags are contiguous
    # a tag the sound was not given: the sound counts for neither tag of the pair
    absent = ((together + SMOOTHING * counts[None, :] / (n_sounds - 1))
              / (counts - 1 + SMOOTHING)[:, None]).astype(np.float32)
    out = np.broadcast_to(counts / (n_sounds - 1), given.shape).astype(np.float32)
    for start in range(0, len(rows), BLOCK):
        end = start + BLOCK
        while end < len(rows) and rows[end] == rows[end - 1]:
            end += 1  # a sound's tags in one block
        sounds, first = np.unique(rows[start:end], return_index=True)
        out[sounds] = np.maximum.reduceat(absent[tags[start:end]], first, axis=0)
    _score_given_tags(out, rows, tags, together, counts, n_sounds)
    return np.clip(out, 0.0, 1.0).astype(np.float64)


def _score_given_tags(out: np.ndarray, rows: np.ndarray, tags: np.ndarray, together: np.ndarray,
                      counts: np.ndarray, n_sounds: int) -> None:
    """The given tags' own scores, in place: the best over the sound's other given tags, the
    sound itself left out of every count; its share of the other sounds where it is alone."""
    out[rows, tags] = (counts[tags] - 1) / (n_sounds - 1)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    sizes = np.diff(np.r_[starts, len(rows)])
    best = np.full(len(rows), -np.inf)
    for size in np.unique(sizes[sizes > 1]):  # sounds with the same number of given tags
        first = starts[sizes == size]
        at = first[:, None] + np.arange(size)  # (sounds, size) positions in rows/tags
        j = tags[at][:, :, None]  # the tag judged
        k = tags[at][:, None, :]  # the tag vouching for it
        prior = (counts[j] - 1) / (n_sounds - 1)
        share = (together[k, j] - 1 + SMOOTHING * prior) / (counts[k] - 1 + SMOOTHING)
        share[:, np.arange(size), np.arange(size)] = -np.inf  # a tag does not vouch for itself
        best[at.ravel()] = share.max(axis=2).ravel()
    vouched = np.isfinite(best)
    out[rows[vouched], tags[vouched]] = best[vouched]
