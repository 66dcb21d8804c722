"""Training monitor: the runs in runs/ (curves, live while running) and the test figures of a model."""

from __future__ import annotations

import streamlit as st

from app.text import escape_markdown
from app.training_models import list_models, models_root, per_tag_ap, test_table
from app.training_runs import (
    RunInfo,
    checkpoints,
    list_runs,
    loss_columns,
    metric_columns,
    read_run,
    run_state,
    runs_dir,
)

LIVE_REFRESH_S = 3.0  # how often a running run's log is re-read
STATE_BADGE = {"running": ":green[● running]", "finished": "finished", "stopped": ":orange[stopped]"}


def render_run(run: RunInfo) -> None:
    """Curves and figures of one run, read afresh from its log on every call."""
    log = read_run(run)
    state = run_state(run, log)
    frame = log.epochs
    st.markdown(f"**{escape_markdown(run.name)}**: {STATE_BADGE[state]}, "
                f"{len(frame)} epoch{'s' if len(frame) != 1 else ''} logged")
    if run.log_path is None:
        st.info("This run folder has no JSON-lines log yet.")
        return
    if frame.empty:
        st.info("No epoch has finished yet: the curves appear after the first one.")
        return
    show_last_epoch(frame)
    left, right = st.columns(2)
    with left:
        st.caption("Loss (train and validation)")
        st.line_chart(frame[loss_columns(frame)], x_label="epoch")
    with right:
        st.caption("Validation metrics")
        st.line_chart(frame[metric_columns(frame)], x_label="epoch")
    with st.expander("Every epoch"):
        st.dataframe(frame, width="stretch")
    if log.final:
        with st.expander("Final record"):
            st.json(log.final)


def show_last_epoch(frame) -> None:
    last = frame.iloc[-1]
    prev = frame.iloc[-2] if len(frame) > 1 else None
    keys = [k for k in (*loss_columns(frame), *metric_columns(frame)) if k in last][:6]
    for col, key in zip(st.columns(max(1, len(keys))), keys, strict=False):
        delta = None if prev is None else float(last[key] - prev[key])
        col.metric(key, f"{last[key]:.4f}", None if delta is None else f"{delta:+.4f}",
                   delta_color="inverse" if "loss" in key else "normal")


def runs_section() -> None:
    st.subheader("Runs")
    root = runs_dir()
    runs = list_runs(root)
    if not runs:
        st.info(f"No training runs in `{root}` yet. Start one with "
                "`python -m core train --data TRAIN.h5 --out runs/NAME`; it appears here as it goes.")
        return
    names = [r.name for r in runs]
    choice = st.selectbox("Run", names, key="training_run", help=f"Run folders in {root}")
    run = runs[names.index(choice)]
    live = run_state(run, read_run(run)) == "running"
    st.fragment(run_every=LIVE_REFRESH_S if live else None)(render_run)(run)
    ckpts = checkpoints(run)
    if ckpts:
        st.caption("Checkpoints: " + ", ".join(escape_markdown(p.name) for p in ckpts))


def models_section() -> None:
    st.subheader("Test figures of a model")
    models = list_models()
    if not models:
        st.info(f"No model directory in `{models_root()}`. Export one from a run with "
                "`python -m core export-model --run runs/NAME --out models/NAME`.")
        return
    names = [m.name for m in models]
    model = models[names.index(st.selectbox("Model", names, key="training_model"))]
    if not model.metrics:
        st.warning(f"`{model.path}` has no metrics.json: evaluate it with "
                   f"`python -m core evaluate --model {model.path} --data TEST.h5`.")
    else:
        st.caption("Test table beside the course project's CNN on the COALA test file. "
                   "The two were measured on different test sets: read them side by side, not as a race.")
        st.dataframe(test_table(model.metrics).style.format("{:.3f}", na_rep="–"), width="content")
        per_tag_section(model.metrics)
    if model.card:
        with st.expander("Model card"):
            st.markdown(model.card)


def per_tag_section(metrics: dict) -> None:
    ap = per_tag_ap(metrics)
    st.markdown(f"**Average precision per tag** ({len(ap)} tags with test examples)")
    if ap.empty:
        st.info("This model's metrics.json has no per-tag average precision.")
        return
    left, right = st.columns([2, 3])
    with left:
        st.dataframe(ap, width="stretch", hide_index=True, height=420,
                     column_config={"AP": st.column_config.ProgressColumn(
                         "AP", min_value=0.0, max_value=1.0, format="%.3f")})
    with right:
        n = st.slider("Tags in the chart", 5, max(5, min(100, len(ap))), min(30, max(5, len(ap))),
                      key="training_chart_n") if len(ap) > 5 else len(ap)
        order = st.radio("Show", ["best", "worst"], horizontal=True, key="training_chart_order")
        shown = ap.head(n) if order == "best" else ap.tail(n).iloc[::-1]
        st.bar_chart(shown, x="tag", y="AP", horizontal=True, sort=False, height=420)


st.title("Training monitor")
runs_section()
st.divider()
models_section()
