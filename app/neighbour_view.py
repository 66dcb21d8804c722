"""The training page's figure for tags from neighbours: on a held-out share of the reviewed
sounds, does mixing the nearest reviewed sounds' tags into the model's scores raise its top-5
hit rate? (core.neighbour_tags.evaluate). Measured when the store has changed, else remembered.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.resources import open_store
from app.settings import resolve_settings
from app.similar_panel import current_index
from app.text import escape_markdown
from core.neighbour_tags import NeighbourEvaluation, evaluate
from core.store import StoreError

MIN_REVIEWED = 10  # fewer reviewed sounds than this give no figure worth showing


@st.cache_data(max_entries=4, show_spinner="Measuring tags from neighbours…")
def _measure(db_path: str, model_dir: str, stamp: tuple) -> NeighbourEvaluation | None:
    store, _ = open_store(db_path)
    index = current_index(store, Path(model_dir))
    return None if index is None else evaluate(store, index)


def neighbour_section() -> None:
    try:
        _section()
    except StoreError as e:
        st.error(f"The tag store is unavailable: {escape_markdown(e)}", icon=":material/error:")


def _section() -> None:
    st.subheader("Tags from similar reviewed sounds")
    st.caption("Each card's *Similar sounds* panel offers the tags its nearest reviewed sounds "
               "agree on. Here: on a held-out fifth of the reviewed sounds, the model's top-5 "
               "hit rate alone, the neighbours' tags alone, and both mixed half and half.")
    settings = resolve_settings()
    store, problem = open_store(str(settings.db_path))
    if store is None:
        st.error(escape_markdown(problem or "The tag store is unavailable."), icon=":material/error:")
        return
    stats = store.stats()
    if stats["reviewed"] < MIN_REVIEWED:
        st.info(f"Review at least {MIN_REVIEWED} sounds to measure this "
                f"({stats['reviewed']} reviewed so far).", icon=":material/info:")
        return
    counts = store.embedding_counts()
    stamp = (stats["sounds"], stats["corrections"], stats["undos"], tuple(sorted(counts.items())))
    result = _measure(str(settings.db_path), str(settings.model_dir), stamp)
    if result is None or not result.heldout:
        st.info("No reviewed sound has an embedding yet: `python -m core embed` adds them.",
                icon=":material/info:")
        return
    model, near, both = st.columns(3)
    model.metric("Model top-5 hit rate", f"{result.model_hit_rate:.3f}")
    near.metric("Neighbours' tags alone", f"{result.neighbour_hit_rate:.3f}")
    both.metric("Model + neighbours", f"{result.blended_hit_rate:.3f}", f"{result.gain:+.3f}")
    st.caption(escape_markdown(result.line()))
