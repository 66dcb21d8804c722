"""Export a training run (or several runs of one recipe, as an ensemble) to a model directory: the
best epoch's weights, per-tag thresholds calibrated on the run's validation data, test tables and
top-5 figures in metrics.json, and the model card (core.modelcard)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from core.evaluate import evaluate_model, record_metrics
from core.metrics import Scores
from core.model import count_parameters, ensemble_of
from core.modelcard import RunRecord, model_card, trained_on, training_tag_counts
from core.modeldir import CARD, METRICS, ModelInfo, load_model_dir, save_model_dir
from core.patches import predict
from core.registry import write_lineage
from core.runs import read_log
from core.thresholds import fit_thresholds, save_thresholds
from core.train import load_best, load_run_config, load_sources

TOP_K_EXAMPLES = 5


def export_run(run_dirs: str | Path | Sequence[str | Path], out: str | Path, *, name: str = "compact",
               version: str | None = None, evaluations: dict[str, str] | None = None,
               examples: list[str] | None = None) -> Path:
    """A model directory from a run's best epoch, or an ensemble of several runs' best epochs (runs
    of one recipe from other seeds); calibrates thresholds on the validation data, evaluates on
    `evaluations` (label -> HDF5; the first is the primary table), tags `examples` and writes the
    model card."""
    run_dirs = [run_dirs] if isinstance(run_dirs, str | Path) else list(run_dirs)
    bests = [load_best(r) for r in run_dirs]
    runs = [RunRecord(load_run_config(r), best, read_log(r))
            for r, (_, best) in zip(run_dirs, bests, strict=True)]
    check_one_recipe(run_dirs, [r.cfg for r in runs])
    model = ensemble_of([network for network, _ in bests])
    cfg = runs[0].cfg
    version = version or dt.date.today().isoformat()
    averaged = f"; {len(runs)} runs from seeds {', '.join(str(r.cfg.seed) for r in runs)} averaged"
    info = ModelInfo(name, version, cfg.preset, model.dims,
                     trained_on=trained_on(cfg) + (averaged if len(runs) > 1 else ""))
    save_model_dir(out, model, info, card=f"# {name}\n")
    (Path(out) / METRICS).unlink(missing_ok=True)  # a new model inherits no figures
    thresholds = calibrate_on_validation(out, cfg)
    evaluations = evaluations or {}
    tables: dict[str, Scores] = {label: evaluate_model(out, path) for label, path in evaluations.items()}
    for i, (label, path) in reversed(list(enumerate(evaluations.items()))):
        record_metrics(out, path, tables[label], primary=i == 0, label=label)
    top5 = {label: table.top5 for label, table in tables.items()}
    tagged = tag_examples(out, examples or [])
    card = model_card(info, runs, tables, top5, evaluations, tagged, training_tag_counts(cfg),
                      count_parameters(model), thresholds)
    (Path(out) / CARD).write_text(card)
    made_from = {"run": str(run_dirs[0])} if len(run_dirs) == 1 else {"runs": [str(r) for r in run_dirs]}
    write_lineage(out, {"made_by": "export-model", **made_from, "base_model": cfg.init_from,
                        "data": list(cfg.data), "val": list(cfg.val), "test": dict(evaluations),
                        "trained_on": info.trained_on,
                        "figures": {label: t.pr_auc_macro for label, t in tables.items()}})
    return Path(out)


# What runs of one recipe may differ in: an ensemble's networks are the same recipe from other seeds.
PER_RUN_FIELDS = {"out": "", "seed": 0, "resume": False}


def check_one_recipe(run_dirs: list, cfgs: list) -> None:
    """Several runs make one model only when they differ in nothing but their seed and folder."""
    recipe = replace(cfgs[0], **PER_RUN_FIELDS)
    for run_dir, cfg in zip(run_dirs[1:], cfgs[1:], strict=True):
        differing = [f for f, v in vars(replace(cfg, **PER_RUN_FIELDS)).items() if v != getattr(recipe, f)]
        if differing:
            raise ValueError(f"{run_dir} is another recipe than {run_dirs[0]} (it differs in "
                             f"{', '.join(differing)}): an ensemble takes runs that differ only in --seed")
    seeds = [c.seed for c in cfgs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the runs share a seed ({', '.join(map(str, seeds))}): the same seed on the "
                         "same files gives the same network twice")


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
