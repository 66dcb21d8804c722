"""Training throughput: our chunked in-memory loader vs the course's one-row-per-item DataLoader."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch

from core.bench.baseline import RowByRowDataset
from core.dataset import synthetic_arrays, write_coala
from core.model import build_model
from core.train import measure_throughput


def baseline_throughput(preset: str, n_batches: int, batch_size: int) -> float:
    """Samples/s of the course loop: DataLoader over an HDF5 file read row by row, Adam, BCE."""
    arrays = synthetic_arrays(batch_size * (n_batches + 2))
    with tempfile.TemporaryDirectory() as tmp:
        write_coala(Path(tmp) / "rows.h5", arrays)
        loader = torch.utils.data.DataLoader(RowByRowDataset(str(Path(tmp) / "rows.h5")),
                                             batch_size=batch_size, shuffle=True)
        torch.manual_seed(0)
        model = build_model(preset).train()
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        batches = iter(loader)
        for _ in range(2):  # warm-up, as for ours
            x, y = next(batches)
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        start, seen = time.perf_counter(), 0
        for x, y in batches:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
            seen += len(x)
        return seen / (time.perf_counter() - start)


def run_training(quick: bool, log=print) -> dict:
    torch.set_num_threads(os.cpu_count() or 1)  # both loops on every core
    out = {}
    for preset, n_batches, batch in (("compact", 8 if quick else 30, 64),
                                     ("course", 2 if quick else 8, 32)):
        log(f"5. training throughput, {preset} preset, CPU")
        ours = measure_throughput(preset, n_batches, batch, "cpu")
        base = baseline_throughput(preset, n_batches, batch)
        out[f"{preset}_cpu"] = {"ours_samples_per_s": round(ours, 1),
                                "baseline_samples_per_s": round(base, 1),
                                "speedup": round(ours / base, 2), "batch": batch}
    if torch.cuda.is_available():
        log("5. training throughput, course preset, CUDA")
        out["course_cuda"] = {"ours_samples_per_s": round(measure_throughput("course", 50, 512, "cuda"), 1),
                              "baseline_samples_per_s": None, "batch": 512}
    return out
