"""Decode any supported audio file to mono float32 at the COALA rate (22,000 Hz)."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from core.resample import resample

SAMPLE_RATE = 22_000  # COALA loads at 22,000 Hz, not 22,050
MAX_SECONDS = 60.0  # longer files are analysed over their first minute only
MAX_FILE_BYTES = 512 * 1024 * 1024  # refuse anything larger outright
FFMPEG_TIMEOUT_S = 60

# Decoded by libsndfile (the soundfile wheel bundles it): no ffmpeg needed.
SOUNDFILE_EXTENSIONS = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff"}
# Decoded through ffmpeg when it is installed.
FFMPEG_EXTENSIONS = {".m4a", ".aac", ".mp4", ".wma", ".webm", ".mka", ".ac3", ".amr", ".caf"}
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS | FFMPEG_EXTENSIONS


class AudioError(Exception):
    """A file that cannot be turned into audio samples; the message says why."""


class UnsupportedFormatError(AudioError):
    pass


class EmptyAudioError(AudioError):
    pass


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # (n,) float32 mono at SAMPLE_RATE, finite
    source_rate: int  # sample rate of the file
    channels: int  # channel count of the file
    duration_s: float  # duration of the whole file
    truncated: bool  # True when only the first MAX_SECONDS were analysed

    @property
    def analysed_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def load_audio(path: str | Path, max_seconds: float = MAX_SECONDS) -> DecodedAudio:
    """Read a file, downmix to mono, resample to SAMPLE_RATE, keep at most `max_seconds`."""
    path = Path(path)
    _check_file(path)
    ext = path.suffix.lower()
    if ext in SOUNDFILE_EXTENSIONS or (ext not in FFMPEG_EXTENSIONS and _soundfile_knows(path)):
        data, rate, channels, duration = _read_soundfile(path, max_seconds)
    elif ext in FFMPEG_EXTENSIONS or shutil.which("ffmpeg"):
        data, rate, channels, duration = _read_ffmpeg(path, max_seconds)
    else:
        raise UnsupportedFormatError(f"Unsupported audio format '{ext or 'none'}': {path.name}")
    samples = to_mono_22k(data, rate)
    if samples.size == 0:
        raise EmptyAudioError(f"No audio samples in {path.name}")
    return DecodedAudio(samples, rate, channels, duration, truncated=duration > max_seconds + 1e-3)


def to_mono_22k(data: np.ndarray, rate: int) -> np.ndarray:
    """(n,) or (n, channels) float array at `rate` -> (m,) float32 mono at SAMPLE_RATE."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        # A matrix-vector product: several times faster than mean(axis=1) on (n, 2) arrays.
        data = data @ np.full(data.shape[1], 1.0 / data.shape[1], np.float32)  # (n,)
    if not np.isfinite(data.sum()):  # one cheap pass; NaN/inf would poison the resampler
        data = np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    if rate != SAMPLE_RATE and data.size:
        data = resample(data, rate, SAMPLE_RATE)  # COALA's kaiser_fast, see core/resample.py
    return np.ascontiguousarray(data, dtype=np.float32)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise AudioError(f"No such file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError(f"Empty file (0 bytes): {path.name}")
    if size > MAX_FILE_BYTES:
        raise AudioError(f"File too large ({size / 2**20:.0f} MiB > {MAX_FILE_BYTES // 2**20} MiB)")


def _soundfile_knows(path: Path) -> bool:
    try:
        sf.info(str(path))
        return True
    except Exception:
        return False


def _read_soundfile(path: Path, max_seconds: float):
    try:
        with sf.SoundFile(str(path)) as f:
            rate, channels, frames = f.samplerate, f.channels, f.frames
            if rate <= 0:
                raise AudioError(f"Invalid sample rate {rate} in {path.name}")
            wanted = int(max_seconds * rate)
            data = f.read(frames=min(frames, wanted) if frames > 0 else wanted, dtype="float32",
                          always_2d=True)
    except AudioError:
        raise
    except Exception as e:
        raise AudioError(f"Failed to decode {path.name}: {e}") from e
    duration = frames / rate if frames > 0 else len(data) / rate
    return data, rate, channels, duration


def _read_ffmpeg(path: Path, max_seconds: float):
    if not shutil.which("ffmpeg"):
        raise UnsupportedFormatError(
            f"Format '{path.suffix.lower()}' needs ffmpeg, which is not installed "
            f"(supported without it: {', '.join(sorted(SOUNDFILE_EXTENSIONS))})")
    # The file's own rate and channels, so the downmix and resampling are COALA's, not ffmpeg's.
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-t", str(max_seconds), "-i", str(path),
           "-f", "wav", "-acodec", "pcm_f32le", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=True)
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"Failed to decode {path.name}: {msg[-1] if msg else 'ffmpeg failed'}") from e
    except subprocess.TimeoutExpired as e:
        raise AudioError(f"Decoding {path.name} took longer than {FFMPEG_TIMEOUT_S} s") from e
    try:
        data, rate = sf.read(io.BytesIO(out.stdout), dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioError(f"Failed to decode {path.name}: ffmpeg gave no audio ({e})") from e
    return data, rate, data.shape[1], _ffprobe_duration(path, default=len(data) / rate)


def _ffprobe_duration(path: Path, default: float) -> float:
    if not shutil.which("ffprobe"):
        return default
    cmd = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=20, check=True, text=True)
        return float(out.stdout.strip())
    except (subprocess.SubprocessError, ValueError):
        return default


def find_audio_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders (recursively) into audio files, keeping files given by name as they are."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file()
                            and f.suffix.lower() in AUDIO_EXTENSIONS)
        else:
            found.append(p)
    return found
