"""Writing a file so that no reader ever sees half of it: write a fresh file beside it, then rename
it over the old one (a rename within a folder is atomic on POSIX). One helper for every small file
the library keeps: JSON records, pid files, pointers, checkpoints, tokens, kept uploads."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

Content = bytes | str | Callable[[BinaryIO], object]  # bytes, UTF-8 text, or a writer of the file


@contextmanager
def atomic_path(path: str | Path, mode: int = 0o666, fsync: bool = False) -> Iterator[Path]:
    """A new empty file beside `path`, for writers that want a path (h5py, pyarrow, a download),
    renamed onto `path` only when the block succeeds; `mode` before the umask (0o600: private
    from the first byte); `fsync`: on disk before the rename. A failure leaves the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"  # a fresh name per writer
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, content: Content, mode: int = 0o666) -> Path:
    """Replace `path` with `content` at once (atomic_path)."""
    with atomic_path(path, mode) as tmp, open(tmp, "wb") as f:
        if callable(content):
            content(f)
        else:
            f.write(content.encode() if isinstance(content, str) else content)
    return Path(path)


def write_json(path: str | Path, obj, indent: int | None = 2, mode: int = 0o666) -> Path:
    """`obj` as JSON, atomically (write_atomic)."""
    return write_atomic(path, json.dumps(obj, indent=indent), mode)
