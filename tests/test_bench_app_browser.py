"""The browser half of the app benchmark: it really drives `streamlit run` with Chromium and
prints figures that `python -m core bench` can show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.bench.run import browser_lines
from tests.app_fixtures import streamlit_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
def test_app_browser_benchmark_times_a_small_store():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "app_browser.py"),
                          "--sounds", "12", "--clicks", "1"],
                         capture_output=True, text=True, cwd=ROOT, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert (figures["sounds"], figures["cards"]) == (12, 6)  # the feed's default page
    for key in ("click_first_s", "click_median_s", "new_tab_s", "empty_cache_tab_s",
                "page_change_median_s", "filter_change_median_s", "card_edit_median_s"):
        assert 0 < figures[key] < 300
    assert 150 < figures["server_peak_rss_mb"] < 4000  # a python with streamlit and torch
    lines = browser_lines(figures)
    assert f"first {figures['click_first_s']} s" in lines[0] and "target <= 2 s" in lines[0]
    assert f"empty cache {figures['empty_cache_tab_s']} s" in lines[0]
    assert f"page {figures['page_change_median_s']} s" in lines[1]


def test_a_missing_browser_is_reported_not_hidden():
    assert "not measured: no chromium" in browser_lines({"error": "no chromium"})[0]


def test_the_older_app_is_printed_beside_with_ratios():
    figures = {"sounds": 10, "cards": 10, "click_first_s": 1.0, "click_median_s": 0.5,
               "new_tab_s": 2.0, "page_change_median_s": 0.5, "filter_change_median_s": 0.5,
               "card_edit_median_s": 0.2, "server_peak_rss_mb": 400.0,
               "before": {"rev": "abc1234", "click_first_s": 2.0, "click_median_s": 1.5,
                          "new_tab_s": 4.0, "page_change_median_s": 2.0,
                          "filter_change_median_s": 1.0, "card_edit_median_s": 0.4},
               "ratios": {"click_first_s": 2.0, "page_change_median_s": 4.0}}
    (line,) = [x for x in browser_lines(figures) if "before (abc1234, 10 cards a page)" in x]
    assert "page 2.0 s" in line and "page_change x4.0" in line and "click_first x2.0" in line
    missing = {**figures, "before": {"rev": "abc1234", "error": "not in this checkout's history"}}
    assert any("not measured: not in this checkout" in x for x in browser_lines(missing))


def test_the_server_skips_streamlits_full_collection_after_each_run():
    """With torch in the server a full gc after every run cost 120-230 ms of each card edit
    (README, Performance); the committed config turns it off."""
    assert streamlit_config()["runner"]["postScriptGC"] is False
