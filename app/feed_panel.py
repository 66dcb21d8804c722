"""The "fetch now" area of the feed page: the feed job (core/feed.py) with visible progress.

Freesound needs an API key (a Streamlit secret or $FREESOUND_API_KEY); the demo folder does not.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.resources import get_tagger
from app.settings import KEY_HOW_TO, AppSettings
from app.text import escape_markdown
from core.feed import FeedConfig, FeedSummary, fetch_freesound, ingest_folder, make_client
from core.freesound import FreesoundError
from core.store import StoreError, TagStore
from core.tagger import Tagger

DEFAULT_FETCH = 20  # newest sounds looked at per click
MAX_FETCH = 150  # per click: keeps within Freesound's limits (60 requests a minute)


def fetch_panel(store: TagStore, settings: AppSettings) -> None:
    with st.expander("Fetch new sounds", icon=":material/cloud_download:",
                     expanded=store.count_sounds() == 0):
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
    limit = st.number_input("How many of the newest sounds", 1, MAX_FETCH, DEFAULT_FETCH,
                            key="feed_fetch_limit", disabled=not settings.api_key)
    query = st.text_input("Only sounds matching (optional)", key="feed_fetch_query",
                          disabled=not settings.api_key)
    if st.button("Fetch now", key="feed_fetch", type="primary", icon=":material/download:",
                 disabled=not settings.api_key):
        config = FeedConfig(limit=int(limit), query=query.strip(), audio_dir=settings.audio_dir)
        run_job("Fetching from Freesound", lambda progress: _fetch(
            store, tagger, settings, config, progress), "freesound")
    last_summary("freesound")


def folder_form(store: TagStore, tagger: Tagger, settings: AppSettings) -> None:
    st.markdown("**From a folder** · the demo sounds, or any folder of audio files")
    folder = st.text_input("Folder", value=str(settings.demo_dir), key="feed_folder")
    if st.button("Load folder", key="feed_load_folder", icon=":material/folder_open:"):
        path = Path(folder).expanduser()
        if not path.is_dir():
            st.error(f"No such folder: {escape_markdown(path)}")
            return
        run_job("Loading the folder", lambda progress: ingest_folder(
            path, store, tagger, FeedConfig(limit=None, audio_dir=settings.audio_dir), progress),
            "folder")
    last_summary("folder")


def _fetch(store: TagStore, tagger: Tagger, settings: AppSettings, config: FeedConfig,
           progress) -> FeedSummary:
    with make_client(settings.api_key, settings.api_url, settings.audio_dir) as client:
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
