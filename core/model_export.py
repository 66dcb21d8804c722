"""Export a training run to a model directory: the best epoch's weights, per-tag thresholds
calibrated on the run's validation data, test tables and top-5 figures in metrics.json, and the
model card (core.modelcard)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import torch

from core.evaluate import evaluate_model, record_metrics
from core.metrics import Scores
from core.model import count_parameters
from core.modelcard import model_card, trained_on, training_tag_counts
from core.modeldir import CARD, METRICS, ModelInfo, load_model_dir, save_model_dir
from core.patches import predict
from core.registry import write_lineage
from core.runs import read_log
from core.thresholds import fit_thresholds, save_thresholds
from core.train import load_best, load_run_config, load_sources

TOP_K_EXAMPLES = 5


def export_run(run_dir: str | Path, out: str | Path, *, name: str = "compact", version: str | None = None,
               evaluations: dict[str, str] | None = None, examples: list[str] | None = None) -> Path:
    """A model directory from the run's best epoch; calibrates thresholds on its validation data,
    evaluates on `evaluations` (label -> HDF5; the first is the primary table), tags `examples` and
    writes the model card."""
    model, best = load_best(run_dir)
    cfg = load_run_config(run_dir)
    version = version or dt.date.today().isoformat()
    info = ModelInfo(name, version, cfg.preset, model.dims, trained_on=trained_on(cfg))
    save_model_dir(out, model, info, card=f"# {name}\n")
    (Path(out) / METRICS).unlink(missing_ok=True)  # a new model inherits no figures
    thresholds = calibrate_on_validation(out, cfg)
    evaluations = evaluations or {}
    tables: dict[str, Scores] = {label: evaluate_model(out, path) for label, path in evaluations.items()}
    for i, (label, path) in reversed(list(enumerate(evaluations.items()))):
        record_metrics(out, path, tables[label], primary=i == 0, label=label)
    top5 = {label: table.top5 for label, table in tables.items()}
    tagged = tag_examples(out, examples or [])
    card = model_card(info, cfg, best, read_log(run_dir), tables, top5, evaluations, tagged,
                      training_tag_counts(cfg), count_parameters(model), thresholds)
    (Path(out) / CARD).write_text(card)
    write_lineage(out, {"made_by": "export-model", "run": str(run_dir), "base_model": cfg.init_from,
                        "data": list(cfg.data), "val": list(cfg.val), "test": dict(evaluations),
                        "trained_on": info.trained_on,
                        "figures": {label: t.pr_auc_macro for label, t in tables.items()}})
    return Path(out)


def calibrate_on_validation(model_dir: str | Path, cfg) -> tuple[str, ...]:
    """Fit and save per-tag thresholds on the run's validation rows; returns the calibrated tags."""
    loaded = load_model_dir(model_dir)
    _, val = load_sources(cfg)
    scores, labels = predict(loaded.model, val, torch.device("cpu"))
    source = ", ".join(cfg.val) if cfg.val else f"a {cfg.val_fraction:.0%} split of the training data"
    th = fit_thresholds(scores, labels, loaded.vocabulary, source)
    save_thresholds(model_dir, th, loaded.vocabulary)
    return th.calibrated



def tag_examples(model_dir: str | Path, paths: list[str]) -> list[tuple[str, list[tuple[str, float]]]]:
    from core.tagger import Tagger

    if not paths:
        return []
    tagger = Tagger(model_dir, "cpu")
    return [(r.path, r.tags if r.ok else [("error: " + str(r.error), 0.0)])
            for r in tagger.tag_files(paths, top_k=TOP_K_EXAMPLES)]
