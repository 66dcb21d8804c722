"""Start `python -m core improve` and `python -m core retag` from the app, detached like training
runs (core/detached.py): their own session, output in train.out, pid in train.pid, so a
refresh or another browser finds them again. No widgets in here.

An improvement runs in runs/<its model name>/, so the training monitor follows its fine-tune like
any run; re-tagging is not a run and keeps its output in runs/.retag/ (hidden from the run list).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.detached import core_command, launch, output_tail, process_alive
from core.registry import active_model, runs_root
from core.runs import RunError

RETAG_FOLDER = ".retag"


def improve_command(db: Path, model: Path, name: str, epochs: int) -> list[str]:
    return core_command("improve", "--db", str(db), "--model", str(model),
                        "--epochs", str(int(epochs)), "--name", name)


def start_improve(db: Path, epochs: int) -> Path:
    """Improve the active model on the store at `db`; returns the run folder it works in."""
    name = f"improved-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    run = runs_root() / name
    if run.exists():
        raise RunError(f"{run} exists already: try again in a second.")
    if any(process_alive(p) for p in running_improvements()):
        raise RunError("An improvement is running already: wait for it to finish.")
    run.mkdir(parents=True)
    launch(improve_command(db, active_model().path, name, epochs), run)
    return run


def running_improvements() -> list[Path]:
    root = runs_root()
    return [p for p in root.glob("improved-*") if p.is_dir()] if root.is_dir() else []


def retag_folder() -> Path:
    return runs_root() / RETAG_FOLDER


def start_retag(db: Path, unreviewed_only: bool) -> Path:
    folder = retag_folder()
    if process_alive(folder):
        raise RunError("Re-tagging is running already: wait for it to finish.")
    folder.mkdir(parents=True, exist_ok=True)
    cmd = core_command("retag", "--db", str(db))
    launch(cmd + (["--unreviewed-only"] if unreviewed_only else []), folder)
    return folder


def job_state(folder: Path) -> tuple[str, str]:
    """("running" | "done" | "", the last lines of its output) of a job folder."""
    alive = process_alive(folder)
    if alive is None:
        return "", ""
    return ("running" if alive else "done"), output_tail(folder, lines=6)
