"""The tagging CNN: one nn.Module built from a dimensions dataclass. Imports only torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn


@dataclass(frozen=True)
class ModelDims:
    n_mels: int = 96  # patch height (mel bands)
    n_frames: int = 96  # patch width (time frames)
    channels: tuple[int, ...] = (64, 128, 256, 256)  # conv block widths
    pools: tuple[int, ...] = (2, 2, 2, 3)  # max-pool size after each block
    hidden: int = 4096  # width of the hidden linear layer
    n_tags: int = 1000  # outputs, one per vocabulary tag
    dropout: float = 0.25  # dropout before the first linear layer
    members: int = 1  # networks of these dims averaged into one model (an ensemble when > 1)

    def __post_init__(self):
        assert len(self.channels) == len(self.pools), "one pool per conv block"
        assert self.members >= 1, "at least one network"

    @property
    def member(self) -> ModelDims:
        """The dims of each network of the model."""
        return replace(self, members=1)

    @property
    def embedding_size(self) -> int:
        """Floats per embedding: each network's penultimate layer, side by side."""
        return self.hidden * self.members

    @property
    def flat_features(self) -> int:
        h, w = self.n_mels, self.n_frames
        for p in self.pools:
            h, w = h // p, w // p
        return self.channels[-1] * h * w

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelDims:
        d = dict(d)
        d["channels"], d["pools"] = tuple(d["channels"]), tuple(d["pools"])
        return cls(**d)


PRESETS: dict[str, ModelDims] = {
    # The course project's CNN: 21,839,466 parameters.
    "course": ModelDims(),
    # Same structure, narrow enough to train in minutes on 2 CPU cores: 8 channels in the first
    # block (the full-resolution one, which dominates CPU time) train about 2.5 times faster than
    # 16 (measured: ~350-400 against ~140 samples/s on the 2-core machine, loader included).
    "compact": ModelDims(channels=(8, 16, 32, 128), hidden=512),
}


# The embedding is the output of head[:EMBEDDING_END] (flatten, dropout, linear, ReLU): the
# penultimate layer, `dims.hidden` wide. Named so in model directories (core.modeldir).
EMBEDDING_LAYER = "head.3"
EMBEDDING_END = 4


def conv_block(c_in: int, c_out: int, pool: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True), nn.MaxPool2d(pool))


class TaggerCNN(nn.Module):
    def __init__(self, dims: ModelDims):
        super().__init__()
        assert dims.members == 1, "several networks make a TaggerEnsemble (build_model)"
        self.dims = dims
        self.input_norm = nn.BatchNorm2d(1)
        widths = (1, *dims.channels)
        self.blocks = nn.Sequential(*(conv_block(widths[i], widths[i + 1], p)
                                      for i, p in enumerate(dims.pools)))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dims.dropout),
                                  nn.Linear(dims.flat_features, dims.hidden), nn.ReLU(inplace=True),
                                  nn.Linear(dims.hidden, dims.n_tags))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_mels, n_frames) scaled patches -> (batch, n_tags) logits."""
        return self.forward_with_embedding(x)[1]

    def forward_with_embedding(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, n_mels, n_frames) -> ((batch, hidden) embeddings, (batch, n_tags) logits).

        The embedding is the penultimate layer (EMBEDDING_LAYER: the ReLU after the hidden
        linear layer), which the logits are computed from: no extra work beyond forward().
        """
        x = self.input_norm(x.unsqueeze(1))  # (batch, 1, n_mels, n_frames)
        x = self.blocks(x)  # (batch, channels[-1], 4, 4)
        hidden = self.head[:EMBEDDING_END](x)  # (batch, hidden)
        return hidden, self.logits_from_embedding(hidden)

    def logits_from_embedding(self, hidden: torch.Tensor) -> torch.Tensor:
        """(batch, hidden) embeddings -> (batch, n_tags) logits: the layers after the embedding."""
        return self.head[EMBEDDING_END:](hidden)

    def feature_layers(self) -> list[nn.Module]:
        """The layers before the head (input norm and conv blocks): what a head-only fine-tune
        keeps as it is."""
        return [self.input_norm, self.blocks]


class TaggerEnsemble(nn.Module):
    """Several TaggerCNNs of the same dims (runs of one recipe from other seeds) as one model: the
    logits are the mean of theirs, the embedding is theirs side by side. Same interface as
    TaggerCNN, so the tagger, evaluation, distillation and fine-tuning take either.

    Why: runs of one recipe disagree most where their labels are thin; the mean of four gained
    0.04 rendered PR-AUC and 0.03 recorded top-5 over single runs (README, "The bundled model")."""

    def __init__(self, dims: ModelDims):
        super().__init__()
        self.dims = dims
        self.members = nn.ModuleList(TaggerCNN(dims.member) for _ in range(dims.members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(dim=0)

    def forward_with_embedding(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, n_mels, n_frames) -> ((batch, members x hidden), (batch, n_tags) mean logits)."""
        hidden, logits = zip(*(m.forward_with_embedding(x) for m in self.members), strict=True)
        return torch.cat(hidden, dim=1), torch.stack(logits).mean(dim=0)

    def logits_from_embedding(self, hidden: torch.Tensor) -> torch.Tensor:
        parts = hidden.split(self.dims.hidden, dim=1)
        return torch.stack([m.logits_from_embedding(h) for m, h in
                            zip(self.members, parts, strict=True)]).mean(dim=0)

    def feature_layers(self) -> list[nn.Module]:
        return [layer for m in self.members for layer in m.feature_layers()]


def build_model(preset_or_dims: str | ModelDims) -> TaggerCNN | TaggerEnsemble:
    dims = PRESETS[preset_or_dims] if isinstance(preset_or_dims, str) else preset_or_dims
    return TaggerEnsemble(dims) if dims.members > 1 else TaggerCNN(dims)


def ensemble_of(models: list[TaggerCNN]) -> TaggerCNN | TaggerEnsemble:
    """One model from trained networks of the same dims: the network itself when there is one."""
    dims = {m.dims for m in models}
    if len(dims) != 1:
        raise ValueError("the networks of an ensemble must share their dims (preset): "
                         + ", ".join(sorted(str(d) for d in dims)))
    if len(models) == 1:
        return models[0]
    ensemble = TaggerEnsemble(replace(models[0].dims, members=len(models)))
    for member, model in zip(ensemble.members, models, strict=True):
        member.load_state_dict(model.state_dict())
    return ensemble


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
