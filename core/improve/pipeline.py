"""The improvement job: store -> weakly labelled and reviewed training files (held-out slice kept
apart) + the base model's corpora -> fine-tune from the base model -> blended with the base in
weight space (core.improve.blend) -> a new model directory in models/ -> old and new compared on
the same data -> lineage.json and comparison.json.

Nothing is promoted here: `python -m core promote NAME` (or the training page) decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.dataset import dataset_size, parse_data_spec
from core.files import write_json
from core.improve.compare import compare_on
from core.improve.config import ImproveConfig
from core.improve.data import BaseCorpora, StoreData, base_corpora, write_store_files
from core.modeldir import read_model_info
from core.registry import write_lineage
from core.store import TagStore

if TYPE_CHECKING:
    from core.improve.blend import BlendChoice

COMPARISON = "comparison.json"  # in the new model directory
HELDOUT_LABEL = "store held-out"  # the comparison's name for the held-out store sounds
Progress = Callable[[str], None]  # one line per stage


class ImproveError(Exception):
    """An improvement that cannot run (no sounds, nothing to learn); the message says why."""


@dataclass(frozen=True)
class ImproveResult:
    model_dir: Path  # the new model directory
    run_dir: Path  # the fine-tune's run folder
    comparison: dict  # what comparison.json holds
    notes: tuple[str, ...] = field(default=())  # what the user should know (missing corpora, ...)


def improve(cfg: ImproveConfig, on_stage: Progress | None = None, callbacks=None) -> ImproveResult:
    say = on_stage or (lambda line: None)
    stamp = datetime.now(UTC)
    name = cfg.name or f"improved-{stamp:%Y%m%d-%H%M%S}"
    run, out = Path(cfg.runs_dir) / name, Path(cfg.models_dir) / name
    if (run / "data").exists() or (run / "log.jsonl").exists() or out.exists():
        raise ImproveError(f"{run} or {out} exists already: choose another name")
    base = Path(cfg.model)
    info = read_model_info(base)
    corpora = base_corpora(base, _list(cfg.base_data), _list(cfg.base_val), cfg.base_test)
    notes = _corpora_notes(corpora)
    for line in notes:
        say(f"note: {line}")
    say(f"exporting the store's sounds from {cfg.db}")
    store = TagStore(cfg.db)
    data = write_store_files(store, run / "data", cfg.holdout, cfg.val, cfg.seed, cfg.threshold)
    say(_store_line(data))
    layers = layers_to_train(cfg, info)
    train_cfg = training_config(cfg, corpora, data, run, info.preset, layers)  # the monitor follows `run`
    _train(train_cfg, say, callbacks)
    blend = _blend(cfg, run, say)
    tests = {**corpora.test, **({HELDOUT_LABEL: str(data.files["heldout"])}
                                if "heldout" in data.files else {})}
    say(f"exporting {out} and evaluating it on {', '.join(tests) or 'nothing'}")
    _export(run, out, name, stamp, tests)
    comparison = compare_all(base, out, tests, store, cfg.threshold, say)
    write_json(out / COMPARISON, comparison)
    write_lineage(out, lineage(cfg, base, train_cfg, tests, data, comparison, notes, blend))
    return ImproveResult(out, run, comparison, tuple(notes))


def layers_to_train(cfg: ImproveConfig, info) -> str:
    """What the fine-tune trains: as asked, else the head of an ensemble and all of a network."""
    if cfg.train_layers is not None:
        return cfg.train_layers
    return "head" if info.dims.members > 1 else "all"


def training_config(cfg: ImproveConfig, corpora: BaseCorpora, data: StoreData, run: Path,
                    preset: str, train_layers: str = "all"):
    """The fine-tune: base corpora, weak and reviewed store files mixed by weight, validated on the
    base validation files and the store's validation slice, starting from the base model."""
    from core.train import TrainConfig

    specs, weights = _mix(cfg, corpora, data)
    if not any(name in data.files for name in ("weak", "reviewed")):
        raise ImproveError(f"the store {cfg.db} holds no sound to learn from outside the held-out "
                           "slice: fetch sounds with uploader tags (python -m core feed) or review some")
    sizes = [dataset_size(s) for s in specs]
    batch = min(cfg.batch_size, max(2, sum(sizes) // 2))  # a small store: batches that fit it
    fitted = fit_weights(sizes, weights, batch)
    val = (*corpora.val, *([str(data.files["val"])] if "val" in data.files else []))
    return TrainConfig(data=tuple(f"{s}:{w:.6g}" for s, w in zip(specs, fitted, strict=True)),
                       out=str(run), val=val, preset=preset, epochs=cfg.epochs, lr=cfg.lr,
                       batch_size=batch, patience=cfg.epochs, seed=cfg.seed,
                       device=cfg.device, init_from=str(cfg.model), train_layers=train_layers)


def _mix(cfg: ImproveConfig, corpora: BaseCorpora, data: StoreData) -> tuple[list[str], list[float]]:
    base = [parse_data_spec(s) for s in corpora.data]
    total = sum(w for _, w in base) or 1.0
    specs = [p for p, _ in base]
    weights = [cfg.base_weight * w / total for _, w in base]
    for name, weight in (("weak", cfg.weak_weight), ("reviewed", cfg.reviewed_weight)):
        if name in data.files:
            specs.append(str(data.files[name]))
            weights.append(weight)
    return specs, weights


def fit_weights(sizes: list[int], weights: list[float], batch: int) -> list[float]:
    """Weights whose per-batch shares fit each file (a file of 5 corrections cannot give 20 rows
    to every batch): a small file's weight is lowered so that its share is what its rows fill."""
    room = [max(n - 1, 1) for n in sizes]  # a row to spare for the rounding of shares
    capped: set[int] = set()
    while True:
        fractions = {i: room[i] / batch for i in capped}
        rest = sum(w for i, w in enumerate(weights) if i not in capped)
        if sum(fractions.values()) >= 1 or rest <= 0:
            return [float(n) for n in sizes]  # every file is small: shares follow the rows
        total = rest / (1 - sum(fractions.values()))
        fitted = [fractions[i] * total if i in capped else w for i, w in enumerate(weights)]
        over = {i for i, w in enumerate(fitted)
                if i not in capped and batch * w / total > room[i]}
        if not over:
            return fitted
        capped |= over


def _train(train_cfg, say: Progress, callbacks) -> None:
    from core.train import train
    from core.train_checks import require_trainable

    require_trainable(train_cfg.data, train_cfg.val or None, train_cfg.val_fraction, train_cfg.seed)
    say(f"fine-tuning {train_cfg.init_from} for at most {train_cfg.epochs} epochs on "
        + ", ".join(Path(parse_data_spec(s)[0]).name + f" (weight {parse_data_spec(s)[1]:.3g})"
                    for s in train_cfg.data))
    end = train(train_cfg, callbacks)
    say(f"best epoch {end['best_epoch']} of {end['epochs']}, validation PR-AUC macro "
        f"{end['best_pr_auc_macro']:.3f}")


def _blend(cfg: ImproveConfig, run: Path, say: Progress) -> BlendChoice:
    from core.improve.blend import GRID, choose_and_apply

    alphas = GRID if cfg.blend is None else (cfg.blend,)
    choice = choose_and_apply(run, cfg.model, alphas, say)
    say(f"kept the blend {choice.alpha:g} x fine-tuned + {1 - choice.alpha:g} x base"
        + (" (the fine-tune alone)" if choice.alpha == 1.0 else ""))
    return choice


def _export(run: Path, out: Path, name: str, stamp: datetime, tests: dict[str, str]) -> None:
    from core.model_export import export_run

    export_run(run, out, name=name, version=stamp.isoformat(timespec="seconds"), evaluations=tests)


def compare_all(base: Path, new: Path, tests: dict[str, str], store: TagStore, threshold: float,
                say: Progress) -> dict:
    rows = {r.id: r for r in store.label_rows(threshold=threshold)}
    evaluations = {}
    for label, path in tests.items():
        try:
            evaluations[label] = compare_on(base, new, path, rows if label == HELDOUT_LABEL else None)
        except ValueError as e:  # e.g. no tag with positive and negative clips
            evaluations[label] = {"data": path, "error": str(e)}
            continue
        old, newer = evaluations[label]["old"], evaluations[label]["new"]
        say(f"{label}: PR-AUC macro {old['pr_auc_macro']:.3f} -> {newer['pr_auc_macro']:.3f} "
            f"over {newer['n_tags']} tags, {newer['n_clips']} clips")
    return {"base": str(base), "new": str(new), "heldout_label": HELDOUT_LABEL,
            "evaluations": evaluations}


def lineage(cfg: ImproveConfig, base: Path, train_cfg, tests: dict, data: StoreData,
            comparison: dict, notes: list[str], blend: BlendChoice) -> dict:
    parts = {p: sum(1 for v in data.parts.values() if v == p) for p in ("train", "val", "heldout")}
    figures = {k: v["new"]["pr_auc_macro"] for k, v in comparison["evaluations"].items() if "new" in v}
    base_figures = {k: v["old"]["pr_auc_macro"] for k, v in comparison["evaluations"].items()
                    if "old" in v}
    return {"made_by": "improve", "base_model": base.name, "base_path": str(base),
            "data": list(train_cfg.data), "val": list(train_cfg.val), "test": tests,
            "store": {"db": str(cfg.db), "sounds": parts,
                      "files": {k: {"rows": s.rows, "labels": s.labels, "from": s.labels_from,
                                    "origins": s.origins, "unmapped_uploader_tags": s.unmapped}
                                for k, s in data.summaries.items()}},
            "split": {"holdout": cfg.holdout, "val": cfg.val, "seed": cfg.seed},
            "training": {"epochs": cfg.epochs, "lr": cfg.lr, "batch_size": cfg.batch_size,
                         "run": train_cfg.out},
            "blend": {"alpha": blend.alpha, "chosen_on_validation": cfg.blend is None,
                      "validation": {f"{a:g}": v for a, v in blend.validation.items()}},
            "figures": figures, "base_figures": base_figures, "notes": notes}


def _corpora_notes(corpora: BaseCorpora) -> list[str]:
    notes = []
    if not corpora.data:
        notes.append("the base model's training corpora are not known or not present (give them "
                     "with --base-data FILE[:WEIGHT]): the fine-tune sees only the store's sounds "
                     "and may drift from what the model knew")
    if corpora.missing:
        notes.append("files the base model's lineage names are gone: " + ", ".join(corpora.missing))
    if not corpora.test:
        notes.append("no base test file present: only the held-out store sounds are compared")
    return notes


def _store_line(data: StoreData) -> str:
    parts = {p: sum(1 for v in data.parts.values() if v == p) for p in ("train", "val", "heldout")}
    files = "; ".join(f"{k}: {s.line()}" for k, s in data.summaries.items())
    return (f"store sounds: {parts['train']} to train on, {parts['val']} for validation, "
            f"{parts['heldout']} held out; {files}")


def _list(value: tuple[str, ...] | None) -> list[str] | None:
    return None if value is None else list(value)

