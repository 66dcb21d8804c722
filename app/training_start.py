"""The training monitor's "Start a training run" form: from scratch or fine-tuning a model, on a
COALA file, the tag store's reviewed corrections included. The run itself is core/runs.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from app.export_files import ExportFilters, export_to_path
from app.places import PROJECT_ROOT
from app.resources import get_store, open_store
from app.settings import resolve_settings
from app.text import escape_markdown
from app.training_launch import LaunchPlaces, data_files, start_from_page
from app.training_models import list_models, models_root
from app.training_runs import runs_dir
from core.model import PRESETS
from core.runs import TRAIN_LAYERS, RunError, RunSpec
from core.store import StoreError
from core.store.export import ExportError
from core.train_checks import check_training_data

SCRATCH = "random weights (from scratch)"  # the "Start from" choice that fine-tunes nothing
LAYER_NAMES = {"all": "all", "head": "heads only"}  # core.runs.TRAIN_LAYERS, as the form says them
FINE_TUNE_LR = 1e-4  # proposed when fine-tuning on the exported corrections
DATA_HELP = ("COALA HDF5 files in data/, build/ and the exports folder (and their subfolders): "
             "put a file there to train on it. The page takes no typed paths.")


def launch_places() -> LaunchPlaces:
    """The folders the form offers files from, and the only ones a run started here may use."""
    data = (PROJECT_ROOT / "data", PROJECT_ROOT / "build", resolve_settings().exports_dir)
    return LaunchPlaces(runs=runs_dir(), data=data, models=models_root())


def _on_start() -> None:
    s = st.session_state
    cfg = RunSpec(name=s["training_new_name"].strip(), data=str(s["training_new_data"] or ""),
                       val=s["training_new_val"] or None, preset=s["training_new_preset"],
                       epochs=int(s["training_new_epochs"]), batch_size=int(s["training_new_batch"]),
                       lr=float(s["training_new_lr"]), seed=int(s["training_new_seed"]),
                       init_from=None if s["training_new_init"] == SCRATCH else s["training_new_init"],
                       patience=int(s["training_new_patience"]),
                       teachers=tuple(s["training_new_teachers"]),
                       distill=float(s["training_new_distill"]),
                       train_layers=s["training_new_layers"])
    try:
        start_from_page(cfg, launch_places())
    except RunError as e:
        s["training_start_message"] = ("error", str(e))
        return
    s["training_run"] = cfg.name
    s["training_start_message"] = ("success", f"Started {cfg.name}: it runs on in the background, "
                                              "also when this tab is closed.")


def _on_export_corrections() -> None:
    """Write the reviewed sounds as a COALA file next to the store and pick it as training data."""
    settings = resolve_settings()
    out = settings.exports_dir / f"corrections-{datetime.now():%Y%m%d-%H%M%S}.h5"
    try:
        summary = export_to_path(get_store(str(settings.db_path)), "coala-h5",
                                 ExportFilters(reviewed_only=True), out)
    except (OSError, ValueError, StoreError, ExportError) as e:
        st.session_state["training_start_message"] = ("error", f"Export failed: {e}")
        return
    if summary.rows == 0:
        out.unlink(missing_ok=True)
        st.session_state["training_start_message"] = (
            "info", "No reviewed sound with its audio in the library yet: correct or confirm some "
                    "tags on the feed or upload pages first.")
        return
    st.session_state["training_new_data"] = str(out)
    in_use = [str(m.path) for m in list_models()][:1]  # the model in use comes first
    if in_use:  # a few hundred corrections teach a trained model more than random weights
        st.session_state["training_new_init"] = in_use[0]
        st.session_state["training_new_lr"] = FINE_TUNE_LR
    wrote = (f"Wrote {summary.rows} reviewed sounds ({summary.labels} labels) to {out}; it is "
             "chosen as the training data below" + (", to fine-tune the model in use." if in_use else "."))
    check = check_training_data(out)
    st.session_state["training_start_message"] = ("success", wrote) if check.ok else (
        "warning", f"{wrote} It is too small to train on yet: " + "; ".join(check.problems)
                   + ". Review more sounds, then export again.")


def start_form() -> None:
    places = launch_places()
    found = [str(p) for p in data_files(*places.data)]
    _, problem = open_store(str(resolve_settings().db_path))
    if problem:
        st.error(f"The reviewed corrections cannot be exported: {escape_markdown(problem)}",
                 icon=":material/error:")
    st.button("Use the reviewed corrections as training data", key="training_export_corrections",
              on_click=_on_export_corrections, icon=":material/fact_check:", disabled=bool(problem),
              help="Exports every reviewed sound of the tag store as a COALA HDF5 file (patches "
                   "from the stored audio, labels with the corrections applied).")
    st.caption("Trains from scratch, or fine-tunes a model, on a COALA-layout HDF5 file: a corpus "
               "built with `python -m core corpus`, the COALA files, or the corrections exported from the "
               "Export page as coala-h5. It runs as its own process: closing the tab does not stop it.")
    with st.form("training_start_form"):
        left, right = st.columns(2)
        left.text_input("Run name", f"run-{datetime.now():%Y%m%d-%H%M}", key="training_new_name")
        left.selectbox("Training data", found, index=0 if found else None, key="training_new_data",
                       placeholder="No COALA HDF5 file found", help=DATA_HELP)
        left.selectbox("Validation data", found, index=None, key="training_new_val",
                       placeholder="None: a seeded 10 % split", help=DATA_HELP)
        starts = [SCRATCH] + [str(m.path) for m in list_models()]
        right.selectbox("Start from", starts, key="training_new_init",
                        format_func=lambda p: p if p == SCRATCH else f"the model {Path(p).name} "
                                                                    "(fine-tune)",
                        help="Fine-tuning starts from a trained model's weights, so it keeps what "
                             "it knows and learns from the new data; the model's size is kept "
                             f"(the preset is ignored). A learning rate of {FINE_TUNE_LR:g} suits it.")
        right.radio("Preset", list(PRESETS), key="training_new_preset", horizontal=True)
        right.radio("Layers to train", TRAIN_LAYERS, key="training_new_layers", horizontal=True,
                    format_func=LAYER_NAMES.get,
                    help="Heads only: a fine-tune keeps the model's conv blocks as they are and "
                         "trains its hidden and output layers, about a third of the work per "
                         "network (an ensemble's four networks fine-tune in about 1.3 times one "
                         "network's full time).")
        a, b = right.columns(2)
        a.number_input("Most epochs", 1, 500, 20, key="training_new_epochs")
        b.number_input("Batch size", 2, 1024, 64, key="training_new_batch")
        a.number_input("Learning rate", 1e-6, 1.0, 1e-3, format="%.5f", key="training_new_lr")
        b.number_input("Seed", 0, 2**31 - 1, 0, key="training_new_seed")
        a.number_input("Patience", 1, 500, RunSpec.patience, key="training_new_patience",
                       help="Stop early after this many epochs without a better validation "
                            "PR-AUC macro.")
        models = [str(m.path) for m in list_models()]
        right.multiselect("Teachers (distillation)", models, key="training_new_teachers",
                          format_func=lambda p: f"the model {Path(p).name}",
                          placeholder="None: the labels alone",
                          help="The run also learns from these models' averaged scores on the "
                               "training clips, which carry what the labels leave out. Several "
                               "models trained alike teach best.")
        b.number_input("Teachers' share", 0.05, 1.0, RunSpec.distill, step=0.05,
                       key="training_new_distill",
                       help="Each training target is (1 - share) x the labels + share x the "
                            "teachers' mean score. Ignored without teachers.")
        st.form_submit_button("Start training", on_click=_on_start, type="primary",
                              icon=":material/model_training:")
    message = st.session_state.pop("training_start_message", None)
    if message:
        getattr(st, message[0])(escape_markdown(message[1]))
