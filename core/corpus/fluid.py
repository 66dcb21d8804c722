"""FluidSynth rendering in batches: many parts, one MIDI file and one fluidsynth run per soundfont.

Loading a soundfont costs up to a few seconds, so a batch lays its parts end to end with a silent
gap, renders once, and cuts the result back into clips.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from core.corpus.midi import MidiTrack

GAP_MS = 1500  # silence between parts, longer than any release tail we keep
FLUID_GAIN = 0.4  # fluidsynth master gain; clips are normalised afterwards anyway
FLUID_TIMEOUT_S = 600


class RenderError(RuntimeError):
    """An external renderer failed; the message carries its own error output."""


@dataclass(frozen=True)
class NoteEvent:
    start_ms: float  # onset from the start of the part
    duration_ms: float  # key held for this long
    key: int  # MIDI key 0-127
    velocity: int  # 1-127


@dataclass(frozen=True)
class FluidPart:
    soundfont: str  # path of the .sf2/.sf3 file
    bank: int  # preset bank (128 for General MIDI drum kits)
    program: int  # preset number
    channel: int  # MIDI channel; 9 is the General MIDI drum channel
    notes: tuple[NoteEvent, ...]  # what is played
    length_ms: float  # length of the clip cut from the render (notes plus release)


def render_parts(parts: list[FluidPart], rate: int) -> list[np.ndarray]:
    """Render every part; returns mono float32 clips at `rate`, in the order of `parts`."""
    by_font: dict[str, list[int]] = defaultdict(list)
    for i, part in enumerate(parts):
        by_font[part.soundfont].append(i)
    clips: list[np.ndarray | None] = [None] * len(parts)
    for font, idx in by_font.items():
        for i, clip in zip(idx, _render_font(font, [parts[i] for i in idx], rate), strict=True):
            clips[i] = clip
    return clips


def _layout(parts: list[FluidPart]) -> tuple[MidiTrack, list[int]]:
    track, offsets, now = MidiTrack(), [], 0
    for part in parts:
        track.program(now, part.channel, part.program, part.bank)
        for note in part.notes:
            track.note(now + 5 + note.start_ms, note.duration_ms, part.channel, note.key, note.velocity)
        track.silence(now + part.length_ms, part.channel)
        offsets.append(now + 5)
        now += int(part.length_ms) + GAP_MS
    return track, offsets


def _render_font(font: str, parts: list[FluidPart], rate: int) -> list[np.ndarray]:
    track, offsets = _layout(parts)
    with tempfile.TemporaryDirectory(prefix="fluid-") as tmp:
        mid, wav = Path(tmp) / "batch.mid", Path(tmp) / "batch.wav"
        track.write(mid)
        cmd = ["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(FLUID_GAIN),
               "-r", str(rate), "-O", "float", "-F", str(wav), font, str(mid)]
        try:
            subprocess.run(cmd, capture_output=True, timeout=FLUID_TIMEOUT_S, check=True)
        except subprocess.CalledProcessError as e:
            message = e.stderr.decode(errors="replace")[-500:]
            raise RenderError(f"fluidsynth failed on {font}: {message}") from e
        except subprocess.TimeoutExpired as e:
            raise RenderError(f"fluidsynth took longer than {FLUID_TIMEOUT_S} s on {font}") from e
        audio, got_rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if got_rate != rate:
        raise RenderError(f"fluidsynth wrote {got_rate} Hz, asked for {rate} Hz")
    mono = audio.mean(axis=1)  # (n,)
    clips = []
    for start_ms, part in zip(offsets, parts, strict=True):
        a, n = int(start_ms * rate / 1000), int(part.length_ms * rate / 1000)
        clip = np.zeros(n, np.float32)
        piece = mono[a:a + n]
        clip[: len(piece)] = piece
        clips.append(clip)
    return clips
