"""The feed's review queue: the ids a filter selects, read once and kept in the session.

Paging cuts this list, not the live query, so reviewing a sound in "To review" neither moves the
others up a page (skipping them) nor hides what was just reviewed: the queue holds still until
its filters change or the person refreshes it. No widgets in here besides the callbacks' state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import streamlit as st

from app.resources import get_tagger
from app.settings import resolve_settings
from app.similar_panel import current_index
from app.text import escape_markdown
from core.store import LabelRequest, SoundQuery, StoreError, TagStore
from core.suspects import order_by, suspects

PAGE_SIZES = (6, 10, 20)  # cards per page a person may choose
DEFAULT_PAGE_SIZE = 6  # six, not ten: a page change is drawn in under 1 s (README, Performance)
PAGE_SIZE_KEY = "feed_page_size"  # session key: the "Cards per page" choice
QUEUE = "feed_queue"  # session key: (filters, ids)
PAGE = "feed_page_no"  # session key: the page shown (1-based); both pagers follow it
FOCUS = "feed_focus"  # session key: the sound "Next unreviewed" jumped to
NOTICE = "feed_queue_notice"  # session key: what the last queue action did
DOUBTS = "feed_doubts"  # session key: sound id -> the tags `suspects` doubts (that sort only)


@dataclass(frozen=True)
class QueuePage:
    ids: list[int]  # the whole queue, in order
    page: int  # 1-based
    pages: int  # at least 1
    size: int  # cards per page

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size

    @property
    def shown(self) -> list[int]:
        return self.ids[self.first:self.first + self.size]


def queue_ids(store: TagStore, query: SoundQuery) -> list[int]:
    """The queue for these filters: read when they change (or after a refresh), else kept."""
    key = (query.reviewed, query.tag, query.source, query.search, query.sort, query.threshold)
    held = st.session_state.get(QUEUE)
    if held is None or held[0] != key:
        ids = store.list_ids(replace(query, limit=None, offset=0))
        st.session_state.pop(DOUBTS, None)
        if query.sort == "suspect":
            ids = _suspects_first(store, ids, query.threshold)
        st.session_state[QUEUE] = held = (key, ids)
    return held[1]


def _suspects_first(store: TagStore, ids: list[int], threshold: float) -> list[int]:
    """The queue most likely mislabeled first; what each card should say is kept in DOUBTS."""
    model_dir = resolve_settings().model_dir
    index = current_index(store, model_dir)
    tagger, _ = get_tagger(model_dir)
    scorer = tagger if tagger is not None and index is not None \
        and tagger.model_label == index.model else None
    found = suspects(store, threshold, index, scorer)
    st.session_state[DOUBTS] = {s.sound_id: s.issues for s in found if s.issues}
    return order_by(found, ids)


def doubts_line(sound_id: int) -> str | None:
    """"Likely mislabeled: music wrong? (0.01) · rifle missing? (0.92)" for a card of the
    "Likely mislabeled first" queue whose tags the scores doubt; None otherwise."""
    issues = st.session_state.get(DOUBTS, {}).get(sound_id)
    if not issues:
        return None
    return "Likely mislabeled: " + " · ".join(
        f"{escape_markdown(tag)} {kind} ({score:.2f})" for tag, kind, score in issues)


def page_size() -> int:
    size = st.session_state.get(PAGE_SIZE_KEY)
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def current_page(ids: list[int]) -> QueuePage:
    size = page_size()
    pages = max(1, math.ceil(len(ids) / size))
    page = min(max(1, int(st.session_state.get(PAGE, 1))), pages)
    st.session_state[PAGE] = page
    return QueuePage(ids, page, pages, size)


def resize(first: int) -> None:
    """After a new "Cards per page": the page that holds the card that was first on screen."""
    go_to_page(first // page_size() + 1)


def go_to_page(page: int) -> None:
    st.session_state[PAGE] = page
    st.session_state.pop(FOCUS, None)
    st.session_state.pop(NOTICE, None)  # what the last queue action did is said once


def refresh() -> None:
    """Read the queue again (reviewed sounds leave "To review"), from the first page."""
    st.session_state.pop(QUEUE, None)
    go_to_page(1)


def next_unreviewed(store: TagStore) -> None:
    """Go to the page of the queue's first sound no person has reviewed yet, and mark it."""
    ids = st.session_state.get(QUEUE, (None, []))[1]
    try:
        done = store.reviewed_among(ids)
    except StoreError as e:
        st.session_state[NOTICE] = ("error", f"The tag store is unavailable: {e}")
        return
    todo = next((i for i, sid in enumerate(ids) if sid not in done), None)
    if todo is None:
        st.session_state[NOTICE] = ("success", "Every sound in this queue is reviewed.")
        return
    go_to_page(todo // page_size() + 1)
    st.session_state[FOCUS] = ids[todo]
    st.session_state[NOTICE] = None


def confirm_page(store: TagStore, ids: list[int], user: str, threshold: float) -> None:
    """Confirm the final tags shown on each of these cards (those no person has set yet)."""
    try:
        rows = store.rows_for(ids, threshold)
        requests = [LabelRequest(r.id, confirm=[t for t in r.final if t not in r.labels.added
                                                and t not in r.labels.confirmed], user=user)
                    for r in rows]
        requests = [r for r in requests if r.confirm]
        store.label_many(requests)
    except (StoreError, ValueError) as e:
        st.session_state[NOTICE] = ("error", f"Not saved: {e}")
        return
    st.session_state[NOTICE] = ("success", f"Confirmed the shown tags of {len(requests)} sounds.")
