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
from core.features import HOP_LENGTH, N_MELS, PATCH_FRAMES, _hz_to_mel, _mel_to_hz, extract_patches

FRAME_S = HOP_LENGTH / SAMPLE_RATE  # seconds per spectrogram frame
FIG_SIZE = (7.0, 2.2)  # inches: a wide, low strip that fits on a card
DPI = 110
BACKGROUND = "#1f242c"  # the theme's secondary background (.streamlit/config.toml)
FOREGROUND = "#c9d1d9"  # axis text and ticks
PATCH_COLOUR = "#00e5ff"  # outline of the analysed patch
HZ_TICKS = (100, 250, 500, 1000, 2000, 4000, 8000)  # frequencies named on the y axis


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


def shown_frames(spec: Spectrogram) -> int:
    """Frames drawn: the sound's own, never the padding after a short one (which is only the
    zeros and faint noise COALA adds up to 10 s)."""
    return max(1, min(spec.logmel.shape[1], spec.audio_frames))


def hz_ticks(n_mels: int = N_MELS) -> tuple[list[float], list[str]]:
    """Positions on a mel-band axis (band i spans [i, i + 1]) of HZ_TICKS, and their labels."""
    top = _hz_to_mel(np.array([SAMPLE_RATE / 2]))[0]
    centres = _mel_to_hz(np.linspace(0.0, top, n_mels + 2))[1:-1]  # (n_mels,) band centres, Hz
    hz = [f for f in HZ_TICKS if centres[0] <= f <= centres[-1]]
    positions = np.interp(hz, centres, np.arange(n_mels) + 0.5)
    return [float(p) for p in positions], [f"{f // 1000}k" if f >= 1000 else str(f) for f in hz]


def patch_title(spec: Spectrogram) -> str:
    x0 = spec.patch_start * FRAME_S
    title = f"analysed patch: {x0:.2f}–{x0 + PATCH_FRAMES * FRAME_S:.2f} s (96 frames)"
    if spec.audio_frames < spec.patch_start + PATCH_FRAMES:
        title += (f"; the sound lasts {spec.audio_frames * FRAME_S:.2f} s, the rest of the patch "
                  "is padding")
    return title


def spectrogram_png(spec: Spectrogram) -> bytes:
    """A PNG strip: time in seconds, frequency in Hz on the mel scale, the analysed patch
    outlined and the rest dimmed."""
    end = shown_frames(spec)
    shown = spec.logmel[:, :end]  # (n_mels, shown frames)
    fig = Figure(figsize=FIG_SIZE, dpi=DPI, facecolor=BACKGROUND)
    ax = fig.add_subplot()
    extent = (0.0, end * FRAME_S, 0, shown.shape[0])
    ax.imshow(shown, origin="lower", aspect="auto", cmap="magma", extent=extent,
              vmin=np.percentile(shown, 5), vmax=shown.max())
    x0 = spec.patch_start * FRAME_S
    x1 = min(x0 + PATCH_FRAMES * FRAME_S, end * FRAME_S)  # the patch, within what is drawn
    ax.add_patch(Rectangle((x0, 0), x1 - x0, shown.shape[0], fill=False, edgecolor=PATCH_COLOUR,
                           linewidth=2.0))
    for lo, hi in ((0.0, x0), (x1, end * FRAME_S)):
        if hi > lo:
            ax.axvspan(lo, hi, color="black", alpha=0.35, linewidth=0)
    _style(ax)
    ax.set_title(patch_title(spec), fontsize=8, loc="left", color=FOREGROUND)
    fig.tight_layout(pad=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _style(ax) -> None:
    ax.set_xlabel("seconds", fontsize=8, color=FOREGROUND)
    ax.set_ylabel("Hz", fontsize=8, color=FOREGROUND)
    positions, labels = hz_ticks()
    ax.set_yticks(positions, labels)
    ax.tick_params(labelsize=7, colors=FOREGROUND)
    for spine in ax.spines.values():
        spine.set_color(FOREGROUND)
