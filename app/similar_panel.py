"""The "Similar sounds" panel of a feed card and of an upload (before it is kept): the nearest
stored sounds with players, final tags and similarity, and the tags the nearest *reviewed* ones
agree on (core.neighbour_tags) as chips. A chip adds its tag only when a person clicks it.

The panel is an expander that tracks its state: nothing is searched until it is opened, so a
page of closed cards costs no query. A sound stored before embeddings were kept gets its own
when its panel is first opened (the model hears its audio again). One model's embeddings are
loaded once per server process (st.cache_resource) and again when the store holds more of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from app.resources import get_tagger
from app.settings import session_threshold, session_user
from app.text import escape_markdown
from core.embed import ensure_embedding
from core.modeldir import ModelNotFoundError, read_model_info
from core.neighbour_tags import neighbour_tags
from core.settings import THRESHOLD
from core.similar import EmbeddingIndex, embedding_model, neighbours
from core.store import StoreError, TagStore

SHOWN = 5  # neighbours listed


@st.cache_resource(max_entries=2, show_spinner="Loading the sounds' embeddings…")
def _index(db_path: str, model: str, count: int) -> EmbeddingIndex:
    return EmbeddingIndex.from_store(TagStore(db_path), model)


def current_index(store: TagStore, model_dir: Path) -> EmbeddingIndex | None:
    """The index of the active model's embeddings (else the model with the most), or None."""
    try:
        label = read_model_info(model_dir).label
    except (ModelNotFoundError, ValueError, KeyError, OSError):
        label = ""
    counts = store.embedding_counts()
    model = embedding_model(counts, label)
    if not counts.get(model):
        return None
    return _index(str(store.path), model, counts[model])


def similar_panel(store: TagStore, model_dir: Path, key: str, *, sound_id: int | None = None,
                  vector: np.ndarray | None = None, threshold: float = THRESHOLD) -> None:
    """A stored sound (`sound_id`) or an unstored upload (`vector`); `key` is unique per page."""
    box = st.expander("Similar sounds", icon=":material/graphic_eq:", key=f"{key}_similar",
                      on_change="rerun")
    with box:
        if not box.open:
            return
        try:
            _panel(store, model_dir, key, sound_id, vector, threshold)
        except StoreError as e:
            st.error(f"The tag store is unavailable: {escape_markdown(e)}", icon=":material/error:")


def _panel(store: TagStore, model_dir: Path, key: str, sound_id: int | None,
           vector: np.ndarray | None, threshold: float) -> None:
    index = current_index(store, model_dir)
    if index is not None and vector is None and sound_id is not None:
        vector = index.vector(sound_id)
        if vector is None:
            vector = _computed(store, model_dir, index, sound_id)
    if index is None or vector is None or len(vector) != index.unit.shape[1]:
        st.caption("No embedding to compare yet: `python -m core embed` gives every stored "
                   "sound one (sounds tagged from now on get one as they are stored).")
        return
    exclude = [sound_id] if sound_id is not None else []
    have = store.labels(sound_id, threshold).final if sound_id is not None else []
    offered = neighbour_tags(store, index, vector, exclude, have, threshold)
    if offered.tags:
        _neighbour_chips(store, key, sound_id, offered)
    found = neighbours(store, index, vector, SHOWN, exclude, threshold)
    if not found:
        st.caption("No other stored sound to compare with.")
    for n in found:
        st.markdown(f"**{escape_markdown(n.name)}** · similarity {n.similarity:.2f}"
                    + (" · reviewed" if n.reviewed else ""))
        if n.audio_path and Path(n.audio_path).is_file():
            st.audio(n.audio_path)
        st.caption("final tags: " + (escape_markdown(", ".join(n.tags)) or "none"))


def _computed(store: TagStore, model_dir: Path, index: EmbeddingIndex,
              sound_id: int) -> np.ndarray | None:
    """A sound stored without an embedding (before they were kept): computed now and stored."""
    tagger, _ = get_tagger(model_dir)
    if tagger is None or tagger.model_label != index.model:
        return None
    return ensure_embedding(store, tagger, sound_id)


def _neighbour_chips(store: TagStore, key: str, sound_id: int | None, offered) -> None:
    label = offered.heading()
    if sound_id is None:  # an upload not kept yet: nothing to add the tags to
        st.caption(f"{label}: " + escape_markdown(", ".join(t for t, _ in offered.tags)))
        return
    shares = dict(offered.tags)
    chip_key = f"{key}_neighbour_tags"
    st.pills(f"{label} · click one to add it", list(shares), key=chip_key,
             format_func=lambda tag: f"{tag} {shares[tag]:.0%}",
             on_change=_on_chip, args=(store, sound_id, chip_key))
    notice = st.session_state.get(f"{chip_key}_notice")
    if notice:
        st.error(notice)


def _on_chip(store: TagStore, sound_id: int, chip_key: str) -> None:
    picked = st.session_state.get(chip_key)
    st.session_state[chip_key] = None
    st.session_state[f"{chip_key}_notice"] = None
    if not picked:
        return
    try:
        store.label(sound_id, add=[picked], user=session_user(),
                    threshold=session_threshold())
    except (StoreError, ValueError) as e:
        st.session_state[f"{chip_key}_notice"] = f"Not saved: {e}"
