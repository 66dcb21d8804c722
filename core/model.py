"""The tagging CNN: one nn.Module built from a dimensions dataclass. Imports only torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass

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

    def __post_init__(self):
        assert len(self.channels) == len(self.pools), "one pool per conv block"

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
        return hidden, self.head[EMBEDDING_END:](hidden)


def build_model(preset_or_dims: str | ModelDims) -> TaggerCNN:
    dims = PRESETS[preset_or_dims] if isinstance(preset_or_dims, str) else preset_or_dims
    return TaggerCNN(dims)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
