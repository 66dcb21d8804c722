"""Keeping a sound: an audio file, or the bytes of an upload, with its tag result, becomes a stored
sound with its top predictions. The one way `tag --db`, `keep`, the feed and the upload page
store what they tagged.

    keep_file(store, path, result, model)             # stored where it is (tag --db, folders)
    keep_copy(store, data_or_path, name, result, model)
        # copied into <audio folder>/uploads/<sha256>.<ext> first (the upload page, `keep`)
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from core.files import write_atomic
from core.settings import settings
from core.store import SoundInfo, TagStore, file_hash
from core.tagger import TagResult

UPLOADS = "uploads"  # in the audio folder: the files people kept


def sound_info(path: str | Path, result: TagResult, content_hash: str | None = None,
               **meta) -> SoundInfo:
    """The store's record of a tagged file; `meta` (source, name, Freesound fields) as SoundInfo
    takes them. Defaults: source "folder", the file's name, the sha256 of its bytes."""
    path = Path(path).resolve()
    meta = {"source": "folder", "name": path.name, **meta}
    return SoundInfo(audio_path=str(path), content_hash=content_hash or file_hash(path),
                     duration_s=result.duration_s, patch_start=int(result.patch_start),
                     analysed_s=result.analysed_s, **meta)


def kept_predictions(result: TagResult, keep: int | None = None) -> Sequence[tuple[str, float]]:
    """The predictions a stored sound keeps: its top `keep` (default: the settings' number)."""
    return result.tags[: keep or settings().predictions_kept]


def keep_file(store: TagStore, path: str | Path, result: TagResult, model: str,
              keep: int | None = None, **meta) -> tuple[int, bool]:
    """Store a tagged file where it lies, with its top predictions: (sound id, is new)."""
    if not result.ok:
        raise ValueError(f"{Path(path).name} was not tagged, so it cannot be kept: {result.error}")
    return store.add_sound(sound_info(path, result, **meta), kept_predictions(result, keep), model,
                           result.embedding)


def library_path(audio_dir: str | Path, sha256: str, ext: str) -> Path:
    return Path(audio_dir) / UPLOADS / f"{sha256}.{ext.lower().lstrip('.')}"


def keep_copy(store: TagStore, audio: bytes | str | Path, name: str, result: TagResult, model: str,
              audio_dir: str | Path | None = None, keep: int | None = None) -> tuple[int, bool]:
    """Copy the audio (bytes, or a file) into the library, then store it as an upload with its
    top predictions: (sound id, is new). The same audio is kept once."""
    if not result.ok:
        raise ValueError(f"{name} was not tagged, so it cannot be kept: {result.error}")
    is_bytes = isinstance(audio, bytes)
    sha = hashlib.sha256(audio).hexdigest() if is_bytes else file_hash(audio)
    dest = library_path(audio_dir or settings().audio_dir, sha, Path(name).suffix or ".bin")
    if not dest.is_file():
        write_atomic(dest, audio if is_bytes else lambda f: _copy(Path(audio), f))
    return keep_file(store, dest, result, model, keep, source="upload", name=name, content_hash=sha)


def _copy(src: Path, out) -> None:
    with open(src, "rb") as f:
        shutil.copyfileobj(f, out)
