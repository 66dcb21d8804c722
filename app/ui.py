"""Widgets shared by the pages: remote text as text, score bars, sound cards, spectrograms.

Every key is built from the page prefix and the sound id, so cards never collide.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

import streamlit as st

from app.spectrogram import compute_spectrogram, spectrogram_png
from app.text import escape_markdown, shorten
from core.audio import AudioError, load_audio
from core.store import Sound

CC_LICENCE = re.compile(r"creativecommons\.org/(publicdomain/zero|licenses/([a-z+-]+))/(\d\.\d)",
                        re.IGNORECASE)
AUDIO_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
              ".opus": "audio/ogg", ".mp3": "audio/mpeg"}


def literal(text: object, *, one_line: bool = True) -> None:
    """Remote text (names, descriptions, user names, tags) shown exactly as it is."""
    st.markdown(escape_markdown(text, one_line=one_line))


def score_bar(tag: str | None, score: float, note: str = "") -> None:
    """A bar from 0 to 1 labelled with the score (and the tag when given, escaped)."""
    parts = ([escape_markdown(tag)] if tag else []) + [f"{score:.2f}"] + ([note] if note else [])
    st.progress(min(max(float(score), 0.0), 1.0), text=" · ".join(parts))


def audio_mime(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    return AUDIO_MIME.get(ext) or mimetypes.guess_type(str(path))[0] or "audio/wav"


def bind_shared(key: str, shared: str) -> None:
    """Copy a shared session value into a page's widget key before the widget is drawn.

    Streamlit forgets a widget's state on pages where it is not drawn, so shared settings live
    under their own key; pages draw widgets with `on_change=store_shared, args=(key, shared)`.
    """
    st.session_state[key] = st.session_state[shared]


def store_shared(key: str, shared: str) -> None:
    st.session_state[shared] = st.session_state[key]


def threshold_slider(page: str) -> float:
    key = f"{page}_threshold"
    bind_shared(key, "threshold")
    return st.slider("Score threshold", 0.05, 0.95, step=0.05, key=key,
                     on_change=store_shared, args=(key, "threshold"),
                     help="A predicted tag at or above this score counts as a label.")


def sound_header(sound: Sound) -> None:
    """Name, uploader, licence and link: every remote field escaped."""
    st.markdown(f"**{escape_markdown(sound.name)}**")
    facts = [sound.source]
    if sound.username:
        facts.append(f"by {escape_markdown(sound.username)}")
    if sound.duration_s:
        facts.append(f"{sound.duration_s:.1f} s")
    if sound.license:
        facts.append(f"licence: {licence_label(sound.license)}")
    if sound.freesound_id:  # a link we build from the id, never the remote URL
        facts.append(f"[open on Freesound](https://freesound.org/s/{int(sound.freesound_id)}/)")
    st.caption(" · ".join(facts))
    if sound.description:
        st.caption(escape_markdown(shorten(sound.description, 240)))


def licence_label(licence: str) -> str:
    """A Creative Commons URL -> a short name linking to a URL we build; anything else, escaped."""
    match = CC_LICENCE.search(licence)
    if not match:
        return escape_markdown(shorten(licence, 80))
    path, kind, version = match.group(1).lower(), (match.group(2) or "").upper(), match.group(3)
    name = f"CC0 {version}" if path.startswith("publicdomain") else f"CC {kind} {version}"
    return f"[{escape_markdown(name)}](https://creativecommons.org/{path}/{version}/)"


def audio_player(path: str | None, duration_s: float | None = None) -> bool:
    if not path or not Path(path).is_file():
        st.caption("The audio file is not in the library (it was moved or never kept).")
        return False
    st.audio(path, format=audio_mime(path))
    short_sound_note(duration_s)
    return True


def short_sound_note(duration_s: float | None) -> None:
    """The browser's player counts whole seconds: a 0.45 s sound reads 0:00 / 0:00."""
    if duration_s is not None and 0 < duration_s < 1:
        st.caption(f"{duration_s:.2f} s long (the player rounds it down to 0:00)")


@st.cache_data(max_entries=300, show_spinner=False)
def _stored_spectrogram(sound_id: int, path: str, mtime: float, patch_start: int | None) -> bytes:
    """PNG of a stored sound's spectrogram, cached per sound id and file mtime."""
    audio = load_audio(path)
    return spectrogram_png(compute_spectrogram(audio.samples, patch_start))


@st.fragment
def spectrogram_on_demand(prefix: str, sound_id: int, path: str | None,
                          patch_start: int | None = None) -> None:
    """A card's spectrogram behind a closed expander: decoded, drawn and sent only once it is
    opened (a page of cards no longer computes ten PNGs; opening one reruns this alone)."""
    if not path or not Path(path).is_file():
        return
    with st.expander("Spectrogram", icon=":material/graphic_eq:", on_change="rerun",
                     key=f"{prefix}_{sound_id}_spectrogram") as box:
        if box.open:
            stored_spectrogram(sound_id, path, patch_start)


def stored_spectrogram(sound_id: int, path: str | None, patch_start: int | None = None) -> None:
    """Spectrogram of a library file with the analysed patch marked."""
    if not path or not Path(path).is_file():
        return
    try:
        png = _stored_spectrogram(sound_id, path, Path(path).stat().st_mtime, patch_start)
    except AudioError as e:
        st.caption(f"No spectrogram: {escape_markdown(e)}")
        return
    st.image(png, width="stretch")
