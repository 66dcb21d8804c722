"""Training: TrainConfig, batches from core.patches (HDF5 read in large contiguous chunks), the loop
with callbacks, checkpoints with optimizer state (resume), the best epoch by validation PR-AUC
macro, early stopping, a stop on request at a batch boundary, a JSON-lines log in the run folder
(throttled batch records through the BatchRecords callback), DDP through torchrun, mixed precision
on CUDA. The run folder's layout is described in core/runs.py.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from core.dataset import dataset_size, parse_data_spec, split_indices
from core.device import resolve_device
from core.distill import attach_teachers
from core.files import write_atomic, write_json
from core.metrics import score_tags
from core.model import PRESETS, ModelDims, TaggerCNN, build_model, count_parameters
from core.modeldir import LoadedModel, load_model_dir
from core.patches import MixedSource, PatchSource, predict, spec_augment
from core.runs import BEST, CONFIG, LAST, LOG, TRAIN_LAYERS
from core.vocabulary import load_vocabulary

SELECT_METRIC = "pr_auc_macro"  # the best epoch is the one with the highest validation value
BATCH_RECORD_EVERY_S = 5.0  # at most one "batch" progress record in the log this often
STOP_POLL_STEPS = 10  # with DDP, the processes agree on a requested stop every this many batches


class RunFolderError(Exception):
    """The run folder is missing what --resume needs, or would be overwritten."""


@dataclass(frozen=True)
class TrainConfig:
    data: tuple[str, ...]  # training HDF5 files (COALA layout), each "PATH" or "PATH:WEIGHT"
    out: str  # run folder
    val: tuple[str, ...] = ()  # validation HDF5 files, read one after the other; (): a split of `data`
    val_fraction: float = 0.1  # share of `data` held out when `val` is None
    preset: str = "compact"  # core.model preset
    epochs: int = 30  # most epochs to run
    batch_size: int = 64  # global batch, split evenly across DDP processes
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam weight decay
    cosine: bool = False  # decay the learning rate along a cosine over `epochs`
    patience: int = 6  # stop after this many epochs without a better validation PR-AUC macro
    seed: int = 0  # weights, shuffling and the validation split
    device: str = "auto"  # auto (CUDA when present), cpu or cuda
    amp: bool = True  # mixed precision on CUDA; CPU always trains in float32
    threads: int = 0  # torch CPU threads per process; 0: all cores shared among processes
    spec_augment: float = 0.0  # chance per clip of one time and one mel-band mask (0: off)
    eval_batch_size: int = 256  # batch for validation passes
    prior_bias: bool = True  # start each output's bias at its tag's training frequency
    resume: bool = False  # continue the run in `out` from its last.pt
    init_from: str | None = None  # fine-tune: a model directory whose weights (and dims) start the run
    teachers: tuple[str, ...] = ()  # model directories or run folders to distill (core.distill)
    distill: float = 0.5  # with teachers: their mean score's share of each training target
    train_layers: str = "all"  # "all", or "head": the conv blocks stay as they start (a fine-tune)

    def __post_init__(self):  # one file may be given as a plain string, as older run folders store it
        for name in ("data", "val", "teachers"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        if self.teachers and not 0.0 < self.distill <= 1.0:
            raise ValueError(f"--distill {self.distill}: the teachers' share must be in (0, 1]")
        if self.train_layers not in TRAIN_LAYERS:
            raise ValueError(f"--train-layers {self.train_layers}: one of {', '.join(TRAIN_LAYERS)}")


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)



# --- data ---------------------------------------------------------------------------------------------
def load_sources(cfg: TrainConfig) -> tuple[PatchSource | MixedSource, PatchSource | MixedSource]:
    """Training rows (mixed by weight when there are several files) and validation rows: the
    --val files, else a seeded split of each training file."""
    if not cfg.data:
        raise ValueError("no training data given")
    specs = [parse_data_spec(s) for s in cfg.data]
    for v in cfg.val:
        if parse_data_spec(v)[0] != v:
            raise ValueError(f"--val {v}: validation files take no weight (each is read whole)")
    if cfg.val:
        train = [PatchSource(path) for path, _ in specs]
        val = [PatchSource(path) for path in cfg.val]
    else:
        splits = [split_indices(dataset_size(path), cfg.val_fraction, cfg.seed) for path, _ in specs]
        train = [PatchSource(path, t) for (path, _), (t, _) in zip(specs, splits, strict=True)]
        val = [PatchSource(path, v) for (path, _), (_, v) in zip(specs, splits, strict=True)]
    return _one_or_mixed(train, [w for _, w in specs]), _one_or_mixed(val, [1.0] * len(val))


def _one_or_mixed(sources: list[PatchSource], weights: list[float]) -> PatchSource | MixedSource:
    return sources[0] if len(sources) == 1 else MixedSource(sources, weights)


def fit_batch_to_data(cfg: TrainConfig, n_train: int, world: int) -> TrainConfig:
    """A batch larger than the training set gives no full batch: shrink it to fit, since a small
    file of corrections is a normal thing to fine-tune on."""
    fitting = n_train // world * world
    if cfg.batch_size <= fitting:
        return cfg
    if fitting < 2 * world:
        raise ValueError(f"{n_train} training clips are too few to train on")
    return replace(cfg, batch_size=fitting)


def starting_model(cfg: TrainConfig) -> LoadedModel | None:
    """The model a fine-tuning run starts from; it must speak the training vocabulary and size."""
    if not cfg.init_from:
        return None
    start = load_model_dir(cfg.init_from)
    if start.vocabulary != load_vocabulary():
        raise ValueError(f"{cfg.init_from} has another vocabulary than the 1000 COALA tags: "
                         "it cannot be fine-tuned on COALA-layout data")
    if start.info.preset != cfg.preset:
        raise ValueError(f"{cfg.init_from} is a '{start.info.preset}' model, but the run asks for "
                         f"--preset {cfg.preset}")
    return start


# --- distributed --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dist:
    rank: int  # this process
    world: int  # processes in all
    local_rank: int  # this process on its machine (picks the GPU)

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str) -> tuple[Dist, torch.device]:
    """Read torchrun's environment; start the process group when there is more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ctx = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ctx, device


