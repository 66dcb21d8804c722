"""Build the recorded corpus in the COALA HDF5 layout: real recordings from unpacked Debian packages
(core.corpus.debian), labelled by recordings.toml, deduplicated by content across every pool,
capped per package and per tag, featurised by the one COALA pipeline, with a manifest beside it.

Manifest (`OUT.jsonl`, one line per written row): id, package, path, licence, sha256, duration_s,
sample_rate, band_limited, tags, variant (0: the recording itself, k > 0: an augmented copy).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from core.corpus.builder import worker_pool
from core.corpus.debian import AUDIO_SUFFIXES
from core.corpus.recorded_rules import RULES_PATH, Rules, check_not_reserved, load_rules
from core.dataset import GROUP, CoalaWriter
from core.vocabulary import load_vocabulary, multi_hot

CHUNK = 64  # clips per worker task


class MissingPackageError(RuntimeError):
    """A package of the pool is not unpacked yet; the message says how to fetch it."""


@dataclass(frozen=True)
class RecordedConfig:
    out: str  # the HDF5 file to write; the manifest goes beside it as .jsonl
    pool: str  # recordings.toml pool: train, val or test
    packages_dir: str = "build/debian"  # unpacked packages, one folder each
    seed: int = 0  # the order in which caps are filled, and the augmentations
    variants: int = 0  # augmented copies per clip besides the recording itself (untagged changes)
    workers: int = 2  # decoding processes (0: in this process)
    rules: str = str(RULES_PATH)  # the labelling rules


@dataclass(frozen=True)
class Clip:
    package: str  # the Debian package
    path: str  # inside the unpacked package folder
    file: str  # where it lies on disk
    tags: tuple[str, ...]  # from the rules
    sha256: str  # of the file's bytes


@dataclass
class RecordedSummary:
    path: str  # the file written
    n: int  # rows written (clips x (1 + variants))
    clips: int  # distinct recordings
    seconds: float  # wall time
    dropped: dict = field(default_factory=dict)  # reason -> clips left out
    tag_counts: dict = field(default_factory=dict)  # tag -> recordings carrying it
    package_counts: dict = field(default_factory=dict)  # package -> recordings used


def candidate_clips(rules: Rules, packages_dir: Path, package: str) -> Iterator[Clip]:
    """Every labelled sound file of an unpacked package, in path order."""
    check_not_reserved(package, rules)
    folder = packages_dir / package
    if not folder.is_dir():
        raise MissingPackageError(f"{package} is not unpacked in {packages_dir}: run "
                                  f"`python -m core recorded fetch --dest {packages_dir}` (or `make corpus`)")
    for file in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        rel = file.relative_to(folder).as_posix()
        tags = rules.labels(package, rel)
        if tags:
            yield Clip(package, rel, str(file), tags, _sha256(file))


def plan_pool(cfg: RecordedConfig, rules: Rules) -> tuple[list[Clip], Counter]:
    """The clips of the pool: new content only (a recording also found in a later pool of
    test > val > train is left to that pool), seeded order, then the caps."""
    packages_dir, dropped = Path(cfg.packages_dir), Counter()
    claimed = _claimed_elsewhere(cfg, rules, packages_dir)
    clips, seen = [], set()
    for package in rules.pools[cfg.pool]:
        for clip in candidate_clips(rules, packages_dir, package):
            if clip.sha256 in seen or clip.sha256 in claimed:
                dropped["duplicate content"] += 1
                continue
            seen.add(clip.sha256)
            clips.append(clip)
    order = np.random.default_rng(cfg.seed).permutation(len(clips))
    kept = _apply_caps([clips[i] for i in order], rules, dropped)
    return kept, dropped


def _claimed_elsewhere(cfg: RecordedConfig, rules: Rules, packages_dir: Path) -> set[str]:
    later = {"train": ("val", "test"), "val": ("test",), "test": ()}[cfg.pool]
    return {c.sha256 for pool in later for pkg in rules.pools[pool]
            if (packages_dir / pkg).is_dir() for c in candidate_clips(rules, packages_dir, pkg)}


def _apply_caps(clips: list[Clip], rules: Rules, dropped: Counter) -> list[Clip]:
    per_package, per_tag, kept = Counter(), Counter(), []
    limits = rules.limits
    for clip in clips:
        if per_package[clip.package] >= limits.per_package:
            dropped["package cap"] += 1
        elif any(per_tag[t] >= limits.per_tag for t in clip.tags):
            dropped["tag cap"] += 1
        else:
            per_package[clip.package] += 1
            per_tag.update(clip.tags)
            kept.append(clip)
    return kept


def build_recorded(cfg: RecordedConfig, on_progress: Callable[[int, int], None] | None = None
                   ) -> RecordedSummary:
    rules = load_rules(cfg.rules)
    if cfg.pool not in rules.pools:
        raise ValueError(f"unknown pool {cfg.pool!r}; recordings.toml defines {sorted(rules.pools)}")
    start = time.perf_counter()
    clips, dropped = plan_pool(cfg, rules)
    if not clips:
        raise ValueError(f"no labelled clips in pool {cfg.pool}")
    summary = RecordedSummary(cfg.out, 0, 0, 0.0, dict(dropped))
    tasks = [(clips[a:a + CHUNK], cfg.seed, cfg.variants, rules.limits.min_seconds)
             for a in range(0, len(clips), CHUNK)]
    manifest = Path(cfg.out).with_suffix(".jsonl")
    with CoalaWriter(cfg.out) as writer, open(manifest, "w") as log, worker_pool(cfg.workers) as pool:
        args = list(zip(*tasks, strict=True))
        results = map(_featurise, *args) if pool is None else pool.map(_featurise, *args)
        done = 0
        for chunk, (rows, failures) in zip(tasks, results, strict=True):
            _write_rows(rows, failures, rules, writer, log, summary)
            done += len(chunk[0])
            if on_progress:
                on_progress(done, len(clips))
    _write_attrs(cfg, sorted(summary.tag_counts))
    summary.seconds = time.perf_counter() - start
    return summary


def _write_rows(rows: list[dict], failures: Counter, rules: Rules, writer: CoalaWriter, log,
                summary: RecordedSummary) -> None:
    """One chunk's rows into the HDF5 file and the manifest; the summary counts recordings."""
    for why, n in failures.items():
        summary.dropped[why] = summary.dropped.get(why, 0) + n
    if not rows:
        return
    vocabulary = load_vocabulary()
    writer.append(np.array([r["id"] for r in rows]), np.stack([r.pop("patch") for r in rows]),
                  np.stack([multi_hot(r["tags"], vocabulary) for r in rows]))
    for r in rows:
        r["band_limited"] = r["sample_rate"] < rules.limits.band_limited_below_hz
        r["licence"] = rules.packages[r["package"]].licence
        log.write(json.dumps(r) + "\n")
        if r["variant"] == 0:
            summary.clips += 1
            for tag in r["tags"]:
                summary.tag_counts[tag] = summary.tag_counts.get(tag, 0) + 1
            summary.package_counts[r["package"]] = summary.package_counts.get(r["package"], 0) + 1
    summary.n += len(rows)


