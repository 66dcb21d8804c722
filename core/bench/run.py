"""Run the benchmark sections and print figures with their baselines, ratios and targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.bench.tagging import run_tagging
from core.modeldir import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
BROWSER_BASELINE = "d1ff7de"  # the feed page before its speed work (issue 13), measured beside it
SECTIONS = ("tagging", "training", "store", "app", "similar")


def run_app(quick: bool, log=print) -> dict:
    log("6/7. the app: feed page first render with 10,000 sounds, peak RSS with the model loaded")
    sounds = "2000" if quick else "10000"
    out = _run_json([str(PROJECT_ROOT / "benchmarks" / "app_render.py"), "--sounds", sounds])
    if not Path(CHROMIUM).is_file():
        out["browser"] = {"error": f"{CHROMIUM} is missing (scripts/apt-install.sh chromium)"}
        return out
    log("6/7. the feed page in a real browser (streamlit run + Chromium)")
    out["browser"] = _run_json([str(PROJECT_ROOT / "benchmarks" / "app_browser.py"),
                                "--sounds", sounds, "--clicks", "3" if quick else "7",
                                "--against", BROWSER_BASELINE])
    return out


def _run_json(args: list[str]) -> dict:
    """A benchmark script in its own process; the last line of its output is its JSON."""
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         env=os.environ.copy())
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_sections(sections: list[str], quick: bool, log=print) -> dict:
    results = {"quick": quick, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
    for name in sections:
        if name == "tagging":
            results["tagging"] = run_tagging(quick, log)
        elif name == "training":
            from core.bench.training import run_training
            results["training"] = run_training(quick, log)
        elif name == "store":
            from core.bench.store import run_store
            results["store"] = run_store(quick, log)
        elif name == "app":
            results["app"] = run_app(quick, log)
        elif name == "similar":
            from core.bench.similar import run_similar
            results["similar"] = run_similar(quick, log)
    return results


def summary_lines(r: dict) -> list[str]:
    """One line per figure: ours, the baseline, the ratio and the target."""
    lines = [f"benchmark on {r['cpus']} CPUs (load average {r['load_average']:.1f} at start)"
             + (", quick" if r["quick"] else "")]
    add = lines.append
    if "tagging" in r:
        t = r["tagging"]
        lat, cold, fol, fea = t["latency"], t["cold_start"], t["folder"], t["features"]
        add(f"  model: {t['model']}")
        add(f"1 tag latency, 10-s ogg   median {lat['ours']['median_ms']} ms, p95 {lat['ours']['p95_ms']} ms"
            f" | baseline {lat['baseline']['median_ms']} ms | x{lat['speedup']} | target <= 40 ms, >= x2")
        add(f"2 cold `core tag FILE`    median {cold['ours_s']} s of {cold.get('runs', 1)} | "
            f"baseline {cold['baseline_s']} s"
            f" | x{cold['speedup']} | target <= 3 s")
        add(f"3 folder throughput       {fol['ours_clips_per_s']} clips/s ({fol['files']} files)"
            f" | baseline {fol['baseline_clips_per_s']} | x{fol['speedup']} | target >= 40")
        add(f"4 features alone          {fea['ours_ms_per_clip']} ms/clip "
            f"({fea.get('torch_threads', '?')} torch thread(s), as the tagger runs) | librosa "
            f"{fea['librosa_ms_per_clip']} ms/clip | x{fea['speedup']}")
        add(f"7 tag process peak RSS    {cold['tag_process_peak_rss_mb']} MB")
    for key, figs in r.get("training", {}).items():
        base = figs["baseline_samples_per_s"]
        target = {"compact_cpu": " | target >= 300", "course_cuda": " | target >= 20,000"}.get(key, "")
        add(f"5 train {key:<17} {figs['ours_samples_per_s']} samples/s | baseline {base}"
            f" | x{figs.get('speedup', '-')}{target}")
    if "store" in r:
        s = r["store"]
        for step, sec in s["seconds"].items():
            add(f"6 store {step:<46} {sec:.3f} s")
        add(f"6 store predictions/s     {s['predictions_per_s']:,} | naive row-at-a-time "
            f"{s['naive_predictions_per_s']:,} | x{s['speedup_vs_naive']} | target 100,000 in <= 2 s")
    if "app" in r:
        a = r["app"]
        if "error" in a:
            add(f"6/7 app                   failed: {a['error']}")
        else:
            add(f"6 feed page first render  {a['feed_first_render_s']} s ({a['sounds']:,} sounds, "
                f"script run in AppTest) | unpaged list {a['unpaged_list_s']} s | "
                f"x{a['speedup_vs_unpaged']} | target <= 1 s")
            add(f"7 app peak RSS, model in  {a['app_peak_rss_mb']} MB | target <= 800 MB")
        lines.extend(browser_lines(a.get("browser", {})))
    if "similar" in r:
        from core.bench.similar import summary_lines as similar_lines
        lines.extend(similar_lines(r["similar"]))
    return lines


def browser_lines(b: dict) -> list[str]:
    if not b:
        return []
    if "error" in b:
        return [f"6 feed page in a browser   not measured: {b['error']}"]
    return [f"6 feed page in a browser   click from home to all {b['cards']} cards drawn: first "
            f"{b['click_first_s']} s, then median {b['click_median_s']} s; a new tab at /feed "
            f"{b['new_tab_s']} s, in a browser with an empty cache "
            f"{b.get('empty_cache_tab_s', 'not measured')} s ({b['sounds']:,} sounds) "
            "| target <= 2 s first load",
            *([f"6 feed page changes         page {b['page_change_median_s']} s, filter "
               f"{b['filter_change_median_s']} s, card edit {b['card_edit_median_s']} s (medians) "
               "| target <= 1 s, <= 1 s, <= 0.3 s"] if "page_change_median_s" in b else []),
            *before_lines(b),
            f"7 streamlit server peak RSS {b['server_peak_rss_mb']} MB (model loaded) | target <= 800 MB"]


def before_lines(b: dict) -> list[str]:
    """The same figures for the older app measured in the same run, and old / new."""
    old = b.get("before")
    if not old:
        return []
    if "error" in old:
        return [f"6 feed page before ({old['rev']}) not measured: {old['error']}"]
    ratios = b.get("ratios", {})
    return [f"6 feed page before ({old['rev']}, {old.get('cards', 10)} cards a page): first "
            f"{old['click_first_s']} s, median "
            f"{old['click_median_s']} s, new tab {old['new_tab_s']} s, empty cache "
            f"{old.get('empty_cache_tab_s', 'not measured')} s, page "
            f"{old['page_change_median_s']} s, filter {old['filter_change_median_s']} s, card edit "
            f"{old['card_edit_median_s']} s | old / new: "
            + ", ".join(f"{k.removesuffix('_s').removesuffix('_median')} x{v}"
                        for k, v in ratios.items())]
