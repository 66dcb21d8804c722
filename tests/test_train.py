"""The trainer end to end on a tiny synthesized corpus: it learns, logs, resumes, and runs under DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.runs import read_log
from core.train import (
    LAST,
    BatchRecords,
    Callback,
    RunFolderError,
    TrainConfig,
    load_best,
    measure_throughput,
    train,
)
from tests.conftest import assert_same_last_weights
from tests.corpus_factory import tiny_train_val

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    return tiny_train_val(tmp_path_factory.mktemp("tiny-corpus"), 128)


def config(tiny, out: Path, **kw) -> TrainConfig:
    base = {"val": str(tiny["val"]), "epochs": 4, "batch_size": 16, "threads": 1, "seed": 3}
    return TrainConfig(str(tiny["train"]), str(out), **{**base, **kw})


def epochs_of(run: Path) -> list[dict]:
    return [r for r in read_log(run) if r["event"] == "epoch"]


class Recorder(Callback):
    def __init__(self):
        self.batches, self.epochs, self.ended = 0, [], None

    def on_batch(self, trainer, step, n_steps, loss):
        self.batches += 1

    def on_epoch(self, trainer, record):
        self.epochs.append(record["epoch"])

    def on_end(self, trainer, record):
        self.ended = record


def test_a_few_epochs_learn_the_tiny_corpus(tiny, tmp_path):
    recorder = Recorder()
    end = train(config(tiny, tmp_path / "run"), [recorder])
    records = epochs_of(tmp_path / "run")
    assert [r["epoch"] for r in records] == [1, 2, 3, 4] == recorder.epochs
    assert records[-1]["val_loss"] < records[0]["val_loss"]
    best = max(records, key=lambda r: r["pr_auc_macro"])
    assert best["roc_auc_macro"] > 0.8
    assert end["best_epoch"] == best["epoch"] and recorder.ended == end
    assert recorder.batches == 4 * (128 // 16)
    for key in ("train_loss", "roc_auc_micro", "pr_auc_micro", "subset_accuracy", "time_s",
                "samples_per_s", "lr"):
        assert key in records[0]
    model, state = load_best(tmp_path / "run")
    assert state["epoch"] == best["epoch"]
    assert model(torch.rand(2, 96, 96)).shape == (2, 1000)


def test_an_interrupted_run_resumes_to_the_same_weights(tiny, tmp_path):
    train(config(tiny, tmp_path / "whole", epochs=3))
    train(config(tiny, tmp_path / "cut", epochs=2))
    train(config(tiny, tmp_path / "cut", epochs=3, resume=True))
    assert [r["epoch"] for r in epochs_of(tmp_path / "cut")] == [1, 2, 3]
    starts = [r for r in read_log(tmp_path / "cut") if r["event"] == "start"]
    assert [s["resumed_at_epoch"] for s in starts] == [0, 2]
    cut = torch.load(tmp_path / "cut" / LAST, weights_only=True)
    assert cut["optimizer"]["state"], "the optimizer state travels with the checkpoint"
    assert_same_last_weights(tmp_path / "whole", tmp_path / "cut")


class StopAt(Callback):
    """Asks the trainer to stop at batch `step` of epoch `epoch`, as a Stop button would."""

    def __init__(self, epoch: int, step: int):
        self.at = (epoch, step)

    def on_batch(self, trainer, step, n_steps, loss):
        if (trainer.epoch, step) == self.at:
            trainer.request_stop()


def test_a_stop_lands_at_a_batch_boundary_and_the_run_resumes_whole(tiny, tmp_path):
    train(config(tiny, tmp_path / "whole", epochs=3))
    end = train(config(tiny, tmp_path / "cut", epochs=3), [StopAt(2, 3), BatchRecords()])
    assert end["stopped"] == "requested" and end["epochs"] == 1
    log = read_log(tmp_path / "cut")
    assert log[-1] == end and [r["epoch"] for r in epochs_of(tmp_path / "cut")] == [1]
    batches = [r for r in log if r["event"] == "batch"]
    assert batches[0] == {"event": "batch", "epoch": 1, "step": 1, "n_steps": 8,
                          "loss": batches[0]["loss"]}
    assert (2, 1) in [(r["epoch"], r["step"]) for r in batches]
    assert len(batches) < 8 + 3  # throttled: at most one every 5 s after each epoch's first
    assert torch.load(tmp_path / "cut" / LAST, weights_only=True)["epoch"] == 1  # the whole epoch
    train(config(tiny, tmp_path / "cut", epochs=3, resume=True))
    assert [r["epoch"] for r in epochs_of(tmp_path / "cut")] == [1, 2, 3]
    assert_same_last_weights(tmp_path / "whole", tmp_path / "cut")


def test_a_finished_run_folder_is_not_overwritten(tiny, tmp_path):
    train(config(tiny, tmp_path / "run", epochs=1))
    with pytest.raises(RunFolderError, match="--resume"):
        train(config(tiny, tmp_path / "run", epochs=1))
    with pytest.raises(RunFolderError, match="no checkpoint"):
        train(config(tiny, tmp_path / "fresh", epochs=1, resume=True))


def test_early_stopping_ends_the_run_when_validation_stops_improving(tiny, tmp_path):
    end = train(config(tiny, tmp_path / "run", epochs=12, patience=1, lr=0.05))
    records = epochs_of(tmp_path / "run")
    assert end["stopped"] == "early_stopping"
    assert len(records) < 12 and len(records) == end["best_epoch"] + 1


def test_train_command_splits_validation_from_the_data_when_none_is_given(tiny, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "core", "train", "--data", str(tiny["train"]), "--out", str(out),
           "--epochs", "1", "--batch-size", "16", "--val-fraction", "0.25", "--threads", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=PROJECT)
    assert done.returncode == 0, done.stderr
    assert "best epoch 1" in done.stdout
    start = read_log(out)[0]
    assert start["n_train"] == 96 and start["n_val"] == 32
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["val_fraction"] == 0.25 and saved["dims"]["n_tags"] == 1000


def test_ddp_with_two_cpu_processes_on_gloo(tiny, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "core", "train", "--data", str(tiny["train"]), "--val", str(tiny["val"]),
           "--out", str(out), "--epochs", "3", "--batch-size", "16", "--threads", "1",
           "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=PROJECT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    log = read_log(out)
    assert log[0]["world_size"] == 2
    records = [r for r in log if r["event"] == "epoch"]
    assert [r["epoch"] for r in records] == [1, 2, 3]  # one record per epoch: only rank 0 writes
    # Three tiny epochs: the last train loss can sit a hair above the first (seen once in CI-like
    # runs), so learning is judged on validation: a later epoch beats the first.
    assert min(r["val_loss"] for r in records[1:]) < records[0]["val_loss"]
    assert records[-1]["roc_auc_macro"] > max(0.8, records[0]["roc_auc_macro"])
    model, _ = load_best(out)
    assert torch.isfinite(model(torch.rand(1, 96, 96))).all()


def test_a_stop_reaches_every_ddp_process_at_the_same_batch(tiny, tmp_path):
    """SIGTERM to rank 0 (the pid it records): the processes agree on the stop every
    STOP_POLL_STEPS batches, so both leave the epoch together and torchrun ends cleanly."""
    from core.detached import process_alive
    from core.runs import stop_run

    out = tmp_path / "ddp-stop"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "core", "train", "--data", str(tiny["train"]), "--val", str(tiny["val"]),
           "--out", str(out), "--epochs", "500", "--patience", "500", "--batch-size", "4",
           "--threads", "1", "--device", "cpu"]  # 32 batches an epoch: polled at 10, 20, 30
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not any(r["event"] == "epoch" for r in read_log(out)):  # the handlers are in place
            assert proc.poll() is None and time.monotonic() < deadline, "the run did not get going"
            time.sleep(0.2)
        assert stop_run(out)
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-3000:]
    finally:
        proc.kill()
    end = read_log(out)[-1]
    assert end["event"] == "end" and end["stopped"] == "requested"
    assert process_alive(out) is False


def test_measure_throughput_includes_the_loader_and_reports_samples_per_second():
    rate = measure_throughput("compact", n_batches=2, batch_size=8, device="cpu", threads=1)
    assert rate > 0


def test_fine_tuning_starts_from_a_model_directory_and_keeps_what_it_learned(tiny, tmp_path):
    from core.model_export import export_run
    from core.modeldir import load_model_dir
    from core.train import Trainer

    train(config(tiny, tmp_path / "base", epochs=4))
    model_dir = export_run(tmp_path / "base", tmp_path / "model", name="tiny-base", version="1")
    trainer = Trainer(config(tiny, tmp_path / "tuned", epochs=1, lr=1e-4,
                             init_from=str(model_dir)))
    source = load_model_dir(model_dir).model.state_dict()
    for name, tensor in trainer.model.state_dict().items():
        torch.testing.assert_close(tensor, source[name])
    trainer.close()
    train(config(tiny, tmp_path / "tuned", epochs=1, lr=1e-4, init_from=str(model_dir)))
    train(config(tiny, tmp_path / "scratch", epochs=1, lr=1e-4))
    tuned, scratch = epochs_of(tmp_path / "tuned")[0], epochs_of(tmp_path / "scratch")[0]
    assert tuned["roc_auc_macro"] > scratch["roc_auc_macro"] + 0.1
    assert tuned["val_loss"] < scratch["val_loss"]
    saved = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert saved["train"]["init_from"] == str(model_dir)
    tuned_dir = export_run(tmp_path / "tuned", tmp_path / "tuned-model", name="tiny-tuned")
    assert f"fine-tuned from the weights of `{model_dir}`" in (tuned_dir / "MODEL_CARD.md").read_text()
    assert load_model_dir(tuned_dir).info.trained_on.endswith(f"fine-tuned from {model_dir}")


def test_fine_tuning_refuses_a_model_it_cannot_start_from(tiny, tmp_path, tiny_model_dir):
    base = [sys.executable, "-m", "core", "train", "--data", str(tiny["train"]), "--epochs", "1",
            "--threads", "1"]
    for init, preset, why in ((tmp_path / "nothing", None, "No trained model"),
                              (tiny_model_dir, "course", None)):
        cmd = base + ["--out", str(tmp_path / f"run-{preset}"), "--init-from", str(init)]
        cmd += ["--preset", preset] if preset else []
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=PROJECT)
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert (why or "asks for --preset course") in done.stderr


def test_a_batch_larger_than_the_data_shrinks_to_fit(tiny, tmp_path):
    recorder = Recorder()
    train(config(tiny, tmp_path / "run", epochs=1, batch_size=500), [recorder])
    start = read_log(tmp_path / "run")[0]
    assert start["config"]["batch_size"] == 128 == start["n_train"]
    assert recorder.batches == 1 and epochs_of(tmp_path / "run")[0]["epoch"] == 1
