"""Training monitor: the runs in runs/ (curves, live while running), starting a run, a model's figures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from app.export_files import ExportFilters, export_to_path
from app.resources import get_store
from app.settings import resolve_settings
from app.text import escape_markdown
from app.training_charts import ap_bar_chart, curve_chart, label
from app.training_launch import (
    LaunchConfig,
    LaunchError,
    batch_progress,
    data_files,
    output_tail,
    process_alive,
    resume_run,
    start_run,
    stop_run,
)
from app.training_models import list_models, models_root, per_tag_ap, test_table
from app.training_runs import (
    PROJECT_ROOT,
    RunInfo,
    RunLog,
    checkpoints,
    list_runs,
    loss_columns,
    metric_columns,
    read_run,
    run_state,
    runs_dir,
)
from core.model import PRESETS
from core.store import StoreError
from core.store.export import ExportError

LIVE_REFRESH_S = 3.0  # how often a running run's log is re-read
SCRATCH = "random weights (from scratch)"  # the "Start from" choice that fine-tunes nothing
FINE_TUNE_LR = 1e-4  # proposed when fine-tuning on the exported corrections
STATE_BADGE = {"running": ":green[● running]", "finished": "finished", "stopped": ":orange[stopped]"}


# --- one run ---------------------------------------------------------------------------------------
def render_run(run: RunInfo, live: bool) -> None:
    """Curves and figures of one run, read afresh from its log on every call."""
    log = read_run(run)
    state = run_state(run, log, process_alive(run.path))
    if live and state != "running":
        st.rerun()  # it just ended: redraw the page without the timer
    status_line(run, log, state)
    if state == "running":
        live_progress(run, log)
    if log.epochs.empty:
        st.info("No epoch has finished yet: the curves appear after the first one.")
    else:
        show_last_epoch(log)
        curves(log)
    run_output(run, state)
    run_controls(run, state)


def status_line(run: RunInfo, log: RunLog, state: str) -> None:
    n = len(log.epochs)
    parts = [f"**{escape_markdown(run.name)}**: {STATE_BADGE[state]}",
             f"{n} epoch{'s' if n != 1 else ''} logged"]
    if log.best_epoch:
        parts.append(f"best epoch {log.best_epoch} (validation PR-AUC macro)")
    if log.end:
        parts.append(f"ended by {escape_markdown(log.end.get('stopped', '?'))}")
    st.markdown(", ".join(parts))
    if log.start:
        cfg = log.start.get("config", {})
        st.caption(f"preset {cfg.get('preset', '?')} · {log.start.get('parameters', 0):,} parameters · "
                   f"{log.start.get('n_train', '?')} training / {log.start.get('n_val', '?')} "
                   f"validation clips · batch {cfg.get('batch_size', '?')} · lr {cfg.get('lr', '?')} · "
                   f"{escape_markdown(log.start.get('device', '?'))}")


def live_progress(run: RunInfo, log: RunLog) -> None:
    done, planned = len(log.epochs), log.planned_epochs
    if planned:
        st.progress(min(done / planned, 1.0), text=f"{done} of at most {planned} epochs")
    batches = batch_progress(output_tail(run.path))
    if batches:
        step, total = batches
        st.progress(min(step / max(total, 1), 1.0), text=f"epoch {done + 1}: batch {step} of {total}")


def show_last_epoch(log: RunLog) -> None:
    frame = log.epochs
    last = frame.iloc[-1]
    prev = frame.iloc[-2] if len(frame) > 1 else None
    keys = [*loss_columns(frame), *[k for k in ("roc_auc_macro", "pr_auc_macro") if k in frame]]
    keys += [k for k in ("samples_per_s",) if k in frame]
    for col, key in zip(st.columns(len(keys)), keys, strict=True):
        col.metric(label(key), metric_value(key, float(last[key])),
                   None if prev is None else metric_change(key, float(last[key]), float(prev[key])),
                   delta_color="inverse" if "loss" in key else "normal",
                   help=f"epoch {int(frame.index[-1])}; the change is from the epoch before")


def metric_value(key: str, value: float) -> str:
    return f"{value:.0f}" if key == "samples_per_s" else f"{value:.4g}" if "loss" in key \
        else f"{value:.4f}"


def metric_change(key: str, value: float, before: float) -> str:
    """Losses change by a share of themselves, the [0, 1] figures by points, throughput by units."""
    if "loss" in key:
        return f"{100 * (value - before) / before:+.1f} %" if before else "–"
    return f"{value - before:+.0f}" if key == "samples_per_s" else f"{value - before:+.4f}"


def curves(log: RunLog) -> None:
    frame = log.epochs
    left, right = st.columns(2)
    with left:
        st.caption("Loss (train and validation); dashed: the best epoch")
        st.altair_chart(curve_chart(frame, loss_columns(frame), zero=False,
                                    best_epoch=log.best_epoch), width="stretch")
    with right:
        st.caption("Validation metrics")
        st.altair_chart(curve_chart(frame, metric_columns(frame), zero=True,
                                    best_epoch=log.best_epoch), width="stretch")
    with st.expander("Every epoch"):
        st.dataframe(frame, width="stretch")


def run_output(run: RunInfo, state: str) -> None:
    tail = output_tail(run.path)
    if tail:
        with st.expander("Terminal output of the training process", expanded=state == "stopped"):
            st.code(tail, language=None)
    files = checkpoints(run)
    if files:
        st.caption("Checkpoints: " + ", ".join(f"`{p.name}`" for p in files)
                   + f" · make a model of it: `python -m core export-model --run {run.path} "
                   f"--out models/{run.name}`")


def run_controls(run: RunInfo, state: str) -> None:
    alive = process_alive(run.path)
    if state == "running" and alive:
        if st.button("Stop training", key="training_stop", icon=":material/stop:",
                     help="Interrupts the training process as Ctrl-C would; the last finished "
                          "epoch's checkpoint stays, so the run can be resumed."):
            stop_run(run.path)
            st.rerun()
    elif state == "stopped" and (run.path / "last.pt").is_file():
        if st.button("Resume this run", key="training_resume", icon=":material/play_arrow:"):
            try:
                resume_run(run.path)
            except LaunchError as e:
                st.error(escape_markdown(e))
                return
            st.rerun()


def runs_section() -> list[RunInfo]:
    st.subheader("Runs")
    root = runs_dir()
    runs = list_runs(root)
    if not runs:
        st.info(f"No training runs in `{root}` yet. Start one below, or with `python -m core train "
                "--data TRAIN.h5 --out runs/NAME`; it appears here and is followed as it goes.")
        return runs
    names = [r.name for r in runs]
    if st.session_state.get("training_run") not in names:
        st.session_state.pop("training_run", None)
    choice = st.selectbox("Run", names, key="training_run", help=f"Run folders in {root}")
    run = runs[names.index(choice)]
    live = run_state(run, read_run(run), process_alive(run.path)) == "running"
    st.fragment(run_every=LIVE_REFRESH_S if live else None)(render_run)(run, live)
    return runs


# --- starting a run --------------------------------------------------------------------------------
def _on_start() -> None:
    s = st.session_state
    cfg = LaunchConfig(name=s["training_new_name"].strip(), data=str(s["training_new_data"] or ""),
                       val=s["training_new_val"] or None, preset=s["training_new_preset"],
                       epochs=int(s["training_new_epochs"]), batch_size=int(s["training_new_batch"]),
                       lr=float(s["training_new_lr"]), seed=int(s["training_new_seed"]),
                       init_from=None if s["training_new_init"] == SCRATCH else s["training_new_init"])
    try:
        start_run(cfg, runs_dir())
    except LaunchError as e:
        s["training_start_message"] = ("error", str(e))
        return
    s["training_run"] = cfg.name
    s["training_start_message"] = ("success", f"Started {cfg.name}: it runs on in the background, "
                                              "also when this tab is closed.")


def _on_export_corrections() -> None:
    """Write the reviewed sounds as a COALA file next to the store and pick it as training data."""
    settings = resolve_settings()
    out = Path(settings.db_path).parent / "exports" / f"corrections-{datetime.now():%Y%m%d-%H%M%S}.h5"
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
    st.session_state["training_start_message"] = (
        "success", f"Wrote {summary.rows} reviewed sounds ({summary.labels} labels) to {out}; "
                   "it is chosen as the training data below"
                   + (", to fine-tune the model in use." if in_use else "."))


def start_form() -> None:
    settings = resolve_settings()
    found = [str(p) for p in data_files(PROJECT_ROOT / "data", PROJECT_ROOT / "build",
                                        Path(settings.db_path).parent / "exports")]
    st.button("Use the reviewed corrections as training data", key="training_export_corrections",
              on_click=_on_export_corrections, icon=":material/fact_check:",
              help="Exports every reviewed sound of the tag store as a COALA HDF5 file (patches "
                   "from the stored audio, labels with the corrections applied).")
    st.caption("Trains from scratch, or fine-tunes a model, on a COALA-layout HDF5 file: a corpus "
               "built with `python -m core corpus`, the COALA files, or the corrections exported from the "
               "Export page as coala-h5. It runs as its own process: closing the tab does not stop it.")
    with st.form("training_start_form"):
        left, right = st.columns(2)
        left.text_input("Run name", f"run-{datetime.now():%Y%m%d-%H%M}", key="training_new_name")
        left.selectbox("Training data", found, index=0 if found else None, key="training_new_data",
                       accept_new_options=True, placeholder="Path to a COALA HDF5 file")
        left.selectbox("Validation data", found, index=None, key="training_new_val",
                       accept_new_options=True, placeholder="None: a seeded 10 % split")
        starts = [SCRATCH] + [str(m.path) for m in list_models()]
        right.selectbox("Start from", starts, key="training_new_init",
                        format_func=lambda p: p if p == SCRATCH else f"the model {Path(p).name} "
                                                                    "(fine-tune)",
                        help="Fine-tuning starts from a trained model's weights, so it keeps what "
                             "it knows and learns from the new data; the model's size is kept "
                             f"(the preset is ignored). A learning rate of {FINE_TUNE_LR:g} suits it.")
        right.radio("Preset", list(PRESETS), key="training_new_preset", horizontal=True)
        a, b = right.columns(2)
        a.number_input("Most epochs", 1, 500, 20, key="training_new_epochs")
        b.number_input("Batch size", 2, 1024, 64, key="training_new_batch")
        a.number_input("Learning rate", 1e-6, 1.0, 1e-3, format="%.5f", key="training_new_lr")
        b.number_input("Seed", 0, 2**31 - 1, 0, key="training_new_seed")
        st.form_submit_button("Start training", on_click=_on_start, type="primary",
                              icon=":material/model_training:")
    message = st.session_state.pop("training_start_message", None)
    if message:
        getattr(st, message[0])(escape_markdown(message[1]))


# --- a model's test figures ------------------------------------------------------------------------
def models_section() -> None:
    st.subheader("Test figures of a model")
    models = list_models()
    if not models:
        st.info(f"No model directory in `{models_root()}`. Make one from a run with "
                "`python -m core export-model --run runs/NAME --out models/NAME`.")
        return
    names = [m.name for m in models]
    model = models[names.index(st.selectbox("Model", names, key="training_model"))]
    table = test_table(model.metrics)
    if len(table.columns) == 1:
        st.warning(f"`{model.path}` has no test figures yet: evaluate it with "
                   f"`python -m core evaluate --model {model.path} --data TEST.h5`.")
    else:
        st.caption(f"Each column is a test file ({model.metrics.get('n_clips', '?')} clips and "
                   f"{model.metrics.get('n_tags', '?')} tags in the first). The course CNN was "
                   "measured on COALA's real Freesound test file: compare with care.")
        st.dataframe(table.style.format("{:.3f}", na_rep="–"), width="content")
        per_tag_section(model.metrics)
    if model.card:
        with st.expander("Model card"):
            st.markdown(model.card)


def per_tag_section(metrics: dict) -> None:
    ap = per_tag_ap(metrics)
    st.markdown(f"**Average precision per tag** ({len(ap)} tags in the test data; click a column "
                "header to sort)")
    if ap.empty:
        st.info("This model's metrics.json has no per-tag average precision.")
        return
    left, right = st.columns([2, 3])
    with left:
        st.dataframe(ap, width="stretch", hide_index=True, height=460,
                     column_config={"AP": st.column_config.ProgressColumn(
                         "AP", min_value=0.0, max_value=1.0, format="%.3f")})
    with right:
        n = (st.slider("Tags in the chart", 5, min(100, len(ap)), min(25, len(ap)),
                       key="training_chart_n") if len(ap) > 5 else len(ap))
        order = st.radio("Show", ["best", "worst"], horizontal=True, key="training_chart_order")
        shown = ap.head(n) if order == "best" else ap.tail(n).iloc[::-1]
        st.altair_chart(ap_bar_chart(shown), width="stretch")


st.title("Training monitor")
existing = runs_section()
with st.expander("Start a training run", expanded=not existing, icon=":material/model_training:"):
    start_form()
st.divider()
models_section()
