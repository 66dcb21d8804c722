"""Tagging figures: warm latency, cold start, folder throughput, feature extraction alone."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from core.audio import load_audio
from core.bench.audio_set import mixed_folder, write_clip
from core.bench.baseline import course_patch_from_samples, course_tag
from core.bench.timing import measure, run_module, run_process
from core.features import extract_patches
from core.model import build_model
from core.modeldir import PROJECT_ROOT, ModelInfo, ModelNotFoundError, load_model_dir, save_model_dir
from core.tagger import Tagger, one_torch_thread


def bench_model_dir(work: Path) -> tuple[Path, str]:
    """The bundled model; if it is absent, a random compact model (same speed, no meaning)."""
    try:
        return load_model_dir().path, "bundled model"
    except ModelNotFoundError:
        info = ModelInfo("random-compact", "0", "compact", build_model("compact").dims)
        out = save_model_dir(work / "model", build_model("compact").eval(), info, card="bench only")
        return out, "random compact model (no bundled model found)"


def latency(tagger: Tagger, work: Path, runs: int) -> dict:
    clip = write_clip(work / "ten_seconds.ogg", 10.0, 44_100, 2, seed=1)
    ours = measure(lambda: tagger.tag_file(clip), runs)
    base = measure(lambda: course_tag(tagger.loaded.model, str(clip)), max(3, runs // 4))
    return {"ours": ours.to_dict(), "baseline": base.to_dict(),
            "speedup": round(base.median_s / ours.median_s, 2)}


def cold_start(model_dir: Path, work: Path, runs: int) -> dict:
    """Median wall time of whole `python -m core tag FILE` processes (and of the baseline's)."""
    clip = work / "ten_seconds.ogg"
    env = {**os.environ, "TAGGER_MODEL": str(model_dir)}
    ours = [run_module(sys.executable, "core", ["tag", str(clip), "--json"], env, str(PROJECT_ROOT))
            for _ in range(runs)]
    code = ("import sys, torch; from core.bench.baseline import course_tag; "
            "from core.modeldir import load_model_dir; "
            f"m = load_model_dir({str(model_dir)!r}).model; print(course_tag(m, sys.argv[1]).max())")
    base = [run_process([sys.executable, "-c", code, str(clip)], env, str(PROJECT_ROOT))
            for _ in range(max(1, runs // 2))]
    ours_s = float(np.median([r.wall_s for r in ours]))
    base_s = float(np.median([r.wall_s for r in base]))
    return {"ours_s": round(ours_s, 3), "baseline_s": round(base_s, 3), "runs": runs,
            "ours_all_s": [round(r.wall_s, 3) for r in ours], "speedup": round(base_s / ours_s, 2),
            "ok": all(r.returncode == 0 for r in ours),
            "tag_process_peak_rss_mb": round(max(r.peak_rss_mb for r in ours), 1)}


def folder_throughput(tagger: Tagger, work: Path, n_files: int) -> dict:
    files = mixed_folder(work / "folder", n_files)
    start = time.perf_counter()
    n_ok = sum(r.ok for r in tagger.tag_files(files, top_k=10))
    ours = n_files / (time.perf_counter() - start)
    sample = files[: max(6, n_files // 10)]
    start = time.perf_counter()
    for f in sample:
        course_tag(tagger.loaded.model, str(f))
    base = len(sample) / (time.perf_counter() - start)
    return {"files": n_files, "tagged": n_ok, "ours_clips_per_s": round(ours, 1),
            "baseline_clips_per_s": round(base, 1), "baseline_files": len(sample),
            "speedup": round(ours / base, 2), "cores": os.cpu_count()}


def feature_extraction(work: Path, n_clips: int) -> dict:
    files = mixed_folder(work / "folder", n_clips)
    clips = [load_audio(f).samples for f in files[:n_clips]]
    with one_torch_thread():  # the README's figure: one torch thread, as the tagger's workers use
        start = time.perf_counter()
        for i in range(0, len(clips), 32):
            extract_patches(clips[i:i + 32])
        ours = (time.perf_counter() - start) / len(clips)
        threads = torch.get_num_threads()
    start = time.perf_counter()
    for c in clips:
        course_patch_from_samples(c)
    base = (time.perf_counter() - start) / len(clips)
    return {"clips": len(clips), "torch_threads": threads,
            "ours_ms_per_clip": round(ours * 1e3, 2),
            "librosa_ms_per_clip": round(base * 1e3, 2), "speedup": round(base / ours, 2)}


def run_tagging(quick: bool, log=print) -> dict:
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir, model_note = bench_model_dir(work)
        tagger = Tagger(model_dir, "cpu")
        log(f"tagging with the {model_note}")
        out = {"model": model_note}
        log("1. tagging latency (10-s 44.1 kHz stereo ogg, warm)")
        out["latency"] = latency(tagger, work, runs=10 if quick else 40)
        log("2. cold start of `python -m core tag FILE`")
        out["cold_start"] = cold_start(model_dir, work, runs=2 if quick else 5)
        n_files = 60 if quick else 500
        log(f"3. folder throughput ({n_files} mixed files, 1-30 s)")
        out["folder"] = folder_throughput(tagger, work, n_files)
        log("4. feature extraction alone (torch batch vs librosa per clip)")
        out["features"] = feature_extraction(work, 30 if quick else 100)
    return out
