"""Feed and review: the sounds in the store, one card each, with their tags to correct."""

from __future__ import annotations

import streamlit as st

from app import review_queue as rq
from app.account import account_panel
from app.feed_panel import fetch_panel
from app.resources import get_store
from app.review_keys import review_keys, shortcuts_help
from app.settings import resolve_settings, session_threshold, session_user
from app.similar_panel import similar_panel
from app.tag_editor import row_styles, seed_labels, tag_editor, vocabulary_options
from app.text import escape_markdown
from app.ui import audio_player, sound_header, spectrogram_on_demand, threshold_slider
from core.store import Sound, SoundQuery, SoundRow, StoreError, TagStore

SHOW = {"All": None, "To review": False, "Reviewed": True}
SORT = {"Newest first": "newest", "Least certain first": "uncertain",
        "Likely mislabeled first": "suspect"}
SOURCES = {"All sources": None, "Freesound": "freesound", "Uploads": "upload", "Folders": "folder"}

settings = resolve_settings()
st.title("Feed and review")
row_styles()


def reset_page() -> None:
    rq.go_to_page(1)


def filters(store: TagStore) -> SoundQuery:
    show, sort, source, tag, threshold = st.columns([3.4, 2, 2, 2, 2], vertical_alignment="bottom")
    shown = show.segmented_control("Show", list(SHOW), default="All", key="feed_show",
                                   on_change=reset_page) or "All"
    order = sort.selectbox("Sort", list(SORT), key="feed_sort", on_change=reset_page,
                           help="Least certain first: the sounds whose scores sit closest to the "
                                "threshold, where the model is least sure, come first. Likely "
                                "mislabeled first: the sounds whose curators' or uploaders' tags "
                                "the model disagrees with most, each card naming the tags in "
                                "doubt (`python -m core suspects`).")
    src = source.selectbox("Source", list(SOURCES), key="feed_source", on_change=reset_page)
    # No free text: Enter takes the first real match ("perc": percussion), as in the Add box.
    picked = tag.selectbox("Tag", tag_options(store), index=None, key="feed_tag",
                           placeholder="any tag", on_change=reset_page,
                           help="Sounds whose final tags (at the threshold, after people's "
                                "corrections) include this tag.")
    with threshold:
        value = threshold_slider("feed")
    search = st.text_input("Search", key="feed_search", on_change=reset_page,
                           placeholder="Search names, uploaders and descriptions; Enter applies",
                           label_visibility="collapsed")
    return SoundQuery(reviewed=SHOW[shown], tag=picked or None, source=SOURCES[src],
                      search=search.strip() or None, sort=SORT[order], limit=rq.page_size(),
                      threshold=value)


def tag_options(store: TagStore) -> list[str]:
    """The vocabulary (with the real words behind its mangled tags) and people's own tags."""
    known = vocabulary_options()
    return [*known, *sorted(set(store.person_tags()) - set(known))]


def card(store: TagStore, sound: Sound, row: SoundRow, focused: bool, slot: int) -> None:
    seed_labels("feed", row.labels)
    with st.container(border=True, key=f"feed_card_{row.id}"):
        if focused:
            st.caption(":material/arrow_forward: Next to review")
        doubts = rq.doubts_line(row.id)
        if doubts:
            st.caption(f":material/report: {doubts}")
        left, right = st.columns([3, 2])
        with left:
            sound_header(sound)
            if audio_player(sound.audio_path, sound.duration_s):
                spectrogram_on_demand("feed", sound.id, sound.audio_path, sound.patch_start)
        with right:
            tag_editor(store, sound.id, "feed", slot)
            account_panel(store, sound, "feed", settings)
            similar_panel(store, settings.model_dir, f"feed_{row.id}", sound_id=sound.id,
                          threshold=session_threshold())


def pager(page: rq.QueuePage, key: str) -> None:
    """One of the two pagers (above and below the cards): both follow the page in rq.PAGE."""
    if page.pages == 1:
        return
    if st.session_state.get(key) != page.page:  # the other pager (or Next unreviewed) moved
        st.session_state[key] = page.page
    st.pagination(page.pages, key=key, on_change=lambda: rq.go_to_page(st.session_state[key]))


def page_size_box(page: rq.QueuePage) -> None:
    st.selectbox("Cards per page", rq.PAGE_SIZES, key=rq.PAGE_SIZE_KEY,
                 index=rq.PAGE_SIZES.index(rq.DEFAULT_PAGE_SIZE), width=140,
                 format_func=lambda n: f"{n} per page", label_visibility="collapsed",
                 on_change=rq.resize, args=(page.first,),
                 help="More cards per page take longer to draw at each page change.")


def queue_bar(store: TagStore, page: rq.QueuePage, reviewed: int) -> None:
    total = len(page.ids)
    noun = "sound" if total == 1 else "sounds"
    info, actions = st.columns([3, 2], vertical_alignment="center")
    info.caption(f"{total:,} {noun} · showing {page.first + 1:,}–"
                 f"{min(page.first + page.size, total):,} · {reviewed:,} of {total:,} reviewed")
    with actions.container(horizontal=True, horizontal_alignment="right", gap="small"):
        st.button("Next unreviewed", key="feed_next_unreviewed", icon=":material/skip_next:",
                  on_click=rq.next_unreviewed, args=(store,),
                  help="Go to the first sound of this queue that nobody has reviewed yet.")
        st.button("Refresh queue", key="feed_refresh", icon=":material/refresh:",
                  on_click=rq.refresh,
                  help="Read the list again: sounds reviewed since leave 'To review'.")
        shortcuts_help()
        with st.popover("Confirm page", icon=":material/done_all:"):
            st.caption("Confirm the final tags shown on every card of this page "
                       "(tags a person already set stay as they are).")
            st.button(f"Confirm the tags of these {len(page.shown)} sounds",
                      key="feed_confirm_page", type="primary", on_click=rq.confirm_page,
                      args=(store, page.shown, session_user(), session_threshold()))
    notice = st.session_state.get(rq.NOTICE)
    if notice:
        getattr(st, notice[0])(notice[1])


def sound_list(store: TagStore) -> None:
    query = filters(store)
    ids = rq.queue_ids(store, query)
    if not ids:
        empty = store.count_sounds(SoundQuery()) == 0
        st.info("The store is empty: fetch sounds above, or keep an upload on the Upload page."
                if empty else "No sound matches these filters.", icon=":material/inbox:")
        return
    page = rq.current_page(ids)
    queue_bar(store, page, len(store.reviewed_among(ids)))
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        pager(page, "feed_page")
        page_size_box(page)
    rows = store.rows_for(page.shown, query.threshold)
    sounds = store.get_sounds([row.id for row in rows])
    focus = st.session_state.get(rq.FOCUS)
    review_keys("feed", focus)
    for slot, row in enumerate(rows):
        if row.id in sounds:  # deleted since the list was read
            card(store, sounds[row.id], row, row.id == focus and not row.reviewed, slot)
    pager(page, "feed_page_bottom")


try:
    store = get_store(str(settings.db_path))
    fetch_panel(store, settings)
    sound_list(store)
except StoreError as e:
    st.error(f"The tag store is unavailable: {escape_markdown(e)}", icon=":material/error:")
