"""Export the corrected labels: csv, jsonl, parquet, or the COALA HDF5 layout for retraining.

Every format carries the same columns per sound (the jsonl field names): sound_id, source,
freesound_id (null unless from Freesound), name, model, predicted ([{"tag", "score"}], highest
first), added, removed, confirmed, final (lists of tags) and reviewed. In csv the lists are JSON
strings, and text that a spreadsheet would run as a formula starts with an apostrophe. `coala-h5`
writes group `dataset` with `id` (Freesound id, or minus the store id for sounds not from
Freesound), `data` (the scaled 96x96 patch, recomputed from the stored audio), `label` (multi-hot
of the labels over the 1000) and `store_id`; its labels are the final tags by default, or the
uploader's own tags, or both (core.store.training_labels). Files are written to a temporary file
in the target folder and renamed, so a crash never leaves a half file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.dataset import AudioRow, missing_audio, write_audio_rows
from core.files import atomic_path
from core.settings import THRESHOLD
from core.store import queries
from core.store.models import SoundRow
from core.store.store import TagStore, selection_params
from core.store.training_labels import LABEL_SOURCES, TrainingLabels, training_labels
from core.vocabulary import load_vocabulary

FORMATS = ("csv", "jsonl", "parquet", "coala-h5")
COLUMNS = ("sound_id", "source", "freesound_id", "name", "model", "predicted", "added",
           "removed", "confirmed", "final", "reviewed")
LIST_COLUMNS = ("added", "removed", "confirmed", "final")
PARQUET_SCHEMA = pa.schema(
    [("sound_id", pa.int64()), ("source", pa.string()), ("freesound_id", pa.int64()),
     ("name", pa.string()), ("model", pa.string()),
     ("predicted", pa.list_(pa.struct([("tag", pa.string()), ("score", pa.float64())])))]
    + [(c, pa.list_(pa.string())) for c in LIST_COLUMNS] + [("reviewed", pa.bool_())])
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class ExportSummary:
    rows: int  # sounds written
    labels: int  # final labels written (coala-h5: those in the vocabulary)
    path: Path | None  # the file written (None for a preview)
    format: str = "jsonl"  # csv, jsonl, parquet or coala-h5
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (sound_id, why) left out
    labels_from: str = "final"  # coala-h5: final, uploader or both (core.store.training_labels)
    origins: dict[str, int] = field(default_factory=dict)  # coala-h5: sounds written per origin
    unmapped: int = 0  # coala-h5: uploader tags of written sounds outside the vocabulary (dropped)
    unlabelled: int = 0  # coala-h5: sounds left out: no uploader tag in the vocabulary

    def line(self) -> str:
        """What was written, in one line (the command's summary)."""
        text = f"{self.rows} sounds, {self.labels} labels ({self.format})"
        if self.format != "coala-h5" or self.labels_from == "final":
            return text
        origins = ", ".join(f"{n} {k}" for k, n in sorted(self.origins.items())) or "none"
        return (text + f"; labels from {self.labels_from}: sounds by origin {origins}; "
                f"{self.unmapped} uploader tags outside the vocabulary dropped; "
                f"{self.unlabelled} sounds without a vocabulary tag left out")


class ExportError(Exception):
    """An export that cannot be written; the message says why."""


def parse_since(value: str | date | datetime | None) -> datetime | None:
    """'2024-05-01', an ISO timestamp, a date or a datetime -> naive UTC datetime."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as e:
            raise ExportError(f"--since takes a date like 2024-05-01 or an ISO time, "
                              f"got {value!r}") from e
    if value.tzinfo is not None:  # the store keeps naive UTC
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _rows(store: TagStore, reviewed_only: bool, since, threshold: float) -> list[SoundRow]:
    return store.label_rows(reviewed_only=reviewed_only, since=parse_since(since),
                            threshold=threshold)


def preview_export(store: TagStore, fmt: str = "jsonl", reviewed_only: bool = False,
                   since=None, threshold: float = THRESHOLD, labels: str = "final") -> ExportSummary:
    """How many sounds and labels an export would write, without writing anything."""
    _check_format(fmt, labels)
    if fmt != "coala-h5":
        params = selection_params(reviewed_only, parse_since(since), threshold)
        ((rows, n_labels),) = store.read_sql(queries.EXPORT_COUNTS, params)
        return ExportSummary(rows, int(n_labels), None, fmt)
    rows = _rows(store, reviewed_only, since, threshold)
    plan = plan_training_rows(store, rows, labels)
    skipped = [(r.id, _missing_audio(r)) for r, _ in plan.rows if _missing_audio(r)]
    kept = [(r, t) for r, t in plan.rows if not _missing_audio(r)]
    return _coala_summary(kept, None, skipped, plan, labels)


def export_labels(store: TagStore, fmt: str, out: str | Path, reviewed_only: bool = False,
                  since=None, threshold: float = THRESHOLD, progress: Progress | None = None,
                  labels: str = "final") -> ExportSummary:
    """Write the labels of the selected sounds to `out` in format `fmt`; `labels` (coala-h5 only)
    picks final labels, the uploader's tags, or both (core.store.training_labels)."""
    _check_format(fmt, labels)
    out = Path(out)
    if fmt == "coala-h5":
        return write_training_file(store, _rows(store, reviewed_only, since, threshold), out,
                                   labels, progress)
    with atomic_path(out, fsync=True) as tmp:
        params = selection_params(reviewed_only, parse_since(since), threshold)
        rows, n_labels = WRITERS[fmt](store, params, tmp)
    return ExportSummary(rows, n_labels, out, fmt)


def write_training_file(store: TagStore, rows: list[SoundRow], out: str | Path,
                        labels: str = "final", progress: Progress | None = None) -> ExportSummary:
    """The COALA-layout file of `rows` with their `labels` (final, uploader or both)."""
    _check_format("coala-h5", labels)
    out = Path(out)
    plan = plan_training_rows(store, rows, labels)
    with atomic_path(out, fsync=True) as tmp:
        return _write_coala(plan, tmp, out, progress, labels)


def _check_format(fmt: str, labels: str = "final") -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if labels not in LABEL_SOURCES:
        raise ExportError(f"unknown labels {labels!r}; choose one of {', '.join(LABEL_SOURCES)}")
    if labels != "final" and fmt != "coala-h5":
        raise ExportError(f"--labels {labels} makes a training file: it goes with --format "
                          "coala-h5 (the other formats carry every label column already)")


@dataclass(frozen=True)
class TrainingPlan:
    rows: list[tuple[SoundRow, TrainingLabels]]  # the sounds to write and their labels
    unlabelled: int  # sounds left out: their uploader tags hold no vocabulary tag


def plan_training_rows(store: TagStore, rows: list[SoundRow], labels: str) -> TrainingPlan:
    """Each row's training labels; sounds labelled by their uploader with no vocabulary tag are
    left out (as COALA left them out), final labels are kept even when empty."""
    originals: dict[int, tuple[str, ...]] = {}
    if labels != "final":
        sounds = store.get_sounds([r.id for r in rows])
        originals = {i: s.original_tags for i, s in sounds.items()}
    planned = [(r, training_labels(r, originals.get(r.id, ()), labels)) for r in rows]
    kept = [(r, t) for r, t in planned if t.origin == "final" or t.tags]
    return TrainingPlan(kept, len(planned) - len(kept))


def _coala_summary(written: list[tuple[SoundRow, TrainingLabels]], out: Path | None,
                   skipped: list, plan: TrainingPlan, labels: str) -> ExportSummary:
    vocab = set(load_vocabulary())
    origins: dict[str, int] = {}
    for _, t in written:
        origins[t.origin] = origins.get(t.origin, 0) + 1
    return ExportSummary(len(written), sum(len(set(t.tags) & vocab) for _, t in written), out,
                         "coala-h5", skipped, labels, origins,
                         sum(t.unmapped for _, t in written), plan.unlabelled)


def _write_jsonl(store: TagStore, params: dict, path: Path) -> tuple[int, int]:
    """One JSON object per line, serialized by DuckDB (to_json) in the column order above."""
    rows = store.read_sql(queries.EXPORT_JSONL, params)  # (json text, number of final labels)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(text + "\n" for text, _ in rows)
    return len(rows), sum(n for _, n in rows)


def _write_csv(store: TagStore, params: dict, path: Path) -> tuple[int, int]:
    """A header row, then one row per sound; list columns are JSON strings."""
    rows = store.read_sql(queries.EXPORT_CSV, params)  # the columns, then the label count
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([spreadsheet_safe(cell) for cell in r[:-1]] for r in rows)
    return len(rows), sum(r[-1] for r in rows)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """Text a spreadsheet would run as a formula (a remote name like '=HYPERLINK(...)') gets a
    leading apostrophe, as OWASP advises for CSV files; every other cell is left as it is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _write_parquet(store: TagStore, params: dict, path: Path) -> tuple[int, int]:
    table = store.read_sql(queries.EXPORT_ROWS, params, arrow=True).cast(PARQUET_SCHEMA)
    pq.write_table(table, path)
    return table.num_rows, int(pc.sum(pc.list_value_length(table["final"])).as_py() or 0)


WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}


def _missing_audio(row: SoundRow) -> str | None:
    return missing_audio(row.audio_path)


def _write_coala(plan: TrainingPlan, tmp: Path, out: Path, progress: Progress | None,
                 labels: str) -> ExportSummary:
    """The plan's rows through core.dataset's writer: a sound's clip id is its Freesound id,
    else minus its store id."""
    rows = [AudioRow(r.freesound_id if r.source == "freesound" and r.freesound_id else -r.id,
                     r.audio_path, t.tags, r.id) for r, t in plan.rows]
    left_out = write_audio_rows(tmp, rows, progress)
    skipped = [(plan.rows[i][0].id, why) for i, why in left_out.items()]
    written = [planned for i, planned in enumerate(plan.rows) if i not in left_out]
    return _coala_summary(written, out, skipped, plan, labels)
