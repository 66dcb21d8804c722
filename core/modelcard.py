"""The model card (MODEL_CARD.md): written from the run's own record, i.e. the data files it read
and what kind each is (rendered corpus, recorded corpus, COALA data, other), the base model when it
was fine-tuned, its training log, test tables, top-5 figures and the examples it was not built from."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.dataset import iter_chunks, parse_data_spec
from core.metrics import Scores, format_table
from core.modeldir import ModelInfo
from core.vocabulary import load_vocabulary

COMMON_TAG_CLIPS = 30  # a tag "is known" with at least this many training recordings or renders
COALA_NAMES = ("spec_tags_top_1000", "spec_tags_top_1000_val")


def data_kind(path: str | Path) -> str:
    """rendered, recorded, coala or other: from the corpus marker the builders write, or the name."""
    from core.corpus.builder import read_corpus_info

    config = read_corpus_info(path).get("corpus_config") or {}
    if config.get("kind") == "recorded":
        return "recorded"
    if config:
        return "rendered"
    return "coala" if Path(path).stem in COALA_NAMES else "other"


KIND_WORDS = {"rendered": "sounds rendered offline (FluidSynth soundfonts, espeak-ng speech, "
                          "synthesized signals)",
              "recorded": "real recordings from Debian game and education data packages, labelled "
                          "by their path words (core/corpus/recordings.toml)",
              "coala": "the COALA data: real Freesound sounds labelled by their uploaders' tags",
              "other": "a COALA-layout file"}


def trained_on(cfg) -> str:
    """One line for the model's config.json."""
    kinds = sorted({data_kind(parse_data_spec(s)[0]) for s in cfg.data})
    line = " + ".join(KIND_WORDS[k].split(" (")[0].split(",")[0] for k in kinds)
    line += f"; fine-tuned from {cfg.init_from}" if cfg.init_from else ""
    return line + (f"; distilled from {len(cfg.teachers)} teacher(s)" if cfg.teachers else "")


def training_tag_counts(cfg) -> Counter:
    """Training clips per tag over every training file; a recorded corpus counts recordings, not
    their augmented copies (its manifest says which rows are copies)."""
    counts: Counter = Counter()
    for spec in cfg.data:
        path = Path(parse_data_spec(spec)[0])
        manifest = path.with_suffix(".jsonl")
        if data_kind(path) == "recorded" and manifest.is_file():
            for line in manifest.read_text().splitlines():
                row = json.loads(line)
                if row.get("variant", 0) == 0:
                    counts.update(row["tags"])
            continue
        vocabulary = load_vocabulary()
        for chunk in iter_chunks(path):
            per_tag = (chunk.labels > 0).sum(axis=0)
            counts.update({vocabulary[i]: int(per_tag[i]) for i in np.flatnonzero(per_tag)})
    return counts


@dataclass(frozen=True)
class RunRecord:
    """What a training run leaves for the card: its config, best checkpoint record and log."""

    cfg: object  # core.train.TrainConfig
    best: dict
    log: list[dict]


def model_card(info: ModelInfo, runs: list[RunRecord], tables: dict[str, Scores],
               top5: dict[str, dict], data: dict[str, str], examples: list, tag_counts: Counter,
               n_params: int, thresholds: tuple[str, ...]) -> str:
    """The card of a model made from one run, or from several runs of one recipe (an ensemble)."""
    cfg = runs[0].cfg
    kinds = {data_kind(parse_data_spec(s)[0]) for s in cfg.data}
    members = info.dims.members
    what = "A small CNN" if members == 1 else f"An ensemble of {members} small CNNs (their logits averaged)"
    lines = [f"# {info.name} ({info.version})", "",
             f"{what} that tags short sounds with tags from COALA's 1000-tag Freesound vocabulary.",
             "", *_what_it_heard(kinds), "", "## Training data", "", *_data_lines(cfg, data), "",
             *_training_lines(info, runs, n_params)]
    if tables:
        lines += ["## Test", "", "Macro figures average over the tags present in each test file; "
                  "subset accuracy is an exact match of the tag set at a 0.5 threshold on raw scores.",
                  "", format_table(tables), ""]
    if top5:
        lines += ["Top 5 as a person reads them (calibrated scores, clips with at least one label): "
                  "hit rate = any of the top 5 is a label of the clip; precision = share of the top 5 "
                  "that are labels; a perfect ranking's precision is below 1 where clips carry fewer "
                  "than 5 labels.", "",
                  "| data | clips | top-5 hit rate | top-5 precision | a perfect ranking's precision |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {k} | {v['clips']} | {v['hit_rate']:.3f} | {v['precision']:.3f} | "
                  f"{v['precision_bound']:.3f} |" for k, v in top5.items()]
        lines.append("")
    if examples:
        lines += ["## Sounds it was not built from (top 5)", "", "| file | tags |", "| --- | --- |"]
        lines += [f"| {Path(p).name} | " + ", ".join(f"{t} {s:.2f}" for t, s in ranked) + " |"
                  for p, ranked in examples]
        lines.append("")
    common = [t for t, n in tag_counts.most_common() if n >= COMMON_TAG_CLIPS]
    lines += [f"## Tags it knows: {len(common)} with at least {COMMON_TAG_CLIPS} training clips", "",
              ", ".join(common), "",
              f"{len(tag_counts)} tags have at least one training clip; the rest of the 1000 outputs "
              "were only ever trained towards 0.", "",
              f"Per-tag thresholds (`thresholds.json`, max F1 on validation) for {len(thresholds)} "
              "tags; the others use 0.5. Scores are reported calibrated: 0.5 is each tag's threshold.",
              ""]
    return "\n".join(lines)


