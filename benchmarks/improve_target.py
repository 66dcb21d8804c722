"""Measure `python -m core improve` against issue #14's targets, on a store the feed fills from the
local Freesound test server (tests/freesound_server.py) with sounds whose uploader tags are
realistic: partial, in people's spellings, with generic and out-of-vocabulary tags.

The sounds: clips rendered from the corpus's `holdout` pool (soundfonts, drum kits and voices the
bundled model was not trained on) and every real recording of the recorded corpus's manifests whose
file is installed here. A sound's uploader tags are its true tags, each kept with probability 0.75
and written as people write them (`Drums`, `bass`, `hi-hats`), plus generic tags (sound, sfx,
effect) and tags outside the vocabulary (2024, zoom-h5, my-sound). A curator reviews one sound in
ten: adds up to 3 missing true tags and removes up to 3 wrong final tags.

    PYTHONPATH=. python benchmarks/improve_target.py --work /tmp/improve-measure --n 2000 \
        --base-data build/corpus/train.h5 --base-val build/corpus/val.h5 \
        --base-test test=build/corpus/test.h5 --base-test holdout=build/corpus/holdout.h5

It prints the feed's summary, the improve command it runs and its wall time, and writes
measure.json in --work with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
GENERIC = ("sound", "sfx", "effect", "audio", "sample")
OUT_OF_VOCABULARY = ("2024", "zoom-h5", "my-sound", "nice-sound", "home-recording", "wip",
                     "untitled", "samplepack-vol2")
KEEP = 0.75  # chance an uploader writes each true tag
REVIEW_EVERY = 10  # a curator reviews one sound in this many


def render_chunk(args: tuple[int, int, int]) -> list[tuple[bytes, list[str]]]:
    """Clips start..stop-1 of the holdout pool (seed): (ogg bytes, true tags)."""
    from core.corpus.catalog import load_catalog
    from core.corpus.recipe import plan_clip
    from core.corpus.render import render_clips
    from core.features import SAMPLE_RATE

    seed, start, stop = args
    catalog = load_catalog()
    specs = [plan_clip(catalog, "holdout", seed, i) for i in range(start, stop)]
    out = []
    for spec, clip in zip(specs, render_clips(specs), strict=True):
        if clip is not None:
            out.append((ogg_bytes(clip, SAMPLE_RATE), list(spec.tags)))
    return out


def ogg_bytes(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(samples, -1, 1), rate, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def rendered(n: int, seed: int, workers: int) -> list[tuple[bytes, list[str]]]:
    chunks = [(seed, a, min(n, a + 50)) for a in range(0, n, 50)]
    with ProcessPoolExecutor(workers) as pool:
        return [item for part in pool.map(render_chunk, chunks) for item in part]


def recordings(manifests: list[Path]) -> list[tuple[bytes, list[str]]]:
    """Real recordings of the recorded corpus whose files are installed (variant 0 only)."""
    seen, out = set(), []
    for manifest in manifests:
        for line in manifest.read_text().splitlines():
            row = json.loads(line)
            path = Path("/") / row["path"]
            if row.get("variant", 0) == 0 and row["sha256"] not in seen and path.is_file():
                seen.add(row["sha256"])
                out.append((path.read_bytes(), list(row["tags"])))
    return out


def uploader_tags(truth: list[str], rng: np.random.Generator) -> list[str]:
    """What an uploader might write for a sound whose true tags are `truth`."""
    tags = []
    for tag in truth:
        if rng.random() < KEEP:
            form = rng.integers(3)
            tags.append(tag if form == 0 else tag.capitalize() if form == 1 else tag + "s")
    tags += list(rng.choice(GENERIC, size=rng.integers(0, 3), replace=False))
    tags += list(rng.choice(OUT_OF_VOCABULARY, size=rng.integers(0, 3), replace=False))
    return tags or [truth[0]]


def server_sounds(items: list[tuple[bytes, list[str]]], seed: int):
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    sounds, previews, truth = [], {}, {}
    for i, (audio, tags) in enumerate(items):
        sid = 1_000_000 + i
        sounds.append({"id": sid, "name": f"sound {i}", "tags": uploader_tags(tags, rng),
                       "username": f"user_{i % 97}", "license": "CC0",
                       "created": (now - timedelta(minutes=i)).isoformat(), "duration": 1.0,
                       "url": f"https://freesound.org/s/{sid}/", "description": ""})
        previews[sid], truth[sid] = audio, tags
    return sounds, previews, truth


def feed_store(db: Path, audio: Path, model: Path, sounds, previews) -> str:
    from core.feed import FeedConfig, fetch_freesound
    from core.freesound import ClientConfig, FreesoundClient
    from core.store import TagStore
    from core.tagger import Tagger
    from tests.freesound_server import API_KEY, FakeFreesound

    with FakeFreesound(n_sounds=0) as fs:
        fs.sounds, fs.previews = sounds, previews
        config = ClientConfig(api_url=fs.api_url, per_minute=10**6, per_day=10**6)
        with FreesoundClient(API_KEY, config) as client:
            summary = fetch_freesound(client, TagStore(db), Tagger(model, "cpu"),
                                      FeedConfig(limit=None, audio_dir=audio, batch=32))
    return summary.line()


def review(db: Path, truth: dict[int, list[str]], seed: int) -> int:
    """A curator reviews one sound in REVIEW_EVERY: adds missing true tags, removes wrong ones."""
    from core.store import SoundQuery, TagStore

    store, rng, n = TagStore(db), np.random.default_rng(seed + 1), 0
    for row in store.list_sounds(SoundQuery(limit=None, sort="oldest")):
        if rng.integers(REVIEW_EVERY):
            continue
        true = truth[row.freesound_id]
        add = [t for t in true if t not in row.final][:3]
        remove = [t for t in row.final if t not in true][:3]
        if add or remove:
            store.label(row.id, add=add, remove=remove, user="curator")
            n += 1
    return n


def run_improve(work: Path, db: Path, args) -> tuple[list[str], float, str]:
    cmd = [sys.executable, "-m", "core", "improve", "--db", str(db), "--epochs", str(args.epochs),
           "--name", "measured", "--device", "cpu"]
    cmd += [x for d in args.base_data for x in ("--base-data", d)]
    cmd += [x for v in args.base_val for x in ("--base-val", v)]
    cmd += [x for t in args.base_test for x in ("--base-test", t)]
    env = {**os.environ, "TAGGER_MODELS": str(work / "models"), "TAGGER_RUNS": str(work / "runs"),
           "PYTHONPATH": str(ROOT)}
    env.pop("TAGGER_MODEL", None)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    return cmd, time.perf_counter() - start, done.stdout + done.stderr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--n", type=int, default=2000, help="sounds in the store")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=41)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    p.add_argument("--manifests", type=Path, nargs="*",
                   default=sorted((ROOT / "build" / "recorded").glob("*.jsonl")))
    p.add_argument("--base-data", action="append", default=[])
    p.add_argument("--base-val", action="append", default=[])
    p.add_argument("--base-test", action="append", default=[])
    args = p.parse_args()
    work = args.work
    (work / "models").mkdir(parents=True, exist_ok=True)
    if not (work / "models" / "default").exists():
        (work / "models" / "default").symlink_to(args.model.resolve())
    db = work / "tags.duckdb"
    t0 = time.perf_counter()
    real = recordings(args.manifests)[: args.n]
    items = real + rendered(args.n - len(real), args.seed, args.workers)
    print(f"{len(items)} sounds: {len(real)} real recordings, {len(items) - len(real)} rendered "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    sounds, previews, truth = server_sounds(items, args.seed)
    print("feed:", feed_store(db, work / "audio", args.model, sounds, previews), flush=True)
    print(f"reviewed {review(db, truth, args.seed)} sounds", flush=True)
    cmd, wall, output = run_improve(work, db, args)
    print(output)
    print(f"improve took {wall:.0f} s: {' '.join(cmd[1:])}")
    comparison = work / "models" / "measured" / "comparison.json"
    figures = {}
    if comparison.is_file():
        for label, e in json.loads(comparison.read_text())["evaluations"].items():
            if "old" in e:
                figures[label] = {"old": e["old"], "new": e["new"],
                                  "corrections": e.get("corrections")}
    (work / "measure.json").write_text(json.dumps(
        {"n_sounds": len(items), "real": len(real), "improve_wall_s": wall, "command": cmd,
         "figures": figures}, indent=2))
    for label, f in figures.items():
        print(f"{label}: PR-AUC macro {f['old']['pr_auc_macro']:.3f} -> "
              f"{f['new']['pr_auc_macro']:.3f} ({f['new']['n_tags']} tags, {f['new']['n_clips']} "
              f"clips); corrections {f['corrections']}")


if __name__ == "__main__":
    main()
