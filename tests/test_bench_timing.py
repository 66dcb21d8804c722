"""The benchmark's process figures: a child's peak RSS is its own, not its parent's."""

from __future__ import annotations

import sys

import numpy as np

from core.bench.timing import run_module, vm_hwm_mb


def test_a_child_reports_its_own_peak_rss_not_the_parents(tmp_path):
    (tmp_path / "grow.py").write_text(
        "import sys\nimport numpy as np\n"
        "block = np.ones(int(sys.argv[1]) * 2**20 // 8)\nprint(block.size)\n")
    ballast = np.ones(800 * 2**20 // 8)  # a parent much bigger than either child
    assert vm_hwm_mb() > 800
    small = run_module(sys.executable, "grow", ["1"], cwd=str(tmp_path))
    big = run_module(sys.executable, "grow", ["300"], cwd=str(tmp_path))
    assert small.returncode == big.returncode == 0
    assert small.stdout.strip() == str(2**20 // 8)
    assert small.peak_rss_mb < 200  # python, numpy and 1 MB: not the parent's 800+
    assert 300 < big.peak_rss_mb < 600
    del ballast


def test_a_failing_child_still_reports_its_exit_code(tmp_path):
    (tmp_path / "fails.py").write_text("raise SystemExit(3)\n")
    run = run_module(sys.executable, "fails", [], cwd=str(tmp_path))
    assert run.returncode == 3 and run.peak_rss_mb > 0
