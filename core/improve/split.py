"""Which store sounds a fine-tune may see: split by sound, seeded, stable as the store grows.

A sound's place depends only on its content hash and the seed (a hash of both, read as a number in
[0, 1)), never on how many other sounds there are: a sound held out today is held out tomorrow,
after the feed has added a thousand more, so old and new models are always compared on sounds
neither was trained on.
"""

from __future__ import annotations

import hashlib

HOLDOUT_FRACTION = 0.2  # share of the store's sounds held out for the before/after comparison
VAL_FRACTION = 0.1  # share used to pick the fine-tune's best epoch
SPLIT_SEED = 0
PARTS = ("train", "val", "heldout")


def position(content_hash: str, seed: int = SPLIT_SEED) -> float:
    """The sound's seeded place in [0, 1)."""
    digest = hashlib.sha256(f"{seed}:{content_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def part_of(content_hash: str, holdout: float = HOLDOUT_FRACTION, val: float = VAL_FRACTION,
            seed: int = SPLIT_SEED) -> str:
    """'heldout' (never trained on), 'val' (picks the best epoch) or 'train'."""
    if not (0 < holdout < 1 and 0 <= val < 1 and holdout + val < 1):
        raise ValueError(f"held-out ({holdout}) and validation ({val}) shares must be in [0, 1) "
                         "and leave room for training")
    u = position(content_hash, seed)
    return "heldout" if u < holdout else "val" if u < holdout + val else "train"
