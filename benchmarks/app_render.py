"""The app's figures, in a process of their own (core never imports streamlit):
the feed page's first render with 10,000 sounds in the store, and peak RSS with the model loaded.

    python benchmarks/app_render.py [--sounds N]   (run by `python -m core bench`; prints JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fill_store(db: Path, n: int) -> None:
    from core.store.bench import BenchConfig, _sounds
    from core.store.store import TagStore

    TagStore(db).add_sounds(_sounds(BenchConfig(n_sounds=n)))


def timed_run(page: str) -> tuple[float, list]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.session_state["user"] = "bench"  # what app/main.py sets before any page runs
    at.session_state["threshold"] = 0.5
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start, list(at.exception)


def main() -> int:
    from core.bench.timing import vm_hwm_mb

    p = argparse.ArgumentParser()
    p.add_argument("--sounds", type=int, default=10_000)
    p.add_argument("--fill", metavar="DB", help="only write the sounds into DB and exit")
    args = p.parse_args()
    if args.fill:
        fill_store(Path(args.fill), args.sounds)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TAGGER_DB"] = str(Path(tmp) / "bench.duckdb")
        # Filled in another process, so this one's peak RSS is the app's own.
        subprocess.run([sys.executable, __file__, "--sounds", str(args.sounds), "--fill",
                        os.environ["TAGGER_DB"]], check=True)
        home_s, home_errors = timed_run("pages/home.py")  # loads the model
        feed_s, feed_errors = timed_run("pages/feed.py")
        from core.store.models import SoundQuery
        from core.store.store import TagStore

        start = time.perf_counter()
        TagStore(os.environ["TAGGER_DB"]).list_sounds(SoundQuery(limit=None))
        unpaged_s = time.perf_counter() - start
    print(json.dumps({
        "sounds": args.sounds, "home_first_render_s": round(home_s, 3),
        "feed_first_render_s": round(feed_s, 3), "unpaged_list_s": round(unpaged_s, 3),
        "speedup_vs_unpaged": round(unpaged_s / feed_s, 2),
        "errors": [str(e) for e in home_errors + feed_errors],
        "app_peak_rss_mb": round(vm_hwm_mb(), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
