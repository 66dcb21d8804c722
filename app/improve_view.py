"""The training page's loop back from the store: improve the model, compare before and after,
promote or discard, re-tag the store. Widgets only; the work is in core (improve, registry,
retag) and app/jobs.py starts it as detached processes."""

from __future__ import annotations

import streamlit as st

from app.jobs import job_state, retag_folder, running_improvements, start_improve, start_retag
from app.model_compare import (
    changed_tags,
    compared,
    course_table,
    per_tag_table,
    read_comparison,
    summary_table,
)
from app.settings import resolve_settings
from app.text import escape_markdown
from core.registry import RegistryError, active_model, discard, list_registered, promote
from core.runs import RunError


def improve_section() -> None:
    st.subheader("Improve the model from the store")
    st.caption("Fine-tunes the active model on the store's sounds (their uploaders' tags, and the "
               "curators' corrections) mixed with the corpora it was trained on, then compares old "
               "and new on the same held-out sounds (`python -m core improve`). Nothing changes "
               "until you promote the new model below.")
    settings = resolve_settings()
    left, right = st.columns(2)
    with left:
        epochs = st.number_input("Epochs", 1, 30, 4, key="training_improve_epochs")
        if st.button("Improve the model", key="training_improve", icon=":material/auto_fix_high:"):
            _start(lambda: start_improve(settings.db_path, int(epochs)), "Improvement started")
        _show_jobs([p for p in running_improvements()][-1:])
    with right:
        only = st.checkbox("Only sounds nobody has reviewed", key="training_retag_unreviewed")
        if st.button("Re-tag the store with the active model", key="training_retag",
                     icon=":material/sell:", help="Stores the active model's predictions beside "
                     "the old ones; corrections are never touched (`python -m core retag`)."):
            _start(lambda: start_retag(settings.db_path, only), "Re-tagging started")
        _show_jobs([retag_folder()])


def _start(action, message: str) -> None:
    try:
        folder = action()
    except (RunError, OSError) as e:
        st.error(escape_markdown(e))
        return
    st.success(f"{message}: its output is in `{folder}`.")


def _show_jobs(folders) -> None:
    for folder in folders:
        state, tail = job_state(folder)
        if state:
            st.caption(f"`{folder.name}`: {state}")
            if tail:
                st.code(tail, language=None)


def before_after_section() -> None:
    st.subheader("Before and after")
    if message := st.session_state.pop("training_decided", None):
        st.success(message)
    models = [(m, read_comparison(m.path)) for m in list_registered()]
    models = [(m, c) for m, c in models if c is not None]
    if not models:
        st.info("No improved model yet: improve the model above, or run `python -m core improve`.")
        return
    names = [m.name for m, _ in models]
    model, comparison = models[names.index(st.selectbox("Improved model", names,
                                                        key="training_compare_model"))]
    base = comparison.get("base", "?")
    st.markdown(f"**{escape_markdown(model.name)}**, fine-tuned from `{base}`"
                + blend_note(model.lineage) + (" · :green[active]" if model.active else ""))
    entries = compared(comparison)
    if not entries:
        st.warning("This comparison holds no figures.")
        return
    st.dataframe(summary_table(comparison).style.format(
        {"PR-AUC macro before": "{:.3f}", "PR-AUC macro after": "{:.3f}", "change": "{:+.3f}"}),
        hide_index=True, width="content")
    _corrections(entries)
    label = st.selectbox("Data", list(entries), key="training_compare_data")
    _per_tag(entries[label])
    _decide(model)


def blend_note(lineage: dict) -> str:
    """How the new weights mix the fine-tune and its base (core.improve.blend), when recorded."""
    blend = lineage.get("blend")
    if not blend:
        return ""
    alpha = float(blend["alpha"])
    if alpha == 1.0:
        return ", kept as fine-tuned (no blend with the base scored better on validation)" \
            if blend.get("chosen_on_validation") else ", kept as fine-tuned"
    how = "chosen on validation" if blend.get("chosen_on_validation") else "as asked"
    return f", blended {alpha:g} × fine-tuned + {1 - alpha:g} × base weights ({how})"


def _corrections(entries: dict) -> None:
    for label, entry in entries.items():
        c = entry.get("corrections")
        if c and c.get("total"):
            st.markdown(f"Corrections on the {escape_markdown(label)} sounds: the new model "
                        f"predicts **{c['new']} of {c['total']}**, the old one {c['old']}.")


def _per_tag(entry: dict) -> None:
    better, worse = changed_tags(entry)
    left, right = st.columns(2)
    left.markdown("**Better:** " + (escape_markdown(", ".join(better)) if better else "none"))
    right.markdown("**Worse:** " + (escape_markdown(", ".join(worse)) if worse else "none"))
    st.dataframe(course_table(entry).style.format("{:.3f}"), width="content")
    st.dataframe(per_tag_table(entry), hide_index=True, height=320, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("AP before", "AP after", "change")})


def _decide(model) -> None:
    left, right = st.columns(2)
    if left.button(f"Promote {model.name}", key="training_promote", disabled=model.active,
                   icon=":material/verified:", help="Make it the active model of the app, the "
                   "command line and the feed (`python -m core promote`)."):
        _act(lambda: promote(model.name), f"{model.name} is the active model now.")
    if right.button(f"Discard {model.name}", key="training_discard", disabled=model.active,
                    icon=":material/delete:", help="Delete this model directory."):
        _act(lambda: discard(model.name), f"{model.name} was discarded.")
    active = active_model()
    if active.source == "environment":
        st.caption(f"TAGGER_MODEL is set ({active.path}): it is used whatever is promoted.")


def _act(action, message: str) -> None:
    try:
        action()
    except (RegistryError, OSError) as e:
        st.error(escape_markdown(e))
        return
    st.session_state["training_decided"] = message
    st.rerun()
