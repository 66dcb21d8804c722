"""The feed page as a person sees it: `streamlit run` on 127.0.0.1, Debian's Chromium via Playwright.

With N sounds in the store (each with one of the demo recordings as its audio) and the model
already loaded (the home page loads it), it times:
- a click on "Feed and review" in the sidebar until the page's cards are drawn (as many as that
  app's code shows by default: ten before 2026-12-02, six since) and the
  script run is over (the first time, then the median of the next clicks);
- a new tab of the same browser opened straight at /feed, until the same point, and the same
  in a browser that has never opened the app (an empty cache: Streamlit's frontend, about 60
  script files, comes from the server first); the medians of several;
- on the feed page: a page change (the pager's "Next page"), a filter change (Show: "To review",
  then "All" again; every other sound is reviewed, so each shows another first card) and a card
  edit (a tag row's Remove or Put back button, on a card already reviewed, so only that card
  runs again), each from the click until the run is over and the page's cards are drawn; the
  medians of several;
and the streamlit server's own peak RSS (VmHWM) at the end.

`--against REV` measures the app of an older commit (`git archive REV`, with its own `core`) on
the same store in the same run, first, and prints its figures under "before" with the ratios.

    python benchmarks/app_browser.py [--sounds N] [--clicks K] [--against REV]
    (run by `python -m core bench`, against core.bench.run.BROWSER_BASELINE)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_START_S = 180
STEP_MS = 120_000
FIGURES = ("click_first_s", "click_median_s", "new_tab_s", "empty_cache_tab_s",
           "page_change_median_s", "filter_change_median_s", "card_edit_median_s")
VIEWPORT = {"width": 1440, "height": 1000}
# Drawn: the page's cards are there, no placeholder (skeleton) is left in them, and every card's
# tag rows (app/tag_rows.py, drawn by a script of their own) are in.
CARDS_JS = """n => document.querySelectorAll('[class*="st-key-feed_card_"]').length >= n
              && !document.querySelector('[data-testid="stSkeleton"]')
              && !document.querySelector('[class*="_tagrows"]:not(:has(.tagrows))')"""
RUNNING = '[data-testid="stStatusWidget"]'
RUN_STARTED_JS = f"() => !!document.querySelector('{RUNNING}')"
RUN_OVER_JS = f"() => !document.querySelector('{RUNNING}')"
BUTTON_JS = """([card, label]) => !!document.querySelector(`.${card} button[aria-label="${label}"]`)"""
# How often a timed wait looks, in ms. Playwright's own waits (a locator's wait_for) look less
# and less often, up to every 0.5-1 s, which rounded a 0.4-s card edit up to about 1 s.
POLL_MS = 10


def until_feed_drawn(page, cards: int) -> None:
    page.wait_for_function(CARDS_JS, arg=cards, timeout=STEP_MS, polling=POLL_MS)
    page.wait_for_function(RUN_OVER_JS, timeout=STEP_MS, polling=POLL_MS)


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


try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the figures say "not measured" without playwright (core/bench/run.py)
    PlaywrightTimeout = TimeoutError


def first_card(page) -> str:
    return page.evaluate("""() => { const c = document.querySelector('[class*="st-key-feed_card_"]');
                                    return c ? c.className : ''; }""")


def timed_click(page, target, cards: int, changed: bool = True) -> float:
    """Seconds from a click until the script run is over and the cards are drawn (and, when
    `changed`, the first card is another one)."""
    before = first_card(page)
    start = time.perf_counter()
    target.click()
    if changed:
        page.wait_for_function("""b => { const c = document.querySelector('[class*="st-key-feed_card_"]');
                                      return c && c.className !== b; }""", arg=before, timeout=STEP_MS,
                               polling=POLL_MS)
    else:  # the same cards: wait for the run to start (its indicator shows), then to end
        try:
            page.wait_for_function(RUN_STARTED_JS, timeout=3000, polling=POLL_MS)
        except PlaywrightTimeout:
            pass  # over before it could be seen
    until_feed_drawn(page, cards)
    return time.perf_counter() - start


def measure_feed(page, cards: int, sounds: int, repeats: int) -> dict:
    """Page, filter and card-edit times on the feed page (already open, on its first page)."""
    pager = page.locator(".st-key-feed_page")
    on_second = min(cards, sounds - cards)  # cards on page 2
    pages = [timed_click(page, pager.get_by_role("button", name="Previous page"), cards) if i % 2
             else timed_click(page, pager.get_by_role("button", name="Next page"), on_second)
             for i in range(repeats)]
    show = page.locator(".st-key-feed_show")
    filters = []
    for _ in range(repeats):  # the newest sound is reviewed: each shows another first card
        filters.append(timed_click(page, show.get_by_text("To review", exact=True),
                                   min(cards, sounds // 2)))
        settle(page)
        filters.append(timed_click(page, show.get_by_text("All", exact=True), cards))
        settle(page)
    todo = page.locator('[class*="st-key-feed_card_"]').filter(has_text="Not reviewed yet").first
    card_key = re.search(r"st-key-feed_card_\d+", todo.get_attribute("class")).group(0)
    card = page.locator(f".{card_key}")  # the same card once it says "Reviewed"
    first = card.get_by_role("button", name=re.compile(r"^Confirm \S+$")).first
    tag = first.evaluate("b => b.getAttribute('aria-label') || b.innerText").split()[-1]
    timed_click(page, first, cards, False)  # the card's first edit: the page runs again for its count
    card.get_by_role("button", name=f"Remove {tag}", exact=True).wait_for(timeout=STEP_MS)
    page.wait_for_timeout(1000)
    settle(page)
    edits = []
    for i in range(repeats):  # remove the tag, put it back, ...: only the card runs again
        verb, then = ("Remove", "Put back") if i % 2 == 0 else ("Put back", "Remove")
        start = time.perf_counter()
        card.get_by_role("button", name=f"{verb} {tag}", exact=True).click()
        page.wait_for_function(BUTTON_JS, arg=[card_key, f"{then} {tag}"], timeout=STEP_MS,
                               polling=POLL_MS)
        edits.append(time.perf_counter() - start)
        settle(page)
    return {"page_change_median_s": round(statistics.median(pages), 3),
            "filter_change_median_s": round(statistics.median(filters), 3),
            "card_edit_median_s": round(statistics.median(edits), 3)}


def measure(url: str, clicks: int, cards: int, sounds: int) -> dict:
    from playwright.sync_api import sync_playwright

    from benchmarks.local_app import launch_chromium

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport=VIEWPORT)  # one browser profile: one cache
        page = context.new_page()
        page.goto(url)  # the home page loads the model into the server
        page.get_by_role("heading", name="Freesound Tagger").first.wait_for(timeout=STEP_MS)
        settle(page)
        first = click_to_feed(page, cards)
        again = []
        for _ in range(clicks):
            back_home(page)
            again.append(click_to_feed(page, cards))
        repeats = max(3, clicks)
        empty_cache, new_tab, tab = [], [], None
        for _ in range(repeats):
            stranger = browser.new_context(viewport=VIEWPORT)
            empty_cache.append(open_feed(stranger.new_page(), url, cards))
            stranger.close()
            if tab is not None:
                tab.close()
            tab = context.new_page()  # the last one stays open for the feed's own figures
            new_tab.append(open_feed(tab, url, cards))
        feed = measure_feed(tab, cards, sounds, repeats)
        browser.close()
    return {"click_first_s": round(first, 3), "click_median_s": round(statistics.median(again), 3),
            "new_tab_s": round(statistics.median(new_tab), 3),
            "empty_cache_tab_s": round(statistics.median(empty_cache), 3), **feed}


def open_feed(tab, url: str, cards: int) -> float:
    """Seconds from opening /feed in `tab` until its cards are drawn and the run is over."""
    start = time.perf_counter()
    tab.goto(f"{url}/feed")
    until_feed_drawn(tab, cards)
    seconds = time.perf_counter() - start
    settle(tab)
    return seconds


def fill_with_audio(db: Path, n: int) -> None:
    """N synthetic sounds (benchmarks/app_render.py's), each with one of the 30 demo recordings
    as its audio file, as a curator's store has: every card draws a player, and a spectrogram
    when asked for one."""
    from dataclasses import replace

    from core.store.bench import BenchConfig, _sounds
    from core.store.store import TagStore

    files = sorted(str(f) for f in (ROOT / "data" / "demo").glob("*.ogg"))
    items = [(replace(info, audio_path=files[i % len(files)] if files else None), preds, model)
             for i, (info, preds, model) in enumerate(_sounds(BenchConfig(n_sounds=n)))]
    TagStore(db).add_sounds(items)


def review_every_other(db: Path) -> None:
    """A person confirmed one tag of every other sound, the newest among them, so "To review"
    and "All" start with different cards (and a filter change is seen when it is drawn)."""
    from core.store import LabelRequest, TagStore

    store = TagStore(db)
    ids = sorted(store.list_ids())
    rows = store.rows_for(ids[-1::-2])
    store.label_many([LabelRequest(r.id, confirm=[r.labels.predicted[0][0]], user="bench")
                      for r in rows if r.labels.predicted])


def checkout(rev: str, dest: Path) -> Path:
    """The tree of commit `rev` in `dest` (models included, as committed); a folder is used as
    it is."""
    if Path(rev).is_dir():
        return Path(rev).resolve()
    dest.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def build_store(db: Path, n: int, root: Path) -> None:
    """The benchmark's store, written by the code in `root` (an older app may not read a file a
    newer store wrote: the schema only moves forward). Same sounds, same reviews in each."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--build-store", str(db),
                    "--sounds", str(n)], env=env, cwd=root, check=True)


