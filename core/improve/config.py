"""What an improvement is asked to do (`python -m core improve`'s options and their defaults),
kept apart from the job so the command line can read the defaults without loading torch."""

from __future__ import annotations

from dataclasses import dataclass

from core.improve.split import HOLDOUT_FRACTION, SPLIT_SEED, VAL_FRACTION
from core.settings import THRESHOLD


@dataclass(frozen=True)
class ImproveConfig:
    db: str  # the tag store
    model: str  # the base model directory (the active one by default)
    models_dir: str  # the new model directory is made in here
    runs_dir: str  # the fine-tune's run folder (with the exported store files) goes in here
    epochs: int = 4  # most fine-tuning epochs
    lr: float = 3e-4  # fine-tuning learning rate (the blend with the base keeps what it knew)
    batch_size: int = 64  # batch size
    base_data: tuple[str, ...] | None = None  # the base corpora ("PATH[:WEIGHT]"); None: its lineage
    base_val: tuple[str, ...] | None = None  # base validation files; None: its lineage
    base_test: dict[str, str] | None = None  # label -> base test file; None: its lineage or metrics
    base_weight: float = 2.0  # share of each batch drawn from the base corpora, all together
    weak_weight: float = 2.0  # share from the store's unreviewed sounds (uploader tags)
    reviewed_weight: float = 1.0  # share from the reviewed sounds (curators' final labels)
    holdout: float = HOLDOUT_FRACTION  # share of store sounds held out for the comparison
    val: float = VAL_FRACTION  # share of store sounds that picks the best epoch
    seed: int = SPLIT_SEED  # the split's and the training's seed
    threshold: float = THRESHOLD  # score from which a prediction counts as a final label
    blend: float | None = None  # weight of the fine-tune against the base (core.improve.blend);
    # None: chosen on validation from blend.GRID; 1.0: the fine-tune alone
    device: str = "auto"  # where the fine-tune runs
    train_layers: str | None = None  # "all" or "head" (core.runs.TRAIN_LAYERS); None: head for an
    # ensemble (four networks: a full fine-tune costs four times one network's), all for a network
    name: str | None = None  # the new model's folder name; None: improved-<UTC time>
