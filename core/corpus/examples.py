"""Sounds the bundled model was not built from, for the generalisation check in its model card:
notes from the TimGM6mb soundfont (no training pool uses it), CC0 samples from Debian's
sonic-pi-samples, and espeak-ng phrases in voices no pool of sources.toml uses.

    python -m core.corpus.examples OUT_DIR     # writes the files, prints their paths
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import soundfile as sf

from core.audio import SAMPLE_RATE, to_mono_22k
from core.corpus.catalog import load_catalog
from core.corpus.fluid import FluidPart, NoteEvent, render_parts
from core.corpus.speech import SpeechPart, render_speech

TIMGM6MB = "/usr/share/sounds/sf2/TimGM6mb.sf2"
TIMGM_NOTES = (("piano", 0, 60), ("trumpet", 56, 67), ("violin", 40, 69), ("nylon_guitar", 24, 55))
SONIC_PI = Path("/usr/share/sonic-pi/samples")
SONIC_PI_SAMPLES = ("drum_snare_hard", "bd_haus", "drum_cymbal_closed", "drum_cowbell", "elec_beep",
                    "ambi_piano", "guit_harmonics", "loop_amen")  # all CC0 (see the package's copyright)
UNUSED_VOICES = (("en-us", "m8", "the weather will be fine tomorrow morning"),
                 ("en", "steph3", "please close the door when you leave"))


def write_examples(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _timgm_notes(out) + _sonic_pi(out) + _voices(out)


def _timgm_notes(out: Path) -> list[Path]:
    parts = [FluidPart(TIMGM6MB, 0, program, 0, (NoteEvent(0, 1200, key, 100),), 2000)
             for _, program, key in TIMGM_NOTES]
    paths = []
    for (name, _, _), clip in zip(TIMGM_NOTES, render_parts(parts, SAMPLE_RATE), strict=True):
        paths.append(out / f"timgm6mb_{name}_note.wav")
        sf.write(paths[-1], clip / max(1e-9, float(abs(clip).max())) * 0.8, SAMPLE_RATE)
    return paths


def _sonic_pi(out: Path) -> list[Path]:
    paths = []
    for name in SONIC_PI_SAMPLES:
        src = SONIC_PI / f"{name}.flac"
        if src.is_file():
            paths.append(Path(shutil.copy(src, out / f"sonicpi_{name}.flac")))
    return paths


def _voices(out: Path) -> list[Path]:
    used = {v for pool in load_catalog().pools.values() for v in pool.voices}
    paths = []
    for language, variant, text in UNUSED_VOICES:
        assert variant not in used, f"voice {variant} is used by a corpus pool"
        audio, rate = render_speech(SpeechPart(text, language, variant, 160, 50))
        paths.append(out / f"espeak_{language}_{variant}.wav")
        sf.write(paths[-1], to_mono_22k(audio, rate), SAMPLE_RATE)
    return paths


if __name__ == "__main__":
    for path in write_examples(sys.argv[1] if len(sys.argv) > 1 else "build/examples"):
        print(path)
