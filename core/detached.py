"""Long jobs as detached processes (`python -m core train`, `improve`, `retag`): started in their own
session so they outlive the terminal or browser tab that started them, their pid and terminal
output kept in a job folder, so any later command or page load finds them again.

    job/train.pid   {"pid", "started", "argv"}: the process to ask about, or to stop
    job/train.out   its terminal output (for errors; progress goes to the job's own log)

A training run writes its pid file itself as well (core/commands/train.py), so a run started in a
terminal can be listed and stopped like one started here. No torch, no widgets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.files import write_json

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PID_FILE = "train.pid"  # in the job folder: the process to follow
OUTPUT_FILE = "train.out"  # in the job folder: that process's terminal output
JOBS = (b"train", b"improve", b"retag")  # the `python -m core` commands started detached


def core_command(*args: str) -> list[str]:
    """`python -m core ARGS` with this interpreter."""
    return [sys.executable, "-m", "core", *args]


def launch(cmd: list[str], folder: Path) -> int:
    """Start `cmd` in its own session, output appended to train.out; returns its pid."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / OUTPUT_FILE, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    write_pid(folder, proc.pid, cmd)
    return proc.pid


def write_pid(folder: Path, pid: int, argv: list[str]) -> None:
    """Atomically: a reader never finds the file empty while it is rewritten."""
    write_json(folder / PID_FILE, {"pid": pid, "started": time.time(), "argv": argv}, indent=None)


def read_pid(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / PID_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_alive(folder: Path) -> bool | None:
    """Whether the job's process lives; None when no process was recorded for the folder."""
    pid = read_pid(folder)
    if pid is None:
        return None
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child, finished: reap it
            return False
    except ChildProcessError:
        pass  # started by another process (or before a restart): not ours to reap
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _is_job(pid)


def _is_job(pid: int) -> bool:
    """Guard against a reused pid: the process must still be one of the `core` jobs, where /proc
    tells."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc").is_dir()
    return b"core" in args and bool(set(JOBS) & set(args))


def ask_to_stop(folder: Path) -> bool:
    """SIGTERM to the job's process: a training run stops at its next batch boundary and logs
    why (core/commands/train.py). False when no live process was recorded."""
    pid = read_pid(folder)
    if pid is None or not process_alive(folder):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def output_tail(folder: Path, lines: int = 12, max_bytes: int = 64_000) -> str:
    """The last lines of the process output; progress-bar redraws (carriage returns) folded."""
    path = folder / OUTPUT_FILE
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - max_bytes))
        text = f.read().decode("utf-8", errors="replace")
    shown = []
    for line in text.replace("\r\n", "\n").split("\n"):
        redraws = [part for part in line.split("\r") if part.strip()]
        if redraws:
            shown.append(redraws[-1].rstrip())
    return "\n".join(shown[-lines:])