def cards_per_page(root: Path) -> int:
    """How many cards the feed of the app in `root` shows on a page by default."""
    source = (root / "app" / "review_queue.py").read_text()
    found = re.search(r"^(?:DEFAULT_)?PAGE_SIZE = (\d+)", source, re.MULTILINE)
    return int(found.group(1)) if found else 10


def measure_app(root: Path, tmp: Path, args) -> dict:
    """The figures of the app in `root`, on a store of its own (the card edits change it)."""
    from benchmarks.local_app import running_app
    from core.bench.timing import vm_hwm_mb

    db = tmp / f"bench-{root.name}.duckdb"
    build_store(db, args.sounds, root)
    env = {"TAGGER_DB": str(db), "TAGGER_AUDIO": str(tmp / "audio"),
           "TAGGER_RUNS": str(tmp / "runs")}
    with running_app(env, tmp / f"streamlit-{root.name}.log", SERVER_START_S, root=root) as (url, pid):
        cards = min(cards_per_page(root), args.sounds)
        figures = {"cards": cards, **measure(url, args.clicks, cards, args.sounds)}
        figures["server_peak_rss_mb"] = round(vm_hwm_mb(pid), 1)
    return figures


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sounds", type=int, default=10_000)
    p.add_argument("--clicks", type=int, default=5, help="repeat clicks for the median")
    p.add_argument("--against", metavar="REV", help="also measure the app of this git commit "
                                                    "(or of this folder)")
    p.add_argument("--build-store", metavar="FILE", help=argparse.SUPPRESS)  # build_store's child
    args = p.parse_args()
    if args.build_store:  # `core` is the one on PYTHONPATH: the app that will read the file
        fill_with_audio(Path(args.build_store), args.sounds)
        review_every_other(Path(args.build_store))
        return 0
    sys.path.insert(0, str(ROOT))

    out = {"sounds": args.sounds}  # measure_app adds "cards", each app its own
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.against:  # first: a machine that gets busier favours the old code, not the new
            try:
                root = checkout(args.against, tmp / "before")
            except (OSError, subprocess.CalledProcessError):
                out["before"] = {"rev": args.against, "error": "not in this checkout's history"}
            else:
                try:
                    out["before"] = {"rev": args.against, **measure_app(root, tmp, args)}
                except Exception as e:  # noqa: BLE001 - the new app is still measured
                    out["before"] = {"rev": args.against, "error": f"{type(e).__name__}: {e}"}
        out.update(measure_app(ROOT, tmp, args))
    if "error" not in out.get("before", {"error": ""}):
        out["ratios"] = {k: round(out["before"][k] / out[k], 2) for k in FIGURES if out[k] > 0}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
