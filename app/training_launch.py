"""What the training page adds to starting a run (core/runs.py does the starting, listing, stopping
and resuming): a visitor may only train on files the page offers and fine-tune models of the
registry, never on a path typed in. No widgets in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.places import inside
from core.runs import RunError, RunSpec, check_new_run, start_run

DATA_SUFFIXES = (".h5", ".hdf5")
COALA_NAMES = ("spec_tags_top_1000", "spec_tags_top_1000_val")  # the COALA files have no suffix


@dataclass(frozen=True)
class LaunchPlaces:
    """Where a run started from the app may read and write: the project's and the settings'
    folders, never a path typed by a visitor."""
    runs: Path  # run folders are made in here ($TAGGER_RUNS, else runs/)
    data: tuple[Path, ...]  # training and validation files must lie under one of these
    models: Path  # a model to fine-tune must be a directory in here


def check_launch(spec: RunSpec, places: LaunchPlaces) -> Path:
    """The run folder for `spec`, after checking its files lie in `places`; raises RunError."""
    check_places(spec, places)
    return check_new_run(spec, places.runs)


def check_places(spec: RunSpec, places: LaunchPlaces) -> None:
    for label, path in (("training data", spec.data), ("validation data", spec.val)):
        if path and not inside(path, places.data):
            raise RunError(f"The {label} must be a file the page offers (under "
                           f"{', '.join(map(str, places.data))}); {path} is not.")
    if spec.init_from and not _a_model_in(spec.init_from, places):
        raise RunError(f"The model to start from must be a model directory in {places.models}; "
                       f"{spec.init_from} is not.")
    for teacher in spec.teachers:
        if not _a_model_in(teacher, places):
            raise RunError(f"A teacher must be a model directory in {places.models}; {teacher} is not.")


def _a_model_in(path: str, places: LaunchPlaces) -> bool:
    return inside(path, [places.models]) and Path(path).is_dir()


def start_from_page(spec: RunSpec, places: LaunchPlaces) -> Path:
    """Check the places, then start the run detached (core.runs.start_run); returns its folder."""
    check_places(spec, places)
    return start_run(spec, places.runs)


def data_files(*roots: Path, limit: int = 50) -> list[Path]:
    """COALA HDF5 files in the given folders and their subfolders (newest first), for the picker."""
    found: set[Path] = set()
    for root in map(Path, roots):
        if root.is_dir():
            candidates = [*root.glob("*"), *root.glob("*/*")]  # two levels: cheap on every rerun
            found.update(p for p in candidates if p.is_file() and (
                p.suffix.lower() in DATA_SUFFIXES or p.name in COALA_NAMES))
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
