"""Things loaded once per server process (st.cache_resource): the tagger and the tag store.

Never mutate what these return: every session shares them.
"""

from __future__ import annotations

import gc
from pathlib import Path

import streamlit as st

from core.modeldir import CONFIG, WEIGHTS, ModelNotFoundError
from core.store import StoreError, TagStore
from core.tagger import Tagger


def keep_loaded_objects_out_of_collections() -> None:
    """What is loaded by now (modules, torch, a model) lives as long as the server: gc.freeze
    moves it out of the garbage collector's sight, so its occasional full collections walk only
    what the script runs create (torch alone is about 190,000 objects, 120 ms a walk here).
    Streamlit's own full collection after every run is off (.streamlit/config.toml)."""
    gc.collect()
    gc.freeze()


keep_loaded_objects_out_of_collections()  # once per server process: after the imports above


def _model_stamp(model_dir: Path) -> float:
    """Weights mtime: a retrained model in the same folder is loaded afresh."""
    weights = model_dir / WEIGHTS
    return weights.stat().st_mtime if weights.is_file() else 0.0


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def _load_tagger(model_dir: str, stamp: float) -> Tagger:
    tagger = Tagger(model_dir, device="auto")
    keep_loaded_objects_out_of_collections()
    return tagger


def get_tagger(model_dir: Path) -> tuple[Tagger | None, str | None]:
    """(the cached tagger, None), or (None, why not). Failures are not cached: fix and reload."""
    model_dir = Path(model_dir)
    if not (model_dir / WEIGHTS).is_file() or not (model_dir / CONFIG).is_file():
        return None, no_model_message(model_dir)
    try:
        return _load_tagger(str(model_dir), _model_stamp(model_dir)), None
    except ModelNotFoundError:
        return None, no_model_message(model_dir)
    except (ValueError, KeyError, OSError, RuntimeError) as e:
        return None, f"The model at `{model_dir}` could not be loaded: {e}"


def no_model_message(model_dir: Path) -> str:
    return (f"No trained model at `{model_dir}`: tagging needs one. Train one "
            "(`python -m core train`, then `python -m core export-model`), or point the "
            "environment variable `TAGGER_MODEL` at a model directory and restart the app.")


@st.cache_resource(max_entries=4)
def get_store(db_path: str) -> TagStore:
    """The tag store; it opens short-lived connections itself, so one object serves all sessions.
    A store that cannot be opened raises StoreError, and is not cached: fix it and reload."""
    return TagStore(path=db_path)


def open_store(db_path: str) -> tuple[TagStore | None, str | None]:
    """(the cached store, None), or (None, why not): the StoreError's one line, for st.error."""
    try:
        return get_store(db_path), None
    except StoreError as e:
        return None, str(e)
