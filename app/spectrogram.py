"""The log-mel spectrogram the model computed, with the 96-frame patch it looked at marked.

Pure matplotlib (the object API, no pyplot state), so it is safe in Streamlit's threads.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from core.audio import SAMPLE_RATE
from core.features import HOP_LENGTH, PATCH_FRAMES, extract_patches

FRAME_S = HOP_LENGTH / SAMPLE_RATE  # seconds per spectrogram frame
FIG_SIZE = (7.0, 2.2)  # inches: a wide, low strip that fits on a card
DPI = 110
BACKGROUND = "#1f242c"  # the theme's secondary background (.streamlit/config.toml)
FOREGROUND = "#c9d1d9"  # axis text and ticks
PATCH_COLOUR = "#00e5ff"  # outline of the analysed patch


@dataclass(frozen=True)
class Spectrogram:
    logmel: np.ndarray  # (n_mels, frames) natural-log mel magnitudes of the padded clip
    patch_start: int  # first frame of the patch the model looked at
    audio_frames: int  # frames covered by the real audio (the rest is padding)


def compute_spectrogram(samples: np.ndarray, patch_start: int | None = None) -> Spectrogram:
    """Mono 22 kHz samples -> the log-mel and patch as the tagger computed them.

    `patch_start` (as stored with a sound's predictions) overrides the recomputed one.
    """
    feats = extract_patches([samples], keep_logmel=True)
    logmel = feats.logmels[0].numpy()  # (n_mels, frames)
    start = feats.starts[0] if patch_start is None else int(patch_start)
    return Spectrogram(logmel, start, 1 + len(samples) // HOP_LENGTH)


def spectrogram_png(spec: Spectrogram) -> bytes:
    """A PNG strip: time in seconds, mel bands, the analysed patch outlined and the rest dimmed."""
    end = min(spec.logmel.shape[1], max(spec.audio_frames, spec.patch_start + PATCH_FRAMES))
    shown = spec.logmel[:, :end]  # (n_mels, shown frames)
    fig = Figure(figsize=FIG_SIZE, dpi=DPI, facecolor=BACKGROUND)
    ax = fig.add_subplot()
    extent = (0.0, end * FRAME_S, 0, shown.shape[0])
    ax.imshow(shown, origin="lower", aspect="auto", cmap="magma", extent=extent,
              vmin=np.percentile(shown, 5), vmax=shown.max())
    x0, width = spec.patch_start * FRAME_S, PATCH_FRAMES * FRAME_S
    ax.add_patch(Rectangle((x0, 0), width, shown.shape[0], fill=False, edgecolor=PATCH_COLOUR,
                           linewidth=2.0))
    for lo, hi in ((0.0, x0), (x0 + width, end * FRAME_S)):
        if hi > lo:
            ax.axvspan(lo, hi, color="black", alpha=0.35, linewidth=0)
    _style(ax)
    ax.set_title(f"analysed patch: {x0:.2f}–{x0 + width:.2f} s (96 frames)", fontsize=8, loc="left",
                 color=FOREGROUND)
    fig.tight_layout(pad=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _style(ax) -> None:
    ax.set_xlabel("seconds", fontsize=8, color=FOREGROUND)
    ax.set_ylabel("mel band", fontsize=8, color=FOREGROUND)
    ax.tick_params(labelsize=7, colors=FOREGROUND)
    for spine in ax.spines.values():
        spine.set_color(FOREGROUND)
