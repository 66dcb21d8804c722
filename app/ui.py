"""Widgets shared by the pages: remote text as text, score bars, sound cards, spectrograms.

Every key is built from the page prefix and the sound id, so cards never collide.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import streamlit as st

from app.spectrogram import compute_spectrogram, spectrogram_png
from app.text import escape_markdown, shorten
from core.audio import AudioError, load_audio
from core.store import Sound

AUDIO_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
              ".opus": "audio/ogg", ".mp3": "audio/mpeg"}


def literal(text: object, *, one_line: bool = True) -> None:
    """Remote text (names, descriptions, user names, tags) shown exactly as it is."""
    st.markdown(escape_markdown(text, one_line=one_line))


def score_bar(tag: str, score: float, note: str = "") -> None:
    """A labelled bar from 0 to 1; the label is escaped (tags may be typed by people)."""
    label = f"{escape_markdown(tag)} · {score:.2f}" + (f" · {note}" if note else "")
    st.progress(min(max(float(score), 0.0), 1.0), text=label)


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
        facts.append(f"licence: {escape_markdown(shorten(sound.license, 80))}")
    st.caption(" · ".join(facts))
    if sound.freesound_id:
        st.link_button("Open on Freesound", f"https://freesound.org/s/{int(sound.freesound_id)}/",
                       icon=":material/open_in_new:")
    if sound.description:
        st.caption(escape_markdown(shorten(sound.description, 240)))


def audio_player(path: str | None) -> bool:
    if not path or not Path(path).is_file():
        st.caption("The audio file is not in the library (it was moved or never kept).")
        return False
    st.audio(path, format=audio_mime(path))
    return True


@st.cache_data(max_entries=300, show_spinner=False)
def _stored_spectrogram(sound_id: int, path: str, mtime: float, patch_start: int | None) -> bytes:
    """PNG of a stored sound's spectrogram, cached per sound id and file mtime."""
    audio = load_audio(path)
    return spectrogram_png(compute_spectrogram(audio.samples, patch_start))


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
