"""Feed and review: the sounds in the store, one card each, with their tags to correct."""

from __future__ import annotations

import math
from dataclasses import replace

import streamlit as st

from app.feed_panel import fetch_panel
from app.resources import get_store
from app.settings import resolve_settings
from app.tag_editor import seed_labels, tag_editor, vocabulary_options
from app.ui import audio_player, sound_header, stored_spectrogram, threshold_slider
from core.store import Sound, SoundQuery, SoundRow, StoreError, TagStore

PAGE_SIZE = 10  # cards per page; the page is cut in SQL (LIMIT/OFFSET)
SHOW = {"All": None, "To review": False, "Reviewed": True}
SORT = {"Newest first": "newest", "Least certain first": "uncertain"}
SOURCES = {"All sources": None, "Freesound": "freesound", "Uploads": "upload", "Folders": "folder"}

settings = resolve_settings()
st.title("Feed and review")


def reset_page() -> None:
    st.session_state["feed_page"] = 1


def filters(store: TagStore) -> SoundQuery:
    show, sort, source, tag, threshold = st.columns([3.4, 2, 2, 2, 2], vertical_alignment="bottom")
    shown = show.segmented_control("Show", list(SHOW), default="All", key="feed_show",
                                   on_change=reset_page) or "All"
    order = sort.selectbox("Sort", list(SORT), key="feed_sort", on_change=reset_page,
                           help="Least certain first: the sounds whose scores sit closest to the "
                                "threshold, where the model is least sure, come first.")
    src = source.selectbox("Source", list(SOURCES), key="feed_source", on_change=reset_page)
    # No free text: Enter takes the first real match ("perc": percussion), as in the Add box.
    picked = tag.selectbox("Tag", tag_options(store), index=None, key="feed_tag",
                           placeholder="any tag", on_change=reset_page,
                           help="Sounds whose final tags (at the threshold, after people's "
                                "corrections) include this tag.")
    with threshold:
        value = threshold_slider("feed")
    return SoundQuery(reviewed=SHOW[shown], tag=picked or None, source=SOURCES[src],
                      sort=SORT[order], limit=PAGE_SIZE, threshold=value)


def tag_options(store: TagStore) -> list[str]:
    """The vocabulary (with the real words behind its mangled tags) and people's own tags."""
    known = vocabulary_options()
    return [*known, *sorted(set(store.person_tags()) - set(known))]


def card(store: TagStore, sound: Sound, row: SoundRow) -> None:
    seed_labels("feed", row.labels)
    with st.container(border=True, key=f"feed_card_{row.id}"):
        left, right = st.columns([3, 2])
        with left:
            sound_header(sound)
            if audio_player(sound.audio_path):
                stored_spectrogram(sound.id, sound.audio_path, sound.patch_start)
        with right:
            tag_editor(store, sound.id, "feed")


def pager(total: int) -> int:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if st.session_state.get("feed_page", 1) > pages:
        st.session_state["feed_page"] = pages
    if pages == 1:
        return 1
    return st.pagination(pages, key="feed_page")


def sound_list(store: TagStore) -> None:
    query = filters(store)
    total = store.count_sounds(query)
    if total == 0:
        empty = store.count_sounds(SoundQuery()) == 0
        st.info("The store is empty: fetch sounds above, or keep an upload on the Upload page."
                if empty else "No sound matches these filters.", icon=":material/inbox:")
        return
    top = st.empty()
    page = pager(total)
    first = (page - 1) * PAGE_SIZE
    noun = "sound" if total == 1 else "sounds"
    top.caption(f"{total:,} {noun} · showing {first + 1:,}–{min(first + PAGE_SIZE, total):,}")
    rows = store.list_sounds(replace(query, offset=first))
    sounds = store.get_sounds([row.id for row in rows])
    for row in rows:
        if row.id in sounds:  # deleted since the list was read
            card(store, sounds[row.id], row)


try:
    store = get_store(str(settings.db_path))
    fetch_panel(store, settings)
    sound_list(store)
except StoreError as e:
    st.error(f"The tag store at `{settings.db_path}` is unavailable: {e}")
