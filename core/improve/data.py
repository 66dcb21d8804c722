"""The data of an improvement run: the store's sounds as COALA files (weak, reviewed, validation,
held out) and the corpora the base model was trained and tested on, when they are still present."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.dataset import parse_data_spec
from core.improve.split import part_of
from core.registry import METRICS, PROJECT_ROOT, read_lineage
from core.settings import THRESHOLD
from core.store import TagStore
from core.store.export import ExportSummary, Progress, write_training_file
from core.store.models import SoundRow

# file -> (store part, reviewed sounds?, labels); None: reviewed and unreviewed alike
STORE_FILES = {"weak": ("train", False, "uploader"), "reviewed": ("train", True, "final"),
               "val": ("val", None, "both"), "heldout": ("heldout", None, "both")}


@dataclass(frozen=True)
class StoreData:
    files: dict[str, Path]  # name in STORE_FILES -> file written (left out when it holds no sound)
    summaries: dict[str, ExportSummary]  # name -> what was written
    parts: dict[int, str]  # store id -> "train", "val" or "heldout"


def split_store(store: TagStore, rows: list[SoundRow], holdout: float, val: float,
                seed: int) -> dict[int, str]:
    sounds = store.get_sounds([r.id for r in rows])
    return {r.id: part_of(sounds[r.id].content_hash, holdout, val, seed) for r in rows}


def write_store_files(store: TagStore, folder: Path, holdout: float, val: float, seed: int,
                      threshold: float = THRESHOLD, progress: Progress | None = None) -> StoreData:
    rows = store.label_rows(threshold=threshold)
    parts = split_store(store, rows, holdout, val, seed)
    files, summaries = {}, {}
    for name, (part, reviewed, labels) in STORE_FILES.items():
        chosen = [r for r in rows if parts[r.id] == part
                  and (reviewed is None or r.reviewed == reviewed)]
        if not chosen:
            continue
        path = Path(folder) / f"store-{name}.h5"
        summary = write_training_file(store, chosen, path, labels, progress)
        summaries[name] = summary
        if summary.rows:
            files[name] = path
        else:
            path.unlink(missing_ok=True)
    return StoreData(files, summaries, parts)


@dataclass(frozen=True)
class BaseCorpora:
    data: tuple[str, ...]  # training files of the base model ("PATH[:WEIGHT]"), those still present
    val: tuple[str, ...]  # its validation files, those still present
    test: dict[str, str]  # label -> test file, those still present
    missing: tuple[str, ...] = field(default=())  # files its lineage names that are gone


def base_corpora(model_dir: Path, data: list[str] | None = None, val: list[str] | None = None,
                 test: dict[str, str] | None = None) -> BaseCorpora:
    """What `model_dir` was trained, validated and tested on (its lineage.json, else the test files
    its metrics.json names); `data`, `val` and `test` replace them when given."""
    lineage = read_lineage(model_dir)
    given_data = list(data) if data is not None else list(lineage.get("data") or [])
    given_val = list(val) if val is not None else list(lineage.get("val") or [])
    given_test = dict(test) if test is not None else dict(lineage.get("test") or {}) or \
        _metrics_tests(model_dir)
    found_data = [_present(spec) for spec in given_data]
    found_val = [_present(v) for v in given_val]
    found_test = {k: _present(v) for k, v in given_test.items()}
    missing = [s for s, f in zip(given_data + given_val, found_data + found_val, strict=True)
               if f is None] + [v for k, v in given_test.items() if found_test[k] is None]
    return BaseCorpora(tuple(f for f in found_data if f), tuple(f for f in found_val if f),
                       {k: v for k, v in found_test.items() if v}, tuple(missing))


def _metrics_tests(model_dir: Path) -> dict[str, str]:
    try:
        metrics = json.loads((Path(model_dir) / METRICS).read_text())
    except (OSError, ValueError):
        return {}
    entries = (metrics.get("evaluations") or {}).items()
    return {Path(name).stem: str(e["data"]) for name, e in entries
            if isinstance(e, dict) and e.get("data")}


def _present(spec: str) -> str | None:
    """The spec with its path made absolute when the file exists (as given, or under the
    project folder, where `make model` writes relative paths from), else None."""
    path, weight = parse_data_spec(spec)
    for candidate in (Path(path), PROJECT_ROOT / path):
        if candidate.is_file():
            resolved = str(candidate.resolve())
            return resolved if spec == path else f"{resolved}:{weight:g}"
    return None