# --- the loop -----------------------------------------------------------------------------------------
class Callback:
    """Hooks for progress displays (the CLI's tqdm, the app's training page). Override any."""

    def on_start(self, trainer: Trainer) -> None: ...
    def on_batch(self, trainer: Trainer, step: int, n_steps: int, loss: float) -> None: ...
    def on_epoch(self, trainer: Trainer, record: dict) -> None: ...
    def on_end(self, trainer: Trainer, record: dict) -> None: ...
    def on_teachers(self, trainer: Trainer, done: int, total: int) -> None: ...


class BatchRecords(Callback):
    """Progress into the run's log: a "batch" record (epoch, step, n_steps, loss) at the first
    batch of an epoch and then at most every `every_s` seconds, on the main process; before the
    first epoch of a distilled run, one per teacher pass (phase "teachers")."""

    def __init__(self, every_s: float = BATCH_RECORD_EVERY_S):
        self.every_s, self.last = every_s, -math.inf

    def on_batch(self, trainer: Trainer, step: int, n_steps: int, loss: float) -> None:
        now = time.monotonic()
        if trainer.ctx.main and (step == 1 or now - self.last >= self.every_s):
            self.last = now
            trainer.log({"event": "batch", "epoch": trainer.epoch, "step": step,
                         "n_steps": n_steps, "loss": loss})

    def on_teachers(self, trainer: Trainer, done: int, total: int) -> None:
        """Before the first epoch: (teacher, file) passes of the distillation scoring done."""
        if trainer.ctx.main:
            trainer.log({"event": "batch", "phase": "teachers", "epoch": trainer.epoch,
                         "step": done, "n_steps": total})


