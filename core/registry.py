"""The model registry: the model directories in `models/`, where each came from, and which is active.

    models/
      default/          the bundled model (committed)
      improved-.../     made by `python -m core improve` or `export-model`, each with lineage.json
      ACTIVE            one line: the folder name of the active model (`python -m core promote NAME`)

The active model is, in order: $TAGGER_MODEL when set (it overrides everything, as before); else
the model ACTIVE names, when that directory still holds a model; else `default`, with a note
saying the promoted model is gone. The CLI, the feed and the app all ask `active_model()` (through
core.modeldir.default_model_dir), so a promotion takes effect at their next model load, without a
restart. Light on purpose: no torch, so `python -m core models` starts fast.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.files import write_atomic, write_json
from core.settings import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NAME = "default"  # the bundled model's folder, the fallback
ACTIVE = "ACTIVE"  # pointer file in the models folder
LINEAGE = "lineage.json"  # in a model directory: where it came from
WEIGHTS, CONFIG, METRICS = "weights.safetensors", "config.json", "metrics.json"
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # a plain folder name


class RegistryError(Exception):
    """A model that cannot be promoted or found; the message says why and what to do."""


@dataclass(frozen=True)
class ActiveModel:
    path: Path  # the model directory in use
    source: str  # "environment" ($TAGGER_MODEL), "promoted" (ACTIVE) or "default"
    note: str | None = None  # why the promoted model is not used, when it is not

    @property
    def name(self) -> str:
        return self.path.name


def models_root() -> Path:
    """$TAGGER_MODELS, else the parent of $TAGGER_MODEL when set, else models/ (core.settings)."""
    return settings().models_dir


def runs_root() -> Path:
    """Where training runs live: $TAGGER_RUNS, else runs/ in the project (core.settings)."""
    return settings().runs_dir


def is_model_dir(path: Path) -> bool:
    return (path / WEIGHTS).is_file() and (path / CONFIG).is_file()


def promoted_name(root: Path | None = None) -> str | None:
    """The name ACTIVE holds, or None (no file, or nothing usable in it)."""
    try:
        name = (Path(root or models_root()) / ACTIVE).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if MODEL_NAME.match(name) else None


def active_model() -> ActiveModel:
    env = settings().model
    if env:
        return ActiveModel(env, "environment")
    root = models_root()
    default = root / DEFAULT_NAME
    name = promoted_name(root)
    if name is None or name == DEFAULT_NAME:
        return ActiveModel(default, "default" if name is None else "promoted")
    if is_model_dir(root / name):
        return ActiveModel(root / name, "promoted")
    return ActiveModel(default, "default", (
        f"the promoted model '{name}' is no longer in {root} (its {ACTIVE} file names it); "
        f"using {default} instead. `python -m core models` lists the others, "
        "`python -m core promote NAME` picks one."))


def promote(name: str, root: Path | None = None) -> Path:
    """Make models/NAME the active model (written atomically); returns its directory."""
    root = Path(root or models_root())
    if not MODEL_NAME.match(name or ""):
        raise RegistryError(f"{name!r} is not a model name: give the folder name of a model in "
                            f"{root} (`python -m core models` lists them)")
    path = root / name
    if not is_model_dir(path):
        raise RegistryError(f"no model '{name}' in {root} (expected {WEIGHTS} and {CONFIG} in "
                            f"{path}); `python -m core models` lists the models there")
    write_atomic(root / ACTIVE, name + "\n")
    return path


def discard(name: str, root: Path | None = None) -> None:
    """Delete models/NAME: never the active model, never the bundled default."""
    root = Path(root or models_root())
    path = root / name
    if not MODEL_NAME.match(name or "") or not is_model_dir(path):
        raise RegistryError(f"no model '{name}' in {root}")
    if name == DEFAULT_NAME:
        raise RegistryError(f"{path} is the bundled model, the fallback of every other: it stays")
    if active_model().path.resolve() == path.resolve():
        raise RegistryError(f"{name} is the active model: promote another before discarding it")
    shutil.rmtree(path)


# --- lineage ----------------------------------------------------------------------------------------
def write_lineage(model_dir: str | Path, lineage: dict) -> dict:
    """Record where the model came from (base model, data, date, figures) in lineage.json."""
    record = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), **lineage}
    write_json(Path(model_dir) / LINEAGE, record)
    return record


def read_lineage(model_dir: str | Path) -> dict:
    """lineage.json, or what config.json says for a model made before lineage was recorded."""
    path = Path(model_dir)
    record = _read_json(path / LINEAGE)
    if record:
        return record
    config = _read_json(path / CONFIG)
    return {"created_at": config.get("version", ""), "base_model": None,
            "trained_on": config.get("trained_on", ""), "made_by": "unknown (no lineage.json)"}


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


# --- the list ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegisteredModel:
    name: str  # folder name
    path: Path  # the model directory
    active: bool  # the one the CLI, feed and app use now
    lineage: dict  # lineage.json (or what config.json says)
    figures: dict[str, float]  # evaluation label -> PR-AUC macro (test files, held-out store sounds)


def list_registered(root: Path | None = None) -> list[RegisteredModel]:
    """Every model directory in the models folder, the active one first, then newest first."""
    root = Path(root or models_root())
    if not root.is_dir():
        return []
    active = active_model().path.resolve()
    found = [RegisteredModel(p.name, p, p.resolve() == active, read_lineage(p), figures(p))
             for p in sorted(root.iterdir()) if p.is_dir() and is_model_dir(p)]
    found.sort(key=lambda m: str(m.lineage.get("created_at", "")), reverse=True)
    return sorted(found, key=lambda m: not m.active)


def figures(model_dir: Path) -> dict[str, float]:
    """PR-AUC macro per evaluation: the lineage's own figures (labelled as its maker named them),
    else every evaluation in metrics.json (by data file name)."""
    recorded = _read_json(model_dir / LINEAGE).get("figures") or {}
    out = {k: v for k, v in recorded.items() if isinstance(v, int | float)}
    if out:
        return out
    metrics = _read_json(model_dir / METRICS)
    return {name: entry["pr_auc_macro"] for name, entry in (metrics.get("evaluations") or {}).items()
            if isinstance(entry, dict) and isinstance(entry.get("pr_auc_macro"), int | float)}
