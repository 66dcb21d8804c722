"""The feed page as a person sees it: `streamlit run` on 127.0.0.1, Debian's Chromium via Playwright.

With N sounds in the store and the model already loaded (the home page loads it), it times:
- a click on "Feed and review" in the sidebar until the page's ten cards are drawn and the
  script run is over (the first time, then the median of the next clicks);
- a fresh browser tab opened straight at /feed, until the same point;
and the streamlit server's own peak RSS (VmHWM) at the end.

    python benchmarks/app_browser.py [--sounds N] [--clicks K]   (run by `python -m core bench`)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_S = 180
STEP_MS = 120_000
# Drawn: the page's cards are there and no placeholder (skeleton) is left in them.
CARDS_JS = """n => document.querySelectorAll('[class*="st-key-feed_card_"]').length >= n
              && !document.querySelector('[data-testid="stSkeleton"]')"""
RUNNING = '[data-testid="stStatusWidget"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "TAGGER_DB": str(tmp / "bench.duckdb"), "TAGGER_AUDIO": str(tmp / "audio"),
           "TAGGER_RUNS": str(tmp / "runs"), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.pop("FREESOUND_API_KEY", None)
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--server.fileWatcherType", "none"]
    log = open(tmp / "streamlit.log", "wb")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=5).text.strip() == "ok":
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer within {SERVER_START_S} s")


def until_feed_drawn(page, cards: int) -> None:
    page.wait_for_function(CARDS_JS, arg=cards, timeout=STEP_MS)
    page.locator(RUNNING).wait_for(state="detached", timeout=STEP_MS)


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.locator(RUNNING).wait_for(state="detached", timeout=STEP_MS)


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def click_to_feed(page, cards: int) -> float:
    link = sidebar(page).get_by_role("link", name="Feed and review")
    start = time.perf_counter()
    link.click()
    until_feed_drawn(page, cards)
    return time.perf_counter() - start


def back_home(page) -> None:
    sidebar(page).get_by_role("link", name="Home").click()
    page.get_by_role("heading", name="Freesound Tagger").first.wait_for(timeout=STEP_MS)
    settle(page)


def measure(url: str, clicks: int, cards: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(url)  # the home page loads the model into the server
        page.get_by_role("heading", name="Freesound Tagger").first.wait_for(timeout=STEP_MS)
        settle(page)
        first = click_to_feed(page, cards)
        again = []
        for _ in range(clicks):
            back_home(page)
            again.append(click_to_feed(page, cards))
        tab = browser.new_page(viewport={"width": 1440, "height": 1000})
        start = time.perf_counter()
        tab.goto(f"{url}/feed")
        until_feed_drawn(tab, cards)
        new_tab = time.perf_counter() - start
        browser.close()
    return {"click_first_s": round(first, 3), "click_median_s": round(statistics.median(again), 3),
            "new_tab_s": round(new_tab, 3)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sounds", type=int, default=10_000)
    p.add_argument("--clicks", type=int, default=5, help="repeat clicks for the median")
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from benchmarks.app_render import fill_store
    from core.bench.timing import vm_hwm_mb

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        fill_store(tmp / "bench.duckdb", args.sounds)
        port = free_port()
        proc = start_server(tmp, port)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc)
            figures = measure(f"http://127.0.0.1:{port}", args.clicks, min(10, args.sounds))
            figures["server_peak_rss_mb"] = round(vm_hwm_mb(proc.pid), 1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps({"sounds": args.sounds, "cards": min(10, args.sounds), **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
