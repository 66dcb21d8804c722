"""The app as a person runs it, for the browser benchmark and the end-to-end test: `streamlit run`
on a free port of 127.0.0.1, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class AppStartError(RuntimeError):
    """streamlit exited or stayed silent; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str], log: Path, start_timeout_s: float,
                address: str | None = "127.0.0.1", root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """`streamlit run app/main.py` with `env` over this process's environment (never an API key):
    yields (its URL, its pid) once it answers its health check, and stops it afterwards.
    `address=None` passes no --server.address: the committed .streamlit/config.toml decides.
    `root`: the checkout whose app runs (another one, e.g. older code, imports its own `core`)."""
    full_env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **env}
    full_env.pop("FREESOUND_API_KEY", None)
    full_env.pop("STREAMLIT_SERVER_ADDRESS", None)
    if root != ROOT:
        full_env["PYTHONPATH"] = str(root)
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
           "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    cmd += ["--server.address", address] if address else []
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log, start_timeout_s)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AppStartError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=5).text.strip() == "ok":
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AppStartError(f"streamlit did not answer within {timeout_s:g} s:\n{log.read_text()[-3000:]}")


def launch_chromium(playwright):
    """Debian's Chromium, headless (never a browser Playwright downloads)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
