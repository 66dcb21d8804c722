"""Training monitor: the runs in runs/ (curves, live while running), starting a run, improving the
model from the store with its before/after and promote/discard, a model's figures."""

from __future__ import annotations

import streamlit as st

from app.improve_view import before_after_section, improve_section
from app.neighbour_view import neighbour_section
from app.text import escape_markdown
from app.training_charts import ap_bar_chart, curve_chart, label
from app.training_models import list_models, models_root, per_tag_ap, test_table
from app.training_runs import RunLog, checkpoints, loss_columns, metric_columns, read_run, runs_dir
from app.training_start import start_form
from core.detached import output_tail, process_alive
from core.runs import Run, RunError, list_runs, resume_run, run_failure, run_state, stop_run
from core.train_checks import Failure

LIVE_REFRESH_S = 3.0  # how often a running run's log is re-read
STATE_BADGE = {"running": ":green[● running]", "finished": "finished", "stopped": ":orange[stopped]",
               "failed": ":red[failed]"}


# --- one run ---------------------------------------------------------------------------------------
def render_run(run: Run, live: bool) -> None:
    """Curves and figures of one run, read afresh from its log on every call."""
    log = read_run(run)
    failure = run_failure(run.path)
    state = run_state(run, log.end, process_alive(run.path), failed=failure is not None)
    if live and state != "running":
        st.rerun()  # it just ended: redraw the page without the timer
    status_line(run, log, state)
    if state == "failed":
        show_failure(failure)
    if state == "running":
        live_progress(run, log)
    if log.epochs.empty:
        st.info("No epoch has finished yet: the curves appear after the first one.")
    else:
        show_last_epoch(log)
        curves(log)
    run_output(run, state)
    run_controls(run, state)


def status_line(run: Run, log: RunLog, state: str) -> None:
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


def show_failure(failure: Failure) -> None:
    """Why the process died, in one line; the traceback (if one was kept) behind an expander."""
    st.error(f"failed: {escape_markdown(failure.reason)}", icon=":material/error:")
    if failure.traceback:
        with st.expander("Traceback (for a bug report)"):
            st.code(failure.traceback, language=None)


def live_progress(run: Run, log: RunLog) -> None:
    done, planned = len(log.epochs), log.planned_epochs
    if planned:
        st.progress(min(done / planned, 1.0), text=f"{done} of at most {planned} epochs")
    if log.batch:  # the trainer's latest batch record (core.train.BatchRecords)
        step, total = int(log.batch.get("step", 0)), int(log.batch.get("n_steps", 0))
        text = (f"teachers scoring the training clips: pass {step} of {total}"
                if log.batch.get("phase") == "teachers" else f"epoch {done + 1}: batch {step} of {total}")
        st.progress(min(step / max(total, 1), 1.0), text=text)


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


def run_output(run: Run, state: str) -> None:
    tail = output_tail(run.path)
    if tail:
        with st.expander("Terminal output of the training process", expanded=state == "stopped"):
            st.code(tail, language=None)
    files = checkpoints(run)
    if files:
        st.caption("Checkpoints: " + ", ".join(f"`{p.name}`" for p in files)
                   + f" · make a model of it: `python -m core export-model --run {run.path} "
                   f"--out models/{run.name}`")


def run_controls(run: Run, state: str) -> None:
    alive = process_alive(run.path)
    if state == "running" and alive:
        if st.button("Stop training", key="training_stop", icon=":material/stop:",
                     help="Stops the run at its next batch, as `python -m core runs stop` does: "
                          "the last finished epoch's checkpoint stays whole, so the run can be "
                          "resumed."):
            stop_run(run.path)
            st.rerun()
    elif state in ("stopped", "failed") and (run.path / "last.pt").is_file():
        if st.button("Resume this run", key="training_resume", icon=":material/play_arrow:"):
            try:
                resume_run(run.path)
            except RunError as e:
                st.error(escape_markdown(e))
                return
            st.rerun()


def runs_section() -> list[Run]:
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
    failed = run_failure(run.path) is not None
    live = run_state(run, read_run(run).end, process_alive(run.path), failed=failed) == "running"
    st.fragment(run_every=LIVE_REFRESH_S if live else None)(render_run)(run, live)
    return runs


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
improve_section()
before_after_section()
st.divider()
neighbour_section()
st.divider()
models_section()
