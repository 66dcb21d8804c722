"""Measure similar sounds and suspects on a pool of clips whose tags are known: a corpus
manifest (one JSON object per clip with `package`, `path` and `tags`, the audio under
ROOT/<package>/<path>, as build/recorded/test.jsonl and the unpacked Debian packages), or a
COALA-layout HDF5 file (its scaled patches and labels, e.g. build/corpus/holdout.h5).

1. The pool is tagged into a store (predictions and embeddings, as `tag --db` does; from an
   HDF5 file, the model scores the stored patches and the sounds have no audio).
2. Neighbours: for each sound, does its nearest other sound share at least one of its derived
   tags? Also with neighbours from the same folder left out (sibling files of one recording
   session, e.g. `footstep.1.ogg` and `footstep.2.ogg`, are the easy case).
3. Tags from neighbours: every sound is reviewed with its derived tags, and the top-5 hit rate
   of the model, of the neighbours' tags and of both is measured on a held-out fifth
   (core.neighbour_tags.evaluate, as the training page shows it).
4. Planted errors: every sound is reviewed with its derived tags as final tags; then a seeded
   share of the (sound, tag) labels is flipped (the tag removed and a wrong tag from the pool's
   tags added), and `suspects` ranks the sounds: precision and recall of the flipped sounds
   among its top 10 %.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.dataset import read_coala
from core.neighbour_tags import evaluate as evaluate_neighbours
from core.similar import EmbeddingIndex
from core.store import LabelRequest, SoundInfo, TagStore, file_hash
from core.suspects import suspects
from core.tagger import Tagger

TOP_K = 20  # predictions stored per sound, as the feed stores
FLIP_SHARE = 0.05  # share of the final (sound, tag) labels flipped
TOP_SHARE = 0.10  # share of the ranked sounds counted as "found"
RANKINGS = {  # name -> (what it is, suspects' options besides the store)
    "suspects": ("suspects", {"index": True, "tagger": True}),  # model, neighbours, label pairs
    "without_label_pairs": ("model + neighbours", {"index": True, "tagger": True,
                                                   "label_pairs": False}),
    "model_only": ("model scores alone", {"tagger": True, "label_pairs": False}),
    "stored_predictions_only": ("stored top predictions alone", {"label_pairs": False})}


@dataclass(frozen=True)
class Clip:
    path: Path | None  # the audio file (None: a patch of an HDF5 file)
    folder: str  # package and folder: sibling files share it (HDF5 rows: their own id)
    tags: tuple[str, ...]  # derived tags (the corpus's labels)


def read_manifest(manifest: Path, root: Path) -> list[Clip]:
    clips = []
    for line in Path(manifest).read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            path = Path(root) / d["package"] / d["path"]
            clips.append(Clip(path, f"{d['package']}/{Path(d['path']).parent}", tuple(d["tags"])))
    return clips


def pool_from_h5(store: TagStore, tagger: Tagger, path: Path) -> dict[int, Clip]:
    """Every row of a COALA-layout file, scored from its patch: store id -> clip."""
    data = read_coala(path)
    results = tagger.tag_patches(data.data, top_k=TOP_K)
    items = [(SoundInfo("folder", f"{path.name} row {i} (id {cid})", None, f"{path.name}:{i}:{cid}",
                        None), r.tags, tagger.model_label) for i, (cid, r) in
             enumerate(zip(data.ids, results, strict=True))]
    stored = store.add_sounds(items, [r.embedding for r in results])
    vocab = tagger.vocabulary
    return {sid: Clip(None, f"row {i}", tuple(vocab[j] for j in np.flatnonzero(data.labels[i])))
            for i, (sid, _) in enumerate(stored) if data.labels[i].any()}


def tag_pool(store: TagStore, tagger: Tagger, clips: list[Clip],
             log: Callable[[str], None] = print) -> dict[int, Clip]:
    """Tag and store every clip whose file is present: store id -> clip (the first of copies)."""
    present = [c for c in clips if c.path.is_file()]
    if len(present) < len(clips):
        log(f"{len(clips) - len(present)} of {len(clips)} clips are not under the root; left out")
    by_id: dict[int, Clip] = {}
    for start in range(0, len(present), 32):
        batch = present[start:start + 32]
        results = list(tagger.tag_files([c.path for c in batch], top_k=TOP_K))
        ok = [(c, r) for c, r in zip(batch, results, strict=True) if r.ok]
        items = [(SoundInfo("folder", c.path.name, str(c.path.resolve()), file_hash(c.path),
                            r.duration_s, patch_start=r.patch_start, analysed_s=r.analysed_s),
                  r.tags, tagger.model_label) for c, r in ok]
        stored = store.add_sounds(items, [r.embedding for _, r in ok])
        for (c, _), (sid, _) in zip(ok, stored, strict=True):
            by_id.setdefault(sid, c)
        log(f"tagged {start + len(batch)} of {len(present)}")
    return by_id


def neighbour_figures(index: EmbeddingIndex, pool: dict[int, Clip]) -> dict:
    """Share of sounds whose nearest neighbour shares a derived tag (all; other folders only)."""
    shares, other = [], []
    for sid, clip in pool.items():
        vector = index.vector(sid)
        if vector is None:
            continue
        shares.append(_shares_tag(index.search(vector, 1, [sid]), pool, clip))
        siblings = [i for i, c in pool.items() if c.folder == clip.folder]
        other.append(_shares_tag(index.search(vector, 1, siblings), pool, clip))
    return {"queries": len(shares), "nearest_shares_tag": float(np.mean(shares)),
            "nearest_other_folder_shares_tag": float(np.mean(other))}


def _shares_tag(found: list[tuple[int, float]], pool: dict[int, Clip], clip: Clip) -> bool:
    return bool(found and set(pool[found[0][0]].tags) & set(clip.tags))


def review_as_truth(store: TagStore, pool: dict[int, Clip], threshold: float = 0.5) -> None:
    """Make each sound's final tags exactly its derived tags (a curator's review)."""
    rows = {r.id: r for r in store.rows_for(list(pool), threshold)}
    store.label_many([LabelRequest(sid, add=[t for t in clip.tags if t not in rows[sid].final],
                                   remove=[t for t in rows[sid].final if t not in clip.tags],
                                   confirm=[t for t in clip.tags if t in rows[sid].final],
                                   user="truth") for sid, clip in pool.items()])


def plant_errors(store: TagStore, pool: dict[int, Clip], share: float = FLIP_SHARE,
                 seed: int = 0) -> dict[int, tuple[str, str]]:
    """Flip `share` of the (sound, tag) labels: sound id -> (tag removed, wrong tag added)."""
    rng = random.Random(seed)
    pairs = [(sid, t) for sid, c in sorted(pool.items()) for t in c.tags]
    chosen = rng.sample(pairs, max(1, round(share * len(pairs))))
    every_tag = sorted({t for c in pool.values() for t in c.tags})
    flipped: dict[int, tuple[str, str]] = {}
    for sid, tag in chosen:
        if sid in flipped:
            continue  # one flip per sound: a second would count once anyway
        wrong = rng.choice([t for t in every_tag if t not in pool[sid].tags])
        flipped[sid] = (tag, wrong)
    store.label_many([LabelRequest(sid, add=[wrong], remove=[tag], user="planted")
                      for sid, (tag, wrong) in flipped.items()])
    return flipped


def suspect_figures(store: TagStore, flipped: dict[int, tuple[str, str]], labels: int,
                    index: EmbeddingIndex | None, tagger: Tagger | None = None,
                    top_share: float = TOP_SHARE) -> dict:
    """Precision and recall of the flipped sounds among the top share of suspects (and the
    best recall possible there): as `suspects` ranks them (every judged tag scored from the
    embeddings by `tagger`, the neighbours' labels and the label pairs mixed in), and with
    each part left out in turn (RANKINGS)."""
    out = {"labels": labels, "flipped_sounds": len(flipped)}
    for key, (_, options) in RANKINGS.items():
        ranked = suspects(store, index=index if options.get("index") else None,
                          tagger=tagger if options.get("tagger") else None,
                          label_pairs=options.get("label_pairs", True))
        top = ranked[:max(1, round(top_share * len(ranked)))]
        found = [s for s in top if s.sound_id in flipped]
        named = [s for s in found if {t for t, _, _ in s.issues} & set(flipped[s.sound_id])]
        out[key] = {"judged": len(ranked), "top": len(top), "found": len(found),
                    "precision": len(found) / len(top), "recall": len(found) / max(1, len(flipped)),
                    "best_recall": min(len(top), len(flipped)) / max(1, len(flipped)),
                    "flipped_tag_named": len(named) / max(1, len(found))}
    return out


def evaluate_pool(store: TagStore, tagger: Tagger, clips: list[Clip] | Path, seed: int = 0,
                  log: Callable[[str], None] = print, plantings: int = 1) -> dict:
    """`clips` from a manifest (read_manifest), or the path of a COALA-layout HDF5 file; errors
    are planted `plantings` times (seeds `seed`, `seed` + 1, ...), each on the truth afresh."""
    if isinstance(clips, Path):
        pool = pool_from_h5(store, tagger, clips)
        source, n_clips = str(clips), len(pool)
    else:
        pool, source, n_clips = tag_pool(store, tagger, clips, log), "manifest", len(clips)
    index = EmbeddingIndex.from_store(store, tagger.model_label)
    out = {"model": tagger.model_label, "source": source, "clips": n_clips, "sounds": len(pool),
           "neighbours": neighbour_figures(index, pool)}
    review_as_truth(store, pool)
    out["neighbour_tags"] = asdict(evaluate_neighbours(store, index))
    labels = sum(len(c.tags) for c in pool.values())
    runs = []
    for planting in range(plantings):
        if planting:
            review_as_truth(store, pool)  # the previous planting undone
        flipped = plant_errors(store, pool, FLIP_SHARE, seed + planting)
        runs.append(suspect_figures(store, flipped, labels, index, tagger))
    out["planted"] = {**runs[0], "seed": seed}
    if plantings > 1:
        out["planted_mean"] = {key: {m: float(np.mean([r[key][m] for r in runs]))
                                     for m in ("precision", "recall")} for key in RANKINGS}
        out["planted_runs"] = runs
    out["settings"] = {"flip_share": FLIP_SHARE, "top_share": TOP_SHARE, "seed": seed,
                       "plantings": plantings}
    return out


def summary_lines(r: dict) -> list[str]:
    n, p = r["neighbours"], r["planted"]
    lines = [f"pool: {r['sounds']} sounds of {r['clips']} clips ({r['source']}), tagged by {r['model']}",
             f"nearest neighbour shares a derived tag: {n['nearest_shares_tag']:.3f} of "
             f"{n['queries']} queries (target >= 0.70); from another folder only: "
             f"{n['nearest_other_folder_shares_tag']:.3f}",
             f"tags from neighbours, {r['neighbour_tags']['heldout']} held-out reviewed sounds: "
             f"top-5 hit rate model {r['neighbour_tags']['model_hit_rate']:.3f}, neighbours "
             f"{r['neighbour_tags']['neighbour_hit_rate']:.3f}, model + neighbours "
             f"{r['neighbour_tags']['blended_hit_rate']:.3f}",
             f"planted errors (seed {p['seed']}): {p['flipped_sounds']} sounds with a flipped "
             f"tag ({r['settings']['flip_share']:.0%} of {p['labels']} labels)"]
    for key, (what, _) in RANKINGS.items():
        s = p[key]
        lines.append(f"  top {r['settings']['top_share']:.0%} of {what} ({s['top']} of {s['judged']}): "
                     f"precision {s['precision']:.3f}, recall {s['recall']:.3f} (target >= 0.5; "
                     f"at most {s['best_recall']:.3f} possible there); the flipped tag named for "
                     f"{s['flipped_tag_named']:.3f} of those found")
    if "planted_mean" in r:
        seeds = f"seeds {p['seed']}-{p['seed'] + r['settings']['plantings'] - 1}"
        lines.append(f"mean over {r['settings']['plantings']} plantings ({seeds}): " + "; ".join(
            f"{what} precision {r['planted_mean'][key]['precision']:.3f}, recall "
            f"{r['planted_mean'][key]['recall']:.3f}" for key, (what, _) in RANKINGS.items()))
    return lines


def to_json(r: dict) -> str:
    return json.dumps(r, indent=2, default=lambda o: asdict(o))
