"""The browser half of the app benchmark: it really drives `streamlit run` with Chromium and
prints figures that `python -m core bench` can show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.bench.run import browser_lines

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
def test_app_browser_benchmark_times_a_small_store():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "app_browser.py"),
                          "--sounds", "12", "--clicks", "1"],
                         capture_output=True, text=True, cwd=ROOT, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert (figures["sounds"], figures["cards"]) == (12, 10)
    for key in ("click_first_s", "click_median_s", "new_tab_s", "page_change_median_s",
                "filter_change_median_s", "card_edit_median_s"):
        assert 0 < figures[key] < 300
    assert 150 < figures["server_peak_rss_mb"] < 4000  # a python with streamlit and torch
    lines = browser_lines(figures)
    assert f"first {figures['click_first_s']} s" in lines[0] and "target <= 2 s" in lines[0]
    assert f"page {figures['page_change_median_s']} s" in lines[1]


def test_a_missing_browser_is_reported_not_hidden():
    assert "not measured: no chromium" in browser_lines({"error": "no chromium"})[0]
