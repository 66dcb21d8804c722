"""Export: the store's labels (model tags and human corrections) as csv, jsonl, parquet or COALA HDF5."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.export_files import (
    FORMATS,
    ExportFilters,
    ExportNameError,
    export_bytes,
    export_target,
    export_to_path,
    file_name,
    preview,
)
from app.resources import open_store
from app.settings import resolve_settings, set_session_defaults
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


def follow_format(default: str) -> None:
    """The file name follows the format and filters, unless the user typed one of their own."""
    s = st.session_state
    if s.get("export_name") in (None, s.get("export_name_default")):
        s["export_name"] = default
    s["export_name_default"] = default


def write_section(store, fmt: str, filters: ExportFilters, folder: Path, default: str) -> None:
    follow_format(default)
    # No st.form: a form would hold a typed name back until submitted, and a change of format
    # in between would replace it with the proposed one.
    name_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
    name_col.text_input("File name", key="export_name", max_chars=255,
                        help="A name, not a path: Write file saves only into the exports folder.")
    submitted = button_col.button("Write file", key="export_write", icon=":material/save:")
    suffix = "." + FORMATS[fmt].extension
    if not str(st.session_state["export_name"]).lower().endswith(suffix):
        st.warning(f"The name does not end in {suffix}, but the file will hold {fmt}.",
                   icon=":material/info:")
    st.caption(f"Write file saves into `{folder}` on the server, the exports folder "
               "(`TAGGER_EXPORTS`, else `exports/` next to the tag store), and asks before "
               "writing over a file.")
    s, job = st.session_state, (fmt, filters)
    confirmed = s.pop("export_confirmed", None)
    if confirmed:
        write_file(store, fmt, filters, folder / confirmed)
        return
    if submitted:
        s["export_overwrite"] = None
        write_or_ask(store, fmt, filters, folder, s["export_name"])
    pending = s.get("export_overwrite")
    if pending and pending[1] == job:
        confirm_overwrite(folder / pending[0])
    else:
        s["export_overwrite"] = None  # the format or filters changed: ask again on the next write


def write_or_ask(store, fmt: str, filters: ExportFilters, folder: Path, name: str) -> None:
    try:
        target = export_target(folder, name)
    except ExportNameError as e:
        st.error(escape_markdown(e))
        return
    if target.exists():
        st.session_state["export_overwrite"] = (target.name, (fmt, filters))
    else:
        write_file(store, fmt, filters, target)


def confirm_overwrite(target: Path) -> None:
    """A file of that name exists: it is written over only when the user says so."""
    st.warning(f"{escape_markdown(target.name)} already exists in {escape_markdown(target.parent)}. "
               "Write over it?", icon=":material/warning:")
    yes, no, _ = st.columns([1, 1, 3])
    if yes.button(f"Overwrite {target.name}", key="export_overwrite_yes", type="primary"):
        st.session_state["export_confirmed"] = target.name
    elif not no.button("Keep it", key="export_overwrite_no"):
        return
    st.session_state["export_overwrite"] = None
    st.rerun()


def write_file(store, fmt: str, filters: ExportFilters, target: Path) -> None:
    try:
        target = export_target(target.parent, target.name)  # checked again: it may have changed
        summary = export_to_path(store, fmt, filters, target)
    except (OSError, ValueError, StoreError, ExportError) as e:
        st.error(f"Could not write {escape_markdown(target)}: {escape_markdown(e)}")
        return
    st.success(f"Wrote {summary.rows} sounds and {summary.labels} labels to "
               f"{escape_markdown(summary.path or target)}.")


st.title("Export")
set_session_defaults()  # app/main.py sets them; a page run alone needs them too
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
write_section(store, fmt, filters, settings.exports_dir, name)
