"""Evaluate a model directory on COALA-layout data, and export a training run to a model directory
with its metrics and a filled-in model card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from core.dataset import iter_chunks
from core.metrics import TABLE_KEYS, Scores, format_table, score_tags
from core.model import count_parameters
from core.modeldir import CARD, ModelInfo, load_model_dir, save_model_dir, write_metrics
from core.patches import PatchSource, predict
from core.tagger import resolve_device
from core.train import load_best, load_run_config, read_log
from core.vocabulary import load_vocabulary

TOP_K_EXAMPLES = 5


def evaluate_model(model_dir: str | Path, data: str | Path, device: str = "auto",
                   batch: int = 256) -> Scores:
    """Score every clip of `data` with the model and compute the course table over its tags."""
    dev = resolve_device(device)
    loaded = load_model_dir(model_dir, dev)
    source = PatchSource(str(data))
    scores, labels = predict(loaded.model, source, dev, batch)
    if labels.shape[1] != len(loaded.vocabulary):
        raise ValueError(f"{data} has {labels.shape[1]} label columns, the model "
                         f"{len(loaded.vocabulary)} outputs")
    return score_tags(labels, scores, loaded.vocabulary)


def record_metrics(model_dir: str | Path, data: str | Path, scores: Scores, primary: bool = True) -> dict:
    """Write the evaluation into metrics.json: the primary one at the top level (the course table,
    per-tag AP), every one by data file name under "evaluations"."""
    loaded_metrics = _read_metrics(model_dir)
    entry = {"data": str(data), "n_clips": scores.n_clips, "n_tags": scores.n_tags,
             **{k: getattr(scores, k) for k in TABLE_KEYS},
             "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    evaluations = dict(loaded_metrics.get("evaluations", {}))
    evaluations[Path(data).name] = entry
    if primary or not set(TABLE_KEYS) <= set(loaded_metrics):
        metrics = {**entry, "per_tag_ap": scores.per_tag_ap,
                   "per_tag_positives": scores.per_tag_positives}
    else:
        metrics = dict(loaded_metrics)
    metrics["evaluations"] = evaluations
    write_metrics(model_dir, metrics)
    return metrics


def _read_metrics(model_dir: str | Path) -> dict:
    import json

    path = Path(model_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def known_tags(data: str | Path) -> list[str]:
    """Tags with at least one positive clip in a COALA-layout file, most frequent first."""
    counts = None
    for chunk in iter_chunks(data):
        s = (chunk.labels > 0).sum(axis=0)
        counts = s if counts is None else counts + s
    vocabulary = load_vocabulary()
    order = np.argsort(-counts, kind="stable")
    return [vocabulary[i] for i in order if counts[i] > 0]


# --- export -------------------------------------------------------------------------------------------
def export_run(run_dir: str | Path, out: str | Path, *, name: str = "compact-rendered",
               version: str | None = None, evaluations: dict[str, str] | None = None,
               examples: list[str] | None = None) -> Path:
    """A model directory from the run's best epoch; evaluates on `evaluations` (label -> HDF5; the
    first is the primary table), tags `examples` and writes the model card."""
    model, best = load_best(run_dir)
    cfg = load_run_config(run_dir)
    version = version or dt.date.today().isoformat()
    info = ModelInfo(name, version, cfg.preset, model.dims, trained_on=_trained_on(cfg))
    save_model_dir(out, model, info, card=f"# {name}\n")
    tables: dict[str, Scores] = {}
    for label, path in (evaluations or {}).items():
        tables[label] = evaluate_model(out, path)
    for i, (label, path) in reversed(list(enumerate((evaluations or {}).items()))):
        record_metrics(out, path, tables[label], primary=i == 0)
    tagged = tag_examples(out, examples or [])
    card = model_card(info, cfg, best, read_log(run_dir), tables, evaluations or {}, tagged,
                      known_tags(cfg.data), count_parameters(model))
    (Path(out) / CARD).write_text(card)
    return Path(out)


def tag_examples(model_dir: str | Path, paths: list[str]) -> list[tuple[str, list[tuple[str, float]]]]:
    from core.tagger import Tagger

    if not paths:
        return []
    tagger = Tagger(model_dir, "cpu")
    return [(r.path, r.tags if r.ok else [("error: " + str(r.error), 0.0)])
            for r in tagger.tag_files(paths, top_k=TOP_K_EXAMPLES)]


def _trained_on(cfg) -> str:
    return _data_line(cfg) + (f"; fine-tuned from {cfg.init_from}" if cfg.init_from else "")


def _data_line(cfg) -> str:
    from core.corpus.builder import read_corpus_info

    info = read_corpus_info(cfg.data).get("corpus_config")
    if not info:
        return f"{Path(cfg.data).name}"
    return (f"{info['n']} clips rendered offline (pool {info['pool']}, seed {info['seed']}): "
            "FluidSynth soundfonts, espeak-ng speech, synthesized signals")


def model_card(info: ModelInfo, cfg, best: dict, log: list[dict], tables: dict[str, Scores],
               data: dict[str, str], examples: list, tags: list[str], n_params: int) -> str:
    epochs = [r for r in log if r.get("event") == "epoch"]
    train_s = sum(r["time_s"] for r in epochs)
    lines = [f"# {info.name} ({info.version})", "",
             "A small CNN that tags short sounds with tags from COALA's 1000-tag Freesound vocabulary.",
             "", "**It learned from rendered and synthesized sounds, not from field recordings.** "
             "Every training clip was made on this machine by FluidSynth (General MIDI soundfonts), "
             "espeak-ng (speech) and numpy (tones, noises, alarms, synthetic drums), with effects and "
             "mixtures. It has never heard a real recording, so expect it to be wrong on sounds "
             "unlike those: nature, foley, rooms full of people, real instruments it has no "
             "soundfont for, and any tag outside the list below.", "",
             "## Training data", ""]
    lines += _data_lines(cfg, data)
    lines += ["", "## Training", "",
              f"- preset `{info.preset}`: channels {list(info.dims.channels)}, pools "
              f"{list(info.dims.pools)}, hidden {info.dims.hidden}; {n_params:,} parameters",
              f"- Adam (lr {cfg.lr}{', cosine decay' if cfg.cosine else ''}), BCE, batch "
              f"{cfg.batch_size}, seed {cfg.seed}, spec-augment {cfg.spec_augment}",
              f"- epochs run: {len(epochs)} of at most {cfg.epochs} (patience {cfg.patience}); "
              f"best epoch {best['epoch']} by validation PR-AUC macro "
              f"({best['metrics'].get('pr_auc_macro', float('nan')):.3f}); training took "
              f"{train_s / 60:.1f} min", ""]
    if tables:
        lines += ["## Test", "", "Macro figures average over the tags present in each test file; "
                  "subset accuracy is an exact match of the tag set at a 0.5 threshold.", "",
                  format_table(tables), ""]
    if examples:
        lines += ["## Sounds it was not built from (top 5)", "", "| file | tags |", "| --- | --- |"]
        lines += [f"| {Path(p).name} | " + ", ".join(f"{t} {s:.2f}" for t, s in ranked) + " |"
                  for p, ranked in examples]
        lines.append("")
    lines += [f"## Tags it knows ({len(tags)})", "", ", ".join(tags), "",
              "Its other outputs (the rest of the 1000 tags) were only ever trained towards 0.", ""]
    return "\n".join(lines)


def _data_lines(cfg, data: dict[str, str]) -> list[str]:
    from core.corpus.builder import read_corpus_info
    from core.corpus.catalog import load_catalog

    catalog = load_catalog()
    rows = [("training", cfg.data)] + ([("validation", cfg.val)] if cfg.val else [])
    rows += [(label, path) for label, path in data.items() if path not in (cfg.data, cfg.val)]
    lines = []
    for label, path in rows:
        c = read_corpus_info(path).get("corpus_config")
        if not c:
            lines.append(f"- {label}: `{Path(path).name}`")
            continue
        pool = catalog.pools.get(c["pool"])
        where = (f"soundfonts {', '.join(pool.soundfonts)}; drum kits {', '.join(pool.drumkits)}; "
                 f"espeak-ng voices {', '.join(pool.voices)}") if pool else c["pool"]
        lines.append(f"- {label}: `{Path(path).name}`, {c['n']} clips, pool `{c['pool']}`, seed "
                     f"{c['seed']} ({where})")
    if cfg.init_from:
        lines.append(f"- fine-tuned from the weights of `{cfg.init_from}`, not trained from scratch")
    return lines
