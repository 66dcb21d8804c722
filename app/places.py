"""The folders the app reads from and writes to, and the check that a path lies in one of them.

No page takes a server path typed by a visitor: files and folders are offered from the project's
and the settings' folders, and what is chosen is checked again before it is used. No widgets here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.audio import AUDIO_EXTENSIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = PROJECT_ROOT / "data"  # demo sounds, folders of sounds, COALA files to train on


def inside(path: str | Path, roots: Iterable[str | Path]) -> bool:
    """Whether `path` lies under one of `roots`, `..` taken out. Links are not followed: a link the
    owner put in those folders (to the COALA files on another disk, say) is theirs to make."""
    normal = Path(os.path.abspath(path))
    return any(normal.is_relative_to(os.path.abspath(root)) for root in roots)


def audio_folders(root: Path = DATA_ROOT, skip: Iterable[Path] = (), first: Path | None = None,
                  limit: int = 50) -> list[Path]:
    """Folders one or two levels under `root` with audio files in them, for the feed's folder
    picker; `first` (the demo set) leads, folders under `skip` (the store's own audio) are left out."""
    skip = list(skip)
    found = [first] if first and first.is_dir() else []
    for folder in sorted([*root.glob("*/"), *root.glob("*/*/")]):
        if folder.is_dir() and folder not in found and not inside(folder, skip) and _has_audio(folder):
            found.append(folder)
    return found[:limit]


def _has_audio(folder: Path) -> bool:
    try:
        return any(f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file() for f in folder.iterdir())
    except OSError:
        return False
