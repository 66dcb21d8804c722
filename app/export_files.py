"""The Export page's plumbing: formats, file names, filters and bytes for a download. No widgets."""

from __future__ import annotations

import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from core.settings import THRESHOLD
from core.store import TagStore
from core.store.export import export_labels, preview_export


@dataclass(frozen=True)
class ExportFormat:
    name: str  # what core.store.export calls it
    extension: str  # file name suffix, without the dot
    mime: str  # content type for the download
    about: str  # one line for the page


FORMATS = {f.name: f for f in (
    ExportFormat("csv", "csv", "text/csv",
                 "one row per sound, tag lists as JSON text: opens in any spreadsheet"),
    ExportFormat("jsonl", "jsonl", "application/jsonl", "one JSON object per sound, with its labels"),
    ExportFormat("parquet", "parquet", "application/vnd.apache.parquet", "columnar, for pandas or DuckDB"),
    ExportFormat("coala-h5", "h5", "application/x-hdf5",
                 "the COALA HDF5 layout (ids, patches, multi-hot labels): train on it with "
                 "`python -m core train --data FILE`"),
)}


@dataclass(frozen=True)
class ExportFilters:
    reviewed_only: bool = False  # only sounds a person has corrected or confirmed
    since: date | None = None  # only sounds added or corrected on or after this day (UTC)
    threshold: float = THRESHOLD  # score from which a prediction counts as a label

    def kwargs(self) -> dict:
        return {"reviewed_only": self.reviewed_only, "since": self.since, "threshold": self.threshold}


def file_name(fmt: str, filters: ExportFilters, today: date | None = None) -> str:
    """E.g. tags-reviewed-2025-06-01.csv: says what is inside and when it was made."""
    today = today or datetime.now(UTC).date()
    part = "-reviewed" if filters.reviewed_only else ""
    return f"tags{part}-{today.isoformat()}.{FORMATS[fmt].extension}"


def preview(store: TagStore, fmt: str, filters: ExportFilters):
    """How many sounds and labels an export with these filters would write (nothing is written)."""
    return preview_export(store, fmt, **filters.kwargs())


def export_to_path(store: TagStore, fmt: str, filters: ExportFilters, out: str | Path):
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    return export_labels(store, fmt, out, **filters.kwargs())


class ExportNameError(ValueError):
    """A name for Write file that is not a plain file name inside the exports folder."""


def export_target(folder: Path, name: str) -> Path:
    """The file `name` inside `folder`, after refusing anything that could leave the folder: a
    path (`../x`, `/tmp/x`), a hidden or special name, or a symbolic link. Raises ExportNameError."""
    name = name.strip()
    if not name:
        raise ExportNameError("Type a file name.")
    if "/" in name or "\\" in name or Path(name).is_absolute():
        raise ExportNameError(f"{name!r} is a path: type a file name only; it is written into {folder}.")
    if name.startswith("."):
        raise ExportNameError(f"{name!r}: a file name may not start with '.'.")
    if any(unicodedata.category(c).startswith("C") for c in name) or len(name.encode()) > 255:
        raise ExportNameError(f"{name!r}: use at most 255 bytes and no control characters.")
    target = Path(folder) / name
    if target.is_symlink():
        raise ExportNameError(f"{name} in {folder} is a symbolic link: choose another name.")
    if target.exists() and not target.is_file():
        raise ExportNameError(f"{name} in {folder} is not a file: choose another name.")
    if target.resolve().parent != Path(folder).resolve():
        raise ExportNameError(f"{name!r} leaves {folder}: choose another name.")
    return target


def export_bytes(store: TagStore, fmt: str, filters: ExportFilters) -> bytes:
    """The export file's bytes, written to a temporary folder that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="tagger-export-") as tmp:
        out = Path(tmp) / f"export.{FORMATS[fmt].extension}"
        summary = export_labels(store, fmt, out, **filters.kwargs())
        return Path(summary.path or out).read_bytes()