def _featurise(clips: list[Clip], seed: int, variants: int, min_seconds: float) -> tuple[list, Counter]:
    """Decode and featurise a chunk (runs in a worker): rows for the writer and dropped reasons."""
    from core.audio import AudioError, load_audio
    from core.features import extract_patches

    rows, waves, failures = [], [], Counter()
    for clip in clips:
        try:
            audio = load_audio(clip.file)
        except AudioError:
            failures["undecodable"] += 1
            continue
        if audio.duration_s < min_seconds or float(np.abs(audio.samples).max()) < 1e-4:
            failures["too short or silent"] += 1
            continue
        for variant in range(1 + variants):
            waves.append(audio.samples if variant == 0 else _augment(audio.samples, clip, seed, variant))
            rows.append({"id": _clip_id(clip, variant), "package": clip.package, "path": clip.path,
                         "sha256": clip.sha256, "duration_s": round(audio.duration_s, 3),
                         "sample_rate": audio.source_rate, "tags": list(clip.tags), "variant": variant})
    if waves:
        patches = extract_patches(waves).patches.numpy()
        for row, patch in zip(rows, patches, strict=True):
            row["patch"] = patch
    return rows, failures


def _augment(samples: np.ndarray, clip: Clip, seed: int, variant: int) -> np.ndarray:
    """An untagged variation: the rendered corpus's augmentations, a level change, a short lead-in."""
    from core.audio import SAMPLE_RATE
    from core.corpus.effects import AUGMENTATIONS, peak

    rng = np.random.default_rng([seed, int(clip.sha256[:12], 16), variant])
    x = samples.astype(np.float64)
    for _, effect, probability in AUGMENTATIONS:
        if rng.random() < probability:
            x = effect(x, SAMPLE_RATE, rng)
    x = x / max(peak(x), 1e-9) * 10 ** (rng.uniform(-24, -1) / 20)
    lead = np.zeros(int(rng.uniform(0, 0.3) * SAMPLE_RATE))
    return np.concatenate([lead, x]).astype(np.float32)


def _clip_id(clip: Clip, variant: int) -> int:
    """A stable int32 id from the content: the same recording keeps its id in every build."""
    return (int(clip.sha256[:7], 16) * 4 + variant % 4) % (2**31 - 1)


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _write_attrs(cfg: RecordedConfig, tags: list[str]) -> None:
    """Provenance next to the data, as the rendered corpus does (readers of COALA files ignore it)."""
    with h5py.File(cfg.out, "a") as f:
        f[GROUP].attrs["corpus_config"] = json.dumps({"kind": "recorded", **asdict(cfg)})
        f[GROUP].attrs["corpus_tags"] = json.dumps(tags)
