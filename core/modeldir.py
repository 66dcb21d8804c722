"""A model directory carries everything needed to use a model, and nothing is unpickled:

    weights.safetensors   state dict
    config.json           name, version, preset, dims, feature constants, embedding (optional:
                          which layer and its size; derived from the dims when absent)
    vocabulary.json       id2token of the outputs
    scaler.json           the feature scaler
    metrics.json          evaluation figures (optional)
    thresholds.json       per-tag thresholds calibrated on validation (optional; core.thresholds)
    lineage.json          where it came from: base model, data, date, figures (core.registry)
    MODEL_CARD.md         what it is, how it was trained, what it does not know
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.features import FEATURE_CONSTANTS, Scaler, default_scaler
from core.files import write_json
from core.model import EMBEDDING_LAYER, ModelDims, TaggerCNN, TaggerEnsemble, build_model
from core.registry import CONFIG, METRICS, WEIGHTS, active_model
from core.thresholds import Thresholds, load_thresholds
from core.vocabulary import load_vocabulary

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "default"
VOCAB, SCALER, CARD = "vocabulary.json", "scaler.json", "MODEL_CARD.md"


class ModelNotFoundError(Exception):
    """No trained model at the given path."""


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which layer's output is a sound's embedding, and its size (one float per unit)."""

    layer: str  # module path in TaggerCNN (core.model.EMBEDDING_LAYER: the penultimate layer)
    size: int  # floats per embedding (the `hidden` width, times the networks of an ensemble)

    @classmethod
    def of(cls, dims: ModelDims) -> EmbeddingSpec:
        layer = EMBEDDING_LAYER if dims.members == 1 else f"members.*.{EMBEDDING_LAYER}, side by side"
        return cls(layer, dims.embedding_size)


@dataclass
class ModelInfo:
    name: str  # short name, e.g. "compact-rendered"
    version: str  # e.g. a date or a run id
    preset: str  # a core.model preset name, or "custom"
    dims: ModelDims
    features: dict = field(default_factory=lambda: dict(FEATURE_CONSTANTS))
    trained_on: str = ""  # one line on the training data

    @property
    def embedding(self) -> EmbeddingSpec:
        """Always the penultimate layer; config.json names it (older directories: derived)."""
        return EmbeddingSpec.of(self.dims)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass
class LoadedModel:
    model: TaggerCNN | TaggerEnsemble
    info: ModelInfo
    vocabulary: tuple[str, ...]
    scaler: Scaler
    metrics: dict
    card: str
    path: Path
    thresholds: Thresholds | None = None  # per-tag thresholds; None: scores are used raw


def default_model_dir() -> Path:
    """The active model: $TAGGER_MODEL, else the promoted one, else models/default (core.registry)."""
    return active_model().path


def save_model_dir(out: str | Path, model: TaggerCNN | TaggerEnsemble, info: ModelInfo, *, card: str,
                   metrics: dict | None = None, vocabulary: tuple[str, ...] | None = None,
                   scaler: Scaler | None = None) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS))
    config = {"name": info.name, "version": info.version, "preset": info.preset,
              "dims": info.dims.to_dict(), "features": info.features, "trained_on": info.trained_on,
              "embedding": asdict(info.embedding)}
    write_json(out / CONFIG, config)
    vocabulary = vocabulary or load_vocabulary()
    write_json(out / VOCAB, {str(i): t for i, t in enumerate(vocabulary)})
    write_json(out / SCALER, (scaler or default_scaler()).to_dict())
    if metrics is not None:
        write_json(out / METRICS, metrics)
    (out / CARD).write_text(card)
    return out


def read_model_info(path: str | Path) -> ModelInfo:
    """A model directory's config (name, version, preset, dims, features), without the weights."""
    path = Path(path)
    if not (path / WEIGHTS).is_file() or not (path / CONFIG).is_file():
        raise ModelNotFoundError(
            f"No trained model at {path} (expected {WEIGHTS} and {CONFIG}). "
            "Train one with `python -m core train` and `python -m core export-model`, "
            "or point --model / TAGGER_MODEL at a model directory.")
    config = json.loads((path / CONFIG).read_text())
    info = ModelInfo(config["name"], config["version"], config["preset"],
                     ModelDims.from_dict(config["dims"]), config.get("features", {}),
                     config.get("trained_on", ""))
    stated = config.get("embedding")
    if stated is not None and EmbeddingSpec(**stated) != info.embedding:
        raise ValueError(f"Model at {path}: config.json names the embedding {stated}, but this "
                         f"program takes {asdict(info.embedding)} from the model's dims")
    return info


def load_model_dir(path: str | Path | None = None, device: str | torch.device = "cpu") -> LoadedModel:
    path = Path(path) if path else default_model_dir()
    info = read_model_info(path)
    _check_features(info.features, path)
    model = build_model(info.dims)
    model.load_state_dict(load_file(str(path / WEIGHTS), device="cpu"))
    model.to(device).eval()
    vocabulary = load_vocabulary(path / VOCAB)
    scaler = Scaler.from_json(path / SCALER)
    metrics = json.loads((path / METRICS).read_text()) if (path / METRICS).is_file() else {}
    card = (path / CARD).read_text() if (path / CARD).is_file() else ""
    return LoadedModel(model, info, vocabulary, scaler, metrics, card, path,
                       load_thresholds(path, vocabulary))


def write_metrics(path: str | Path, metrics: dict) -> None:
    write_json(Path(path) / METRICS, metrics)


def _check_features(features: dict, path: Path) -> None:
    differing = {k: (v, FEATURE_CONSTANTS[k]) for k, v in features.items()
                 if k in FEATURE_CONSTANTS and FEATURE_CONSTANTS[k] != v}
    if differing:
        raise ValueError(f"Model at {path} was trained with other feature settings: {differing}")

