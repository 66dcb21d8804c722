"""The "fetch now" area of the feed page: the feed job (core/feed.py) with visible progress.

Freesound needs an API key (a Streamlit secret or $FREESOUND_API_KEY); the demo folder does not.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.account import account_for, signed_in_user
from app.places import PROJECT_ROOT, audio_folders, inside
from app.resources import get_tagger
from app.settings import KEY_HOW_TO, AppSettings
from app.text import escape_markdown
from core.feed import (
    FeedConfig,
    FeedSummary,
    fetch_freesound,
    ingest_folder,
    make_account_client,
    make_client,
)
from core.freesound import FreesoundError
from core.store import StoreError, TagStore
from core.tagger import Tagger

DEFAULT_FETCH = 20  # newest sounds looked at per click
MAX_FETCH = 150  # per click: keeps within Freesound's limits (60 requests a minute)
FETCH_PANEL = "feed_fetch_panel"  # session key: the "Fetch new sounds" expander is open


def fetch_panel(store: TagStore, settings: AppSettings) -> None:
    """Open when the store is empty. Its forms (the model, the folder scan) run only while it is
    open: every other rerun of the feed (a page, a filter, a card edit) skips them."""
    box = st.expander("Fetch new sounds", icon=":material/cloud_download:",
                      expanded=store.count_sounds() == 0, key=FETCH_PANEL, on_change="rerun")
    with box:
        if not box.open:
            return
        tagger, problem = get_tagger(settings.model_dir)
        if tagger is None:
            st.warning(f"Fetching needs the model to tag sounds. {problem}", icon=":material/warning:")
            return
        freesound, demo = st.columns(2, gap="large")
        with freesound:
            freesound_form(store, tagger, settings)
        with demo:
            folder_form(store, tagger, settings)


def freesound_form(store: TagStore, tagger: Tagger, settings: AppSettings) -> None:
    st.markdown("**From Freesound** · the newest uploads")
    if not settings.api_key:
        st.info(f"No API key set, so Freesound cannot be asked. {KEY_HOW_TO} "
                "The demo sounds (right) need no key.", icon=":material/key:")
    audio = _audio_choice(settings)
    off = not (settings.api_key or audio == "original")  # originals need the account, not a key
    limit = st.number_input("How many of the newest sounds", 1, MAX_FETCH, DEFAULT_FETCH,
                            key="feed_fetch_limit", disabled=off)
    query = st.text_input("Only sounds matching (optional)", key="feed_fetch_query", disabled=off)
    if st.button("Fetch now", key="feed_fetch", type="primary", icon=":material/download:",
                 disabled=off):
        config = FeedConfig(limit=int(limit), query=query.strip(), audio_dir=settings.audio_dir,
                            audio=audio)
        run_job("Fetching from Freesound", lambda progress: _fetch(
            store, tagger, settings, config, progress), "freesound")
    last_summary("freesound")


def folder_form(store: TagStore, tagger: Tagger, settings: AppSettings) -> None:
    root = settings.sounds_dir
    st.markdown("**From a folder** · the demo sounds, or a folder of audio files in "
                f"`{_folder_label(root)}`")
    folders = audio_folders(root, skip=[settings.audio_dir, settings.exports_dir],
                            first=settings.demo_dir)
    folder = st.selectbox("Folder", folders, key="feed_folder", format_func=_folder_label,
                          placeholder="No folder of sounds found",
                          help=f"Folders of audio files in {root} (two levels deep; "
                               "TAGGER_SOUNDS sets another): put a folder, or a link to one, "
                               "there to load it. Elsewhere: `python -m core feed --source "
                               "folder:PATH`.")
    if st.button("Load folder", key="feed_load_folder", icon=":material/folder_open:",
                 disabled=folder is None):
        if not inside(folder, [root, settings.demo_dir]) or not Path(folder).is_dir():
            st.error(f"Not a folder of sounds in {escape_markdown(root)}: {escape_markdown(folder)}")
            return
        run_job("Loading the folder", lambda progress: ingest_folder(
            folder, store, tagger, FeedConfig(limit=None, audio_dir=settings.audio_dir), progress),
            "folder")
    last_summary("folder")


def _folder_label(folder: Path) -> str:
    try:
        return str(Path(folder).relative_to(PROJECT_ROOT))
    except ValueError:
        return str(folder)


def _audio_choice(settings: AppSettings) -> str:
    """"original" when a connected account asks for the uploaded files, else "preview"."""
    user = signed_in_user(settings)
    if not user:
        return "preview"
    original = st.toggle(f"Original files (as uploaded; through your account, {user})",
                         key="feed_fetch_original",
                         help="Lossless where the uploader gave a lossless file, and several times "
                              "the bytes of a preview (README, Your Freesound account).")
    return "original" if original else "preview"


def _fetch(store: TagStore, tagger: Tagger, settings: AppSettings, config: FeedConfig,
           progress) -> FeedSummary:
    client = (make_account_client(account_for(settings), settings.audio_dir)
              if config.audio == "original"
              else make_client(settings.api_key, settings.api_url, settings.audio_dir))
    with client:
        return fetch_freesound(client, store, tagger, config, on_progress=progress)


def run_job(title: str, job, kind: str) -> None:
    """Run a feed job with a progress bar and the latest message; its summary is kept to show."""
    bar = st.progress(0.0, text=f"{title}…")

    def on_progress(done: int, total: int, message: str) -> None:
        bar.progress(min(done / max(total, 1), 1.0),
                     text=f"{done} / {total} · {escape_markdown(message[-120:])}")

    try:
        summary = job(on_progress)
    except (FreesoundError, StoreError, OSError, ValueError) as e:
        bar.empty()
        st.session_state[f"feed_{kind}_summary"] = f"{title} failed: {e}"
        return
    bar.empty()
    st.session_state[f"feed_{kind}_summary"] = summary
    st.session_state.pop("feed_queue", None)  # the review queue is read again, with the new sounds


def last_summary(kind: str) -> None:
    """What the last job of this kind did (kept in the session until the next one)."""
    summary = st.session_state.get(f"feed_{kind}_summary")
    if summary is None:
        return
    if isinstance(summary, str):
        st.error(escape_markdown(summary))
        return
    text = escape_markdown(summary.line())
    (st.warning if summary.failed or summary.stopped_reason else st.success)(text)
    if summary.errors:
        with st.expander(f"{len(summary.errors)} sounds failed (a rerun tries them again)"):
            st.text("\n".join(summary.errors))
