"""The fine-tuned model blended with its base in weight space (WiSE-FT: Wortsman et al., "Robust
fine-tuning of zero-shot models", 2022): new = (1 - alpha) * base + alpha * fine-tuned, tensor by
tensor. A fine-tune and the model it started from sit in one basin, so the blend keeps most of
what the fine-tune learned on the store and most of what the base knew: on the improve benchmark
(README) alpha 0.7 lifted the store's held-out PR-AUC as much as the fine-tune alone and gave
back the base test pool's loss. alpha is chosen on the run's validation files, by the figure
that picked its best epoch; the test pools never choose it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from core.modeldir import load_model_dir
from core.runs import BEST
from core.train import SELECT_METRIC, load_best, load_run_config, load_sources

GRID = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # alphas tried when the blend is chosen on validation
UNBLENDED = "best-unblended.pt"  # the fine-tune's own best epoch, kept beside the blended best.pt


@dataclass(frozen=True)
class BlendChoice:
    alpha: float  # weight of the fine-tuned model; 1.0: the fine-tune as it is
    validation: dict[float, float]  # alpha -> validation figure (SELECT_METRIC), as tried


def blend_states(base: dict, tuned: dict, alpha: float) -> dict:
    """Floating tensors blended; counters (BatchNorm's batches tracked) taken from the fine-tune."""
    return {k: (1 - alpha) * base[k] + alpha * v if v.is_floating_point() else v.clone()
            for k, v in tuned.items()}


def choose_and_apply(run_dir: str | Path, base_dir: str | Path, alphas: tuple[float, ...] = GRID,
                     say: Callable[[str], None] = lambda line: None) -> BlendChoice:
    """Score each blend on the run's validation data, keep the best in best.pt (the fine-tune's
    own best epoch moves to best-unblended.pt); ties go to the larger alpha."""
    from core.metrics import score_tags
    from core.patches import predict

    run_dir = Path(run_dir)
    tuned, record = load_best(run_dir)
    loaded = load_model_dir(base_dir)
    base, vocabulary = loaded.model.state_dict(), loaded.vocabulary
    tuned_state = {k: v.clone() for k, v in tuned.state_dict().items()}
    _, val = load_sources(load_run_config(run_dir))
    figures = {}
    for alpha in alphas:
        tuned.load_state_dict(blend_states(base, tuned_state, alpha))
        scores, labels = predict(tuned, val, torch.device("cpu"))
        figures[alpha] = getattr(score_tags(labels, scores, vocabulary), SELECT_METRIC)
        say(f"blend {alpha:.1f} x fine-tuned + {1 - alpha:.1f} x base: validation "
            f"{SELECT_METRIC.replace('_', ' ')} {figures[alpha]:.3f}")
    alpha = max(figures, key=lambda a: (round(figures[a], 6), a))
    apply_blend(run_dir, base, tuned_state, alpha, record)
    return BlendChoice(alpha, figures)


def apply_blend(run_dir: Path, base: dict, tuned: dict, alpha: float, record: dict) -> None:
    if alpha == 1.0:
        return
    best, partial = run_dir / BEST, run_dir / (BEST + ".partial")
    torch.save({**record, "model": blend_states(base, tuned, alpha), "blend": alpha}, partial)
    shutil.copy2(best, run_dir / UNBLENDED)
    partial.replace(best)