class Trainer:
    def __init__(self, cfg: TrainConfig, callbacks: list[Callback] | None = None):
        self.cfg = cfg
        self.callbacks = callbacks or []
        self.ctx, self.device = init_distributed(cfg.device)
        self.out = Path(cfg.out)
        start = starting_model(cfg)
        self.dims: ModelDims = start.info.dims if start else PRESETS[cfg.preset]
        self.vocabulary = load_vocabulary()
        self.epoch = 0  # epochs completed
        self.best_epoch, self.best_score, self.bad_epochs = 0, -math.inf, 0
        self.stop_requested = False
        self.stop_reason = ""
        self._setup_threads()
        torch.manual_seed(cfg.seed)
        # channels-last activations: measured 1.5x or more faster to train on the 2-core CPU
        self.model: TaggerCNN = build_model(self.dims)
        if start and not cfg.resume:
            self.model.load_state_dict(start.model.state_dict())
        self.model.to(self.device, memory_format=torch.channels_last)
        self.frozen = self.model.feature_layers() if cfg.train_layers == "head" else []
        for layer in self.frozen:
            layer.requires_grad_(False)
        trained = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trained, cfg.lr, weight_decay=cfg.weight_decay)
        self.amp_dtype = _amp_dtype(self.device, cfg.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.loss_fn = nn.BCEWithLogitsLoss()
        self.train_data, self.val_data = load_sources(cfg)
        self.cfg = cfg = fit_batch_to_data(cfg, len(self.train_data), self.ctx.world)
        if cfg.prior_bias and not cfg.resume and not start:
            init_output_bias(self.model, self.train_data.label_frequencies())
        self.net = self._wrap(self.model)

    def _setup_threads(self) -> None:
        if self.device.type == "cpu":
            threads = self.cfg.threads or max(1, (os.cpu_count() or 1) // self.ctx.world)
            torch.set_num_threads(threads)

    def _wrap(self, model: nn.Module) -> nn.Module:
        if self.ctx.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def request_stop(self) -> None:
        """Stop at the next batch boundary (a callback or a signal handler may call this). The
        epoch under way is dropped: last.pt stays the last whole epoch's, so a resumed run starts
        that epoch again; the log's end record says "requested"."""
        self.stop_requested = True

    def _stop_now(self, step: int) -> bool:
        """Whether every process stops before its next batch (asked every STOP_POLL_STEPS batches
        across DDP processes, so that all of them leave the epoch at the same step)."""
        if self.ctx.world == 1:
            return self.stop_requested
        if step % STOP_POLL_STEPS:
            return False
        flag = torch.tensor([int(self.stop_requested)],
                            device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def run(self) -> dict:
        self._prepare_run_folder()
        if self.ctx.main:
            self.log({"event": "start", "config": asdict(self.cfg), "dims": self.dims.to_dict(),
                       "n_train": len(self.train_data), "n_val": len(self.val_data),
                       "parameters": count_parameters(self.model), "device": str(self.device),
                       "world_size": self.ctx.world, "resumed_at_epoch": self.epoch})
        if self.cfg.teachers:
            self._attach_teachers()
        for cb in self.callbacks:
            cb.on_start(self)
        while self.epoch < self.cfg.epochs and not self._should_stop():
            record = self._run_epoch()
            if record is None:  # stopped on request in the middle of the epoch
                break
            for cb in self.callbacks:
                cb.on_epoch(self, record)
        end = {"event": "end", "epochs": self.epoch, "best_epoch": self.best_epoch,
               f"best_{SELECT_METRIC}": self.best_score, "stopped": self.stop_reason or "max_epochs"}
        if self.ctx.main:
            self.log(end)
        for cb in self.callbacks:
            cb.on_end(self, end)
        return end

    def _attach_teachers(self) -> None:
        start = time.perf_counter()
        sources = self.train_data.sources if isinstance(self.train_data, MixedSource) else [self.train_data]

        def progress(done: int, total: int) -> None:
            for cb in self.callbacks:
                cb.on_teachers(self, done, total)

        attach_teachers(sources, self.cfg.teachers, self.cfg.distill, self.out, self.device,
                        self.cfg.eval_batch_size, progress)
        if self.ctx.main:
            self.log({"event": "teachers", "teachers": list(self.cfg.teachers),
                      "distill": self.cfg.distill, "time_s": time.perf_counter() - start})

    def _run_epoch(self) -> dict | None:
        """One epoch: train, validate, checkpoint, log; None when a stop cut it short."""
        self.epoch += 1
        lr = self._set_lr()
        start = time.perf_counter()
        trained = self.train_epoch()
        if trained is None:  # not counted, not saved: last.pt stays the last whole epoch's
            self.epoch -= 1
            self.stop_reason = "requested"
            return None
        train_loss, samples, train_s = trained
        metrics = self.validate() if self.ctx.main else {}
        is_best = self.ctx.main and metrics[SELECT_METRIC] > self.best_score
        if is_best:
            self.best_epoch, self.best_score, self.bad_epochs = self.epoch, metrics[SELECT_METRIC], 0
        elif self.ctx.main:
            self.bad_epochs += 1
        record = {"event": "epoch", "epoch": self.epoch, "train_loss": train_loss, **metrics,
                  "lr": lr, "time_s": time.perf_counter() - start,
                  "samples_per_s": samples / max(train_s, 1e-9), "best_epoch": self.best_epoch,
                  "is_best": bool(is_best)}
        if self.ctx.main:
            self._save(is_best, metrics)
            self.log(record)
        self._sync_stop()
        return record

    def _set_lr(self) -> float:
        lr = self.cfg.lr
        if self.cfg.cosine:
            lr = self.cfg.lr * 0.5 * (1 + math.cos(math.pi * (self.epoch - 1) / max(1, self.cfg.epochs)))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def train_epoch(self) -> tuple[float, int, float] | None:
        """One pass over this process's share: (mean loss, samples seen, seconds); None when a
        stop was requested before its last batch."""
        self.net.train()
        for layer in self.frozen:  # their batch-norm statistics stay as they started too
            layer.eval()
        per_rank = max(2, self.cfg.batch_size // self.ctx.world)
        n_steps = self.train_data.n_batches(per_rank, self.ctx.world)
        if n_steps == 0:
            raise ValueError(f"{len(self.train_data)} training clips give no full batch of {per_rank}")
        gen = torch.Generator().manual_seed(self.cfg.seed * 1000 + self.epoch)
        total, samples, start = 0.0, 0, time.perf_counter()
        batches = self.train_data.epoch(self.cfg.seed * 1000 + self.epoch, per_rank, self.ctx.rank,
                                        self.ctx.world)
        for step, (x, y) in enumerate(batches, 1):
            loss = self.train_step(x, y, gen)
            total, samples = total + loss, samples + len(x) * self.ctx.world
            for cb in self.callbacks:
                cb.on_batch(self, step, n_steps, loss)
            if step < n_steps and self._stop_now(step):
                return None
        return total / n_steps, samples, time.perf_counter() - start

    def train_step(self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator | None = None) -> float:
        """One optimizer step on a (batch, 96, 96) patch batch and its (batch, n_tags) labels."""
        x = x.clamp_min(0.0)  # COALA's training clamps inputs at 0
        if self.cfg.spec_augment > 0 and gen is not None:
            x = spec_augment(x, self.cfg.spec_augment, gen)
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True).float()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            loss = self.loss_fn(self.net(x).float(), y)  # logits (batch, n_tags)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach())

    @torch.no_grad()
    def validate(self) -> dict:
        scores, labels = predict(self.model, self.val_data, self.device, self.cfg.eval_batch_size,
                                 self.amp_dtype)
        logits = torch.logit(torch.from_numpy(scores).clamp(1e-7, 1 - 1e-7))
        val_loss = float(self.loss_fn(logits, torch.from_numpy(labels).float()))
        sc = score_tags(labels, scores, self.vocabulary)
        return {"val_loss": val_loss, "roc_auc_macro": sc.roc_auc_macro, "roc_auc_micro": sc.roc_auc_micro,
                "pr_auc_macro": sc.pr_auc_macro, "pr_auc_micro": sc.pr_auc_micro,
                "subset_accuracy": sc.subset_accuracy, "val_tags": sc.n_tags}

    def _should_stop(self) -> bool:
        return bool(self.stop_reason)

    def _sync_stop(self) -> None:
        """Early stopping, decided on rank 0 and shared with every process."""
        stop = 0
        if self.ctx.main:
            if self.bad_epochs >= self.cfg.patience:
                stop = 1
            elif self.stop_requested:
                stop = 2
        if self.ctx.world > 1:
            flag = torch.tensor([stop], device=self.device if self.device.type == "cuda" else "cpu")
            dist.broadcast(flag, 0)
            stop = int(flag.item())
        self.stop_reason = {0: "", 1: "early_stopping", 2: "requested"}[stop]

    # --- run folder ---
    def _prepare_run_folder(self) -> None:
        if self.ctx.main:
            if self.cfg.resume:
                self._load_last()
            elif (self.out / LAST).exists() or (self.out / LOG).exists():
                raise RunFolderError(f"{self.out} already holds a run; pass --resume to continue it, "
                                     "or choose another --out")
            self.out.mkdir(parents=True, exist_ok=True)
            write_json(self.out / CONFIG, {"train": asdict(self.cfg), "dims": self.dims.to_dict()})
        if self.ctx.world > 1:
            self._broadcast_state()

    def _broadcast_state(self) -> None:
        """Resumed weights and counters from rank 0 to every process."""
        state = [self.epoch, self.best_epoch, self.best_score, self.bad_epochs]
        dist.broadcast_object_list(state, 0)
        self.epoch, self.best_epoch, self.best_score, self.bad_epochs = state
        for tensor in self.model.state_dict().values():
            dist.broadcast(tensor, 0)

    def _save(self, is_best: bool, metrics: dict) -> None:
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scaler": self.scaler.state_dict(), "epoch": self.epoch,
                 "best_epoch": self.best_epoch, "best_score": self.best_score,
                 "bad_epochs": self.bad_epochs, "dims": self.dims.to_dict(),
                 "config": asdict(self.cfg), "torch_rng": torch.get_rng_state()}
        _atomic_save(state, self.out / LAST)
        if is_best:
            _atomic_save({"model": self.model.state_dict(), "dims": self.dims.to_dict(),
                          "epoch": self.epoch, "metrics": metrics, "config": asdict(self.cfg)},
                         self.out / BEST)

    def _load_last(self) -> None:
        path = self.out / LAST
        if not path.is_file():
            raise RunFolderError(f"--resume: no checkpoint {path}")
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.best_epoch = state["epoch"], state["best_epoch"]
        self.best_score, self.bad_epochs = state["best_score"], state["bad_epochs"]
        torch.set_rng_state(state["torch_rng"].cpu())

    def log(self, record: dict) -> None:
        """Append one record to the run's log.jsonl (main process only)."""
        with open(self.out / LOG, "a") as f:
            f.write(json.dumps(record) + "\n")

    def close(self) -> None:
        if self.ctx.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


@torch.no_grad()
def init_output_bias(model: TaggerCNN, frequencies: torch.Tensor) -> None:
    """Biases at the logit of each tag's frequency: training starts from the priors instead of
    spending its first epochs learning that almost every tag is absent."""
    last = model.head[-1]
    p = frequencies.to(last.bias.device).clamp(1e-4, 0.5)
    last.bias.copy_(torch.log(p / (1 - p)))


def _amp_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def train(cfg: TrainConfig, callbacks: list[Callback] | None = None) -> dict:
    """Train to the end (or early stop); returns the final log record."""
    trainer = Trainer(cfg, callbacks)
    try:
        return trainer.run()
    finally:
        trainer.close()


def load_run_config(run_dir: str | Path) -> TrainConfig:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise RunFolderError(f"no {CONFIG} in {run_dir}: not a run folder")
    return TrainConfig(**json.loads(path.read_text())["train"])


def load_best(run_dir: str | Path) -> tuple[TaggerCNN, dict]:
    """The best epoch's model (eval mode, CPU) and its checkpoint record."""
    path = Path(run_dir) / BEST
    if not path.is_file():
        raise RunFolderError(f"no {BEST} in {run_dir}: the run has not finished an epoch")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(ModelDims.from_dict(state["dims"]))
    model.load_state_dict(state["model"])
    return model.eval(), state


def measure_throughput(preset: str = "compact", n_batches: int = 20, batch_size: int = 64,
                       device: str = "cpu", threads: int = 0) -> float:
    """Training samples per second, the in-memory loader included, on synthetic data."""
    import tempfile

    from core.dataset import synthetic_arrays, write_coala

    arrays = synthetic_arrays(batch_size * (n_batches + 3))
    with tempfile.TemporaryDirectory() as tmp:
        write_coala(Path(tmp) / "bench.h5", arrays)
        cfg = TrainConfig(str(Path(tmp) / "bench.h5"), str(Path(tmp) / "run"), preset=preset,
                          batch_size=batch_size, device=device, threads=threads, val_fraction=0.01)
        trainer = Trainer(cfg)
        batches = trainer.train_data.epoch(0, batch_size)
        trainer.net.train()
        for _ in range(2):  # warm-up
            trainer.train_step(*next(batches))
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        start, seen = time.perf_counter(), 0
        for x, y in batches:
            trainer.train_step(x, y)
            seen += len(x)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        trainer.close()
        return seen / (time.perf_counter() - start)


def _atomic_save(obj: dict, path: Path) -> None:
    write_atomic(path, lambda f: torch.save(obj, f))


def resume_config(run_dir: str | Path, epochs: int | None = None) -> TrainConfig:
    """The stored config of a run, marked for resuming, optionally with more epochs."""
    cfg = load_run_config(run_dir)
    return replace(cfg, resume=True, epochs=epochs or cfg.epochs)
