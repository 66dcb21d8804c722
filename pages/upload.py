"""Upload and tag: files in, spectrogram, player and top tags out; keep a file and correct it."""

from __future__ import annotations

import streamlit as st

from app.account import account_panel
from app.resources import get_tagger, open_store
from app.settings import resolve_settings
from app.similar_panel import similar_panel
from app.spectrogram import compute_spectrogram, spectrogram_png
from app.tag_editor import row_styles, tag_editor
from app.text import escape_markdown
from app.ui import audio_mime, score_bar, short_sound_note, threshold_slider
from app.upload import (
    UPLOAD_LIMIT_MB,
    UPLOAD_TYPES,
    HeldUpload,
    UploadAnalysis,
    analyse_upload,
    analysed_part,
    hold_uploads,
    keep_upload,
    size_text,
)
from core.audio import MAX_SECONDS
from core.store import StoreError
from core.tagger import Tagger

MIN_SHOWN, MAX_SHOWN = 5, 10  # tags listed per file: all above the threshold, within these bounds

settings = resolve_settings()
st.session_state.setdefault("upload_analyses", {})  # (sha256, model) -> UploadAnalysis
st.session_state.setdefault("upload_held", {})  # sha256 -> HeldUpload, shown until cleared

st.title("Upload and tag")
row_styles()
st.caption(f"wav, flac, ogg, opus or mp3, at most {UPLOAD_LIMIT_MB} MB per file. Long files are "
           f"welcome: the first {MAX_SECONDS:.0f} s are analysed, and each result says which part.")

tagger, problem = get_tagger(settings.model_dir)
if tagger is None:
    st.warning(problem, icon=":material/warning:")
    st.stop()
store, store_problem = open_store(str(settings.db_path))
if store is None:
    st.error(f"Uploads are tagged, but cannot be kept in the library: "
             f"{escape_markdown(store_problem)}", icon=":material/error:")


@st.cache_data(max_entries=64, show_spinner=False)
def _spectrogram(sha256: str, patch_start: int, _samples) -> bytes:
    return spectrogram_png(compute_spectrogram(_samples, patch_start))


def analysis_for(sha256: str, upload: HeldUpload, tagger: Tagger) -> UploadAnalysis:
    """Tag each upload once per model; reruns (and visits to other pages) reuse the result."""
    cache = st.session_state["upload_analyses"]
    key = (sha256, tagger.model_label)
    if key not in cache:
        with st.spinner(f"Tagging {upload.name}…"):
            cache[key] = analyse_upload(tagger, upload)
    return cache[key]


def top_tags(a: UploadAnalysis, threshold: float) -> None:
    above = sum(1 for _, s in a.result.tags if s >= threshold)
    shown = a.result.tags[: min(max(above, MIN_SHOWN), MAX_SHOWN)]
    st.markdown(f"**Top tags** · {above} at or above {threshold:.2f}")
    for tag, score in shown:
        score_bar(tag, score, "" if score >= threshold else "below threshold")


def keep_or_edit(a: UploadAnalysis, data: bytes, threshold: float) -> None:
    """Not kept yet: the top tags and a button to keep it. Kept: its tags, to correct."""
    kept = store.find_sound(a.sha256)
    if kept is not None:
        st.success(f"In the library as sound #{kept.id}: corrections are saved at once.",
                   icon=":material/check_circle:")
        tag_editor(store, kept.id, "upload", slot=kept.id)  # a few kept uploads a session
        account_panel(store, kept, "upload", settings)
        similar_panel(store, settings.model_dir, f"upload_{a.sha256[:16]}", sound_id=kept.id,
                      threshold=threshold)
        return
    if st.button("Keep in library", key=f"upload_{a.sha256[:16]}_keep", type="primary",
                 icon=":material/library_add:",
                 help="Store the file and these predictions; then correct its tags."):
        sound_id, _ = keep_upload(store, a, data, settings.audio_dir, tagger.model_label)
        st.toast(f"Kept as sound #{sound_id}")
        st.rerun()
    top_tags(a, threshold)
    similar_panel(store, settings.model_dir, f"upload_{a.sha256[:16]}", vector=a.result.embedding,
                  threshold=threshold)


def show_upload(upload, a: UploadAnalysis, threshold: float) -> None:
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(a.name)}** · {size_text(a.size)}")
        if not a.ok:
            st.error(escape_markdown(a.error), icon=":material/block:")
            return
        left, right = st.columns([3, 2])
        with left:
            st.image(_spectrogram(a.sha256, a.result.patch_start, a.samples), width="stretch")
            st.audio(upload.getvalue(), format=audio_mime(upload.name))
            short_sound_note(a.result.duration_s)
            st.caption(analysed_part(a))
        with right:
            try:
                if store is None:
                    top_tags(a, threshold)
                else:
                    keep_or_edit(a, upload.getvalue(), threshold)
            except (StoreError, OSError) as e:
                st.error(f"The library could not be updated: {escape_markdown(e)}")
                top_tags(a, threshold)


def keep_all(held: dict[str, HeldUpload]) -> None:
    """Keep every tagged upload not in the library yet (a button's callback)."""
    kept = 0
    try:
        for sha, upload in held.items():
            a = st.session_state["upload_analyses"].get((sha, tagger.model_label))
            if a is not None and a.ok and store.find_sound(sha) is None:
                keep_upload(store, a, upload.data, settings.audio_dir, tagger.model_label)
                kept += 1
    except (StoreError, OSError) as e:
        st.session_state["upload_notice"] = ("error", f"The library could not be updated: {e}")
        return
    st.session_state["upload_notice"] = ("success", f"Kept {kept} files in the library.")


def clear_list() -> None:
    st.session_state["upload_held"] = {}
    st.session_state["upload_notice"] = None


drop, tune = st.columns([3, 1], vertical_alignment="top")
files = drop.file_uploader("Sound files", type=list(UPLOAD_TYPES), accept_multiple_files=True,
                           key="upload_files",
                           help=f"Up to {UPLOAD_LIMIT_MB} MB per file; several files at once.")
with tune:
    threshold = threshold_slider("upload")
held: dict[str, HeldUpload] = st.session_state["upload_held"]
hold_uploads(held, files or [])
if not held:
    st.info("Drop one or more sound files above to see their tags.", icon=":material/upload:")
    st.stop()

analyses = {sha: analysis_for(sha, upload, tagger) for sha, upload in held.items()}
with st.container(horizontal=True, gap="small"):
    st.button(f"Keep all in library ({sum(a.ok for a in analyses.values())})",
              key="upload_keep_all", icon=":material/library_add:", on_click=keep_all,
              args=(held,), disabled=store is None,
              help="Store every file tagged here that is not in the library yet.")
    st.button("Clear the list", key="upload_clear", icon=":material/clear_all:",
              on_click=clear_list, help="Forget these results (kept files stay in the library).")
notice = st.session_state.get("upload_notice")
if notice:
    getattr(st, notice[0])(escape_markdown(notice[1]))
for sha, upload in held.items():
    for other in upload.also:
        st.caption(f"{escape_markdown(other)}: the same audio as {escape_markdown(upload.name)}, "
                   "shown once.")
    show_upload(upload, analyses[sha], threshold)
