"""`python -m core runs start|list|follow|stop|resume` with a real detached training process.

Nothing here waits for a length of time: each step waits for the record in the run's log that
says the process got there (a stop is sent only after the run logged a whole epoch, so the
signal handler is in place and there is a checkpoint to resume from)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.detached import process_alive
from core.runs import LAST, read_log, stop_run
from tests.corpus_factory import tiny_corpus

PROJECT = Path(__file__).resolve().parent.parent
DEADLINE_S = 300  # only a hung process takes this long


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    yield folder
    for run in folder.glob("*"):  # never leave a training process behind
        if stop_run(run):
            wait_until(run, lambda _, run=run: process_alive(run) is False)


def cli(runs: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TAGGER_RUNS": str(runs), "PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-m", "core", "runs", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=DEADLINE_S)


def wait_until(run: Path, done, what: str = "") -> list[dict]:
    """Poll the run's log until done(records) holds; fail, with its output, on the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        records = read_log(run)
        if done(records):
            return records
        time.sleep(0.2)
    out = (run / "train.out").read_text() if (run / "train.out").is_file() else ""
    pytest.fail(f"the run never got {what}; its output:\n{out}")


def events(records: list[dict]) -> list[str]:
    return [r["event"] for r in records]


def test_start_list_stop_and_resume_a_run_from_the_command_line(runs, tmp_path):
    data = tiny_corpus(tmp_path / "tiny.h5")
    started = cli(runs, "start", "long", "--data", str(data), "--epochs", "500", "--patience", "500",
                  "--batch-size", "16")
    assert started.returncode == 0, started.stderr
    assert "runs stop long" in started.stdout
    run = runs / "long"
    wait_until(run, lambda r: "epoch" in events(r), "to a whole epoch")
    listed = [json.loads(line) for line in cli(runs, "list", "--json").stdout.splitlines()]
    assert [(r["name"], r["state"]) for r in listed] == [("long", "running")]

    stopped = cli(runs, "stop", "long", "--wait")
    assert stopped.returncode == 0, stopped.stderr
    records = read_log(run)
    end = records[-1]
    assert end["event"] == "end" and end["stopped"] == "requested", records[-3:]
    assert "batch" in events(records)  # progress came as the trainer's own records
    assert process_alive(run) is False
    import torch

    assert torch.load(run / LAST, weights_only=True)["epoch"] == end["epochs"]  # a whole epoch
    listed = cli(runs, "list").stdout
    assert "long" in listed and "stopped (requested)" in listed
    assert cli(runs, "stop", "long").returncode == 1  # nothing left to stop

    resumed = cli(runs, "resume", "long", "--epochs", str(end["epochs"] + 1))
    assert resumed.returncode == 0, resumed.stderr
    records = wait_until(run, lambda r: events(r).count("end") == 2, "to its second end")
    starts = [r for r in records if r["event"] == "start"]
    assert [s["resumed_at_epoch"] for s in starts] == [0, end["epochs"]]
    assert records[-1]["stopped"] == "max_epochs" and records[-1]["epochs"] == end["epochs"] + 1
    followed = cli(runs, "follow", "long")  # a finished run: its records, then it returns
    assert followed.returncode == 0 and followed.stdout.splitlines()[-1].startswith("end: ")


def test_runs_commands_say_what_is_wrong_in_one_line(runs, tmp_path):
    assert "no training runs" in cli(runs, "list").stdout
    missing = cli(runs, "stop", "nothing")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no run 'nothing'")
    bad = cli(runs, "start", "x", "--data", str(tmp_path / "absent.h5"))
    assert bad.returncode == 2 and "not a readable COALA HDF5 file" in bad.stderr
    assert "Traceback" not in bad.stderr and not (runs / "x").exists()
