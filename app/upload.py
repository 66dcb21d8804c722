"""Upload handling for the "Upload and tag" page: check, tag, keep. No widgets in here.

The page hands in Streamlit's UploadedFile objects; anything with `.name` and `.getvalue()` works.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from core.audio import MAX_SECONDS
from core.store import SoundInfo, TagStore
from core.tagger import Tagger

UPLOAD_TYPES = ("wav", "flac", "ogg", "opus", "mp3")  # what the uploader accepts
UPLOAD_LIMIT_MB = 200  # per file; .streamlit/config.toml sets server.maxUploadSize to the same
MAX_UPLOAD_BYTES = UPLOAD_LIMIT_MB * 1024 * 1024
STORED_TOP_K = 50  # predictions kept in the store per sound (the rest score lower still)
# How each accepted type's bytes begin (mp3: an ID3 tag or an MPEG frame sync, checked below).
MAGIC = {"wav": (b"RIFF", b"RF64"), "flac": (b"fLaC",), "ogg": (b"OggS",), "opus": (b"OggS",)}


class UploadLike(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


@dataclass
class UploadAnalysis:
    name: str  # the file name as uploaded: user text, show it escaped
    sha256: str  # of the file's bytes: the library file name and the duplicate check
    ext: str  # lower-case extension without the dot
    size: int  # bytes
    error: str | None = None  # why it was refused or could not be tagged
    tags: list[tuple[str, float]] = field(default_factory=list)  # every tag, highest score first
    patch_start: int = 0  # first frame of the analysed 96-frame patch
    duration_s: float = 0.0  # of the whole file
    analysed_s: float = 0.0  # of the audio that was analysed
    truncated: bool = False  # only the first MAX_SECONDS were analysed
    samples: np.ndarray | None = None  # (n,) decoded mono audio at 22 kHz, for the spectrogram
    embedding: np.ndarray | None = None  # the model's embedding: similar sounds, before keeping

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class HeldUpload:
    """An uploaded file the page keeps showing until the person clears it (the uploader widget
    forgets its files when another page is visited)."""

    name: str  # the file name as uploaded: user text, show it escaped
    data: bytes  # the file's bytes
    also: list[str] = field(default_factory=list)  # other names the same audio was uploaded as

    def getvalue(self) -> bytes:  # an UploadLike, for analyse_upload
        return self.data


def hold_uploads(held: dict[str, HeldUpload], files: list) -> None:
    """Add the uploader's files to `held` (sha256 -> HeldUpload), the same audio once."""
    for f in files:
        data = f.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        if sha not in held:
            held[sha] = HeldUpload(f.name, data)
        elif f.name != held[sha].name and f.name not in held[sha].also:
            held[sha].also.append(f.name)


def refusal(name: str, size: int) -> str | None:
    """Why a file is refused before decoding, or None when it may be tagged."""
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in UPLOAD_TYPES:
        return (f"Refused: '.{ext}' is not an accepted type "
                f"(accepted: {', '.join('.' + t for t in UPLOAD_TYPES)}).")
    if size == 0:
        return "Refused: the file is empty (0 bytes)."
    if size > MAX_UPLOAD_BYTES:
        return f"Refused: {size / 2**20:.0f} MB is over the {UPLOAD_LIMIT_MB} MB limit per file."
    return None


def analyse_upload(tagger: Tagger, upload: UploadLike) -> UploadAnalysis:
    """Tag one uploaded file. Never raises for a bad file: the error is in the result."""
    data = upload.getvalue()
    ext = Path(upload.name).suffix.lower().lstrip(".")
    out = UploadAnalysis(upload.name, hashlib.sha256(data).hexdigest(), ext, len(data))
    out.error = refusal(upload.name, len(data))
    if out.error:
        return out
    fd, tmp = tempfile.mkstemp(suffix="." + ext, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        result = tagger.tag_file(tmp, top_k=None)
    finally:
        os.unlink(tmp)
    if not result.ok:
        reason = result.error or "could not be decoded"
        out.error = undecodable(upload.name, ext, data,
                                reason.replace(tmp, upload.name).replace(Path(tmp).name, upload.name))
        return out
    out.tags, out.patch_start = result.tags, result.patch_start
    out.duration_s, out.analysed_s, out.truncated = (result.duration_s, result.analysed_s,
                                                     result.truncated)
    out.samples = result.audio.samples if result.audio is not None else None
    out.embedding = result.embedding
    return out


def looks_like(ext: str, data: bytes) -> bool:
    """Whether the bytes begin as a file of this type does."""
    if ext == "mp3":
        return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    return data.startswith(MAGIC.get(ext, (b"",)))


def undecodable(name: str, ext: str, data: bytes, reason: str) -> str:
    """One line on why a file could not be decoded: not audio of its type at all (a renamed
    text file: libsndfile's own words are "File does not exist or is not a regular file"), or
    damaged audio, with the decoder's reason."""
    if not looks_like(ext, data):
        return (f"{name} cannot be decoded as {ext}: it is not {ext} audio (a file of another "
                "kind, renamed?).")
    return f"{name} cannot be decoded as {ext}, it may be damaged: {reason.splitlines()[-1]}"


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 2**20:.1f} MB"


def analysed_part(a: UploadAnalysis) -> str:
    """One sentence on which part of the file the model heard."""
    if a.truncated:
        return (f"Long file ({a.duration_s:.1f} s): the first {a.analysed_s:.0f} s were analysed "
                f"(the app analyses at most {MAX_SECONDS:.0f} s), and the model looked at the "
                "96-frame patch marked on the spectrogram.")
    return (f"{a.duration_s:.1f} s analysed in full; the model looked at the 96-frame patch "
            "marked on the spectrogram.")


def library_path(audio_dir: Path, a: UploadAnalysis) -> Path:
    return Path(audio_dir) / "uploads" / f"{a.sha256}.{a.ext}"


def keep_upload(store: TagStore, a: UploadAnalysis, data: bytes, audio_dir: Path,
                model_label: str, user: str | None = None) -> tuple[int, bool]:
    """Copy the file into the library and store it with its predictions: (sound id, is new)."""
    if not a.ok:
        raise ValueError(f"{a.name} was not tagged, so it cannot be kept: {a.error}")
    dest = library_path(audio_dir, a)
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(dest.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(dest)
    info = SoundInfo(source="upload", name=a.name, audio_path=str(dest), content_hash=a.sha256,
                     duration_s=a.duration_s, patch_start=a.patch_start, analysed_s=a.analysed_s)
    return store.add_sound(info, predictions=a.tags[:STORED_TOP_K], model=model_label,
                           embedding=a.embedding)