def _what_it_heard(kinds: set[str]) -> list[str]:
    if kinds == {"rendered"}:
        return ["**It learned from rendered and synthesized sounds, not from field recordings.** "
                "Expect it to be wrong on nature, foley, rooms full of people and real instruments "
                "it has no soundfont for."]
    heard = "; ".join(KIND_WORDS[k] for k in sorted(kinds))
    lines = [f"It learned from {heard}."]
    if "recorded" in kinds:
        lines += ["", "The recordings are game and education sound effects, voices and ambiences: "
                  "far more real than renders, but fewer than Freesound holds, and labelled only as "
                  "far as their file names say. Tags outside the list below are guesses."]
    return lines


def _training_lines(info: ModelInfo, runs: list[RunRecord], n_params: int) -> list[str]:
    cfg, dims = runs[0].cfg, info.dims
    networks = f"{dims.members} networks of " if dims.members > 1 else ""
    seeds = ", ".join(str(r.cfg.seed) for r in runs)
    lines = ["## Training", "",
             f"- preset `{info.preset}`: {networks}channels {list(dims.channels)}, pools "
             f"{list(dims.pools)}, hidden {dims.hidden}; {n_params:,} parameters",
             f"- Adam (lr {cfg.lr}{', cosine decay' if cfg.cosine else ''}), BCE, batch "
             f"{cfg.batch_size}, seed{'s' if len(runs) > 1 else ''} {seeds}, spec-augment "
             f"{cfg.spec_augment}"]
    if len(runs) > 1:
        lines.append(f"- one run per seed, the same recipe otherwise; the model averages the "
                     f"{len(runs)} best epochs' logits, and its embedding is theirs side by side")
    return lines + [_epochs_line(r, named=len(runs) > 1) for r in runs] + [""]


def _epochs_line(run: RunRecord, named: bool) -> str:
    epochs = [r for r in run.log if r.get("event") == "epoch"]
    train_s = sum(r["time_s"] for r in epochs)
    pr_auc = run.best["metrics"].get("pr_auc_macro", float("nan"))
    return (f"- {f'seed {run.cfg.seed}: ' if named else ''}epochs run: {len(epochs)} of at "
            f"most {run.cfg.epochs} (patience {run.cfg.patience}); best epoch {run.best['epoch']} by "
            f"validation PR-AUC macro ({pr_auc:.3f}); training took {train_s / 60:.1f} min")


def _data_lines(cfg, data: dict[str, str]) -> list[str]:
    rows = [("training", s) for s in cfg.data] + [("validation", v) for v in cfg.val]
    used = {parse_data_spec(s)[0] for s in cfg.data} | set(cfg.val)
    rows += [(label, path) for label, path in data.items() if path not in used]
    lines = [_data_line(label, spec) for label, spec in rows]
    if not cfg.val:
        lines.append(f"- validation: a seeded {cfg.val_fraction:.0%} split of each training file")
    if cfg.init_from:
        lines.append(f"- fine-tuned from the weights of `{cfg.init_from}`, not trained from scratch")
    if cfg.teachers:
        lines.append(f"- distilled: each training target was {1 - cfg.distill:.2g} x the labels + "
                     f"{cfg.distill:.2g} x the mean score of " + ", ".join(f"`{t}`" for t in cfg.teachers))
    return lines


def _rendered_sources(pool_name: str) -> str:
    from core.corpus.catalog import load_catalog

    pool = load_catalog().pools.get(pool_name)
    if pool is None:
        return ""
    return (f" (soundfonts {', '.join(pool.soundfonts)}; drum kits {', '.join(pool.drumkits)}; "
            f"espeak-ng voices {', '.join(pool.voices)})")


def _data_line(label: str, spec: str) -> str:
    from core.corpus.builder import read_corpus_info

    path, weight = parse_data_spec(spec)
    kind = data_kind(path)
    config = read_corpus_info(path).get("corpus_config") or {}
    share = f", weight {weight:g}" if label == "training" and len(spec) != len(path) else ""
    if kind == "rendered":
        detail = f"{config['n']} rendered clips, pool `{config['pool']}`, seed {config['seed']}"
        detail += _rendered_sources(config["pool"])
    elif kind == "recorded":
        detail = f"recorded pool `{config['pool']}` (packages in core/corpus/recordings.toml)"
        if config.get("variants"):
            detail += f", {config['variants']} augmented copies per recording"
    else:
        detail = KIND_WORDS[kind]
    return f"- {label}: `{Path(path).name}`{share}: {detail}"
