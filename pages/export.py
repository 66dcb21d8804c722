"""Export: the store's labels (model tags and human corrections) as csv, jsonl, parquet or COALA HDF5."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.export_files import FORMATS, ExportFilters, export_bytes, export_to_path, file_name, preview
from app.resources import open_store
from app.settings import resolve_settings
from app.text import escape_markdown
from app.ui import threshold_slider
from core.store import StoreError
from core.store.export import ExportError


def choose_filters() -> ExportFilters:
    left, mid, right = st.columns(3)
    reviewed = left.toggle("Reviewed sounds only", key="export_reviewed",
                           help="Only sounds a person has corrected or confirmed: labels checked by a "
                                "person, to retrain on.")
    since = mid.date_input("Added or corrected since", value=None, key="export_since",
                           help="Leave empty to export every sound.")
    with right:
        threshold = threshold_slider("export")  # shared with the feed and upload pages
    return ExportFilters(reviewed_only=reviewed, since=since, threshold=threshold)


def write_form(store, fmt: str, filters: ExportFilters, default: Path) -> None:
    with st.form("export_write_form"):
        path = st.text_input("Write to a path on the server", str(default), key="export_path")
        if st.form_submit_button("Write file"):
            try:
                summary = export_to_path(store, fmt, filters, path)
            except (OSError, ValueError, StoreError, ExportError) as e:
                st.error(f"Could not write {escape_markdown(path)}: {escape_markdown(e)}")
                return
            st.success(f"Wrote {summary.rows} sounds and {summary.labels} labels to "
                       f"{escape_markdown(summary.path or path)}.")


st.title("Export")
st.session_state.setdefault("threshold", 0.5)  # app/main.py sets it; a page run alone needs it too
settings = resolve_settings()
store, problem = open_store(str(settings.db_path))
if store is None:
    st.error(f"Nothing can be exported while the tag store cannot be opened: "
             f"{escape_markdown(problem)}", icon=":material/error:")
    st.stop()
st.caption(f"Labels from the tag store `{settings.db_path}`: the model's tags at the threshold, "
           "with every correction applied (removed tags left out, added tags kept).")
fmt = st.radio("Format", list(FORMATS), key="export_format", horizontal=True)
st.caption(FORMATS[fmt].about)
filters = choose_filters()
try:
    summary = preview(store, fmt, filters)
except (StoreError, ExportError) as e:
    st.error(f"The tag store could not be read: {escape_markdown(e)}")
    st.stop()
if summary.skipped:
    n = len(summary.skipped)
    st.warning(f"{n} sound{' is' if n == 1 else 's are'} left out of the COALA file: its audio "
               "is not stored (the patches are computed from the audio), e.g. "
               + escape_markdown(summary.skipped[0][1]))
left, right, _ = st.columns([1, 1, 3])
left.metric("Sounds to write", f"{summary.rows:,}")
right.metric("Labels to write", f"{summary.labels:,}")
if summary.rows == 0:
    st.info("Nothing to export with these filters: the store has no matching sound yet. "
            "Upload sounds or fetch the feed, or loosen the filters.")
    st.stop()
name = file_name(fmt, filters)
st.download_button(f"Download {name}", data=lambda: export_bytes(store, fmt, filters),
                   file_name=name, mime=FORMATS[fmt].mime, on_click="ignore", type="primary",
                   key="export_download", icon=":material/download:")
write_form(store, fmt, filters, Path(settings.db_path).parent / "exports" / name)
