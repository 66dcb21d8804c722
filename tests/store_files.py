"""Store files made by the tests: a good one with a real sound, then damaged or made read-only."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.store import SoundInfo, TagStore


def good_store(path: Path, audio: Path) -> Path:
    info = SoundInfo(source="folder", name=audio.name, audio_path=str(audio),
                     content_hash=hashlib.sha256(audio.read_bytes()).hexdigest(), duration_s=2.0)
    TagStore(path).add_sound(info, [("piano", 0.9), ("bell", 0.2)], "tiny-test@0")
    return path


def corrupt(path: Path) -> None:
    """Every block after the file header overwritten, as a failing disk or a bad copy leaves it."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(os.urandom(size - 4096))


def make_read_only(path: Path) -> None:
    """Really read-only: `chattr +i` as root (root writes through chmod), chmod for other users."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)]).returncode:
        pytest.skip("running as root without chattr +i: no way to make a file read-only")


def undo_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
