"""Home: what this is, the model in use and its card, counts from the store, where to start."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.access import is_loopback, listen_address, login_configured
from app.account import connect_section, handle_redirect
from app.navigation import page
from app.resources import get_store, get_tagger
from app.settings import KEY_HOW_TO, mask_secret, resolve_settings
from app.text import escape_markdown
from app.ui import bind_shared, store_shared
from core.metrics import TABLE_KEYS
from core.registry import RegistryError, active_model, list_registered, promote
from core.store import StoreError

settings = resolve_settings()

st.title("Freesound Tagger")
st.markdown(
    "Tags short sounds with a CNN trained in the COALA format (a vocabulary of 1000 Freesound "
    "tags), and lets you correct those tags by hand. Corrections go to a local DuckDB store and "
    "can be exported to train the model again.")


def exposure_warning() -> None:
    """Served beyond this computer (ADDRESS=0.0.0.0 or the Streamlit flag): say what that means."""
    address = listen_address()
    if is_loopback(address):
        return
    where = f"on `{address}`" if address else "on every network interface"
    if login_configured():
        st.info(f"This app is served {where}: anyone who can reach this address and log in "
                "through your login provider can use it.", icon=":material/public:")
        return
    st.warning(f"This app is served {where}: **anyone who can reach this address can use it**, "
               "with no login. They can listen to your sounds, change their tags, write exports "
               "and start or stop training runs. To keep it to this computer, start it with "
               "`make run` (it listens on 127.0.0.1); to share it, put it behind a login "
               "(README, \"Serving the app to others\").", icon=":material/public:")


def store_counts() -> None:
    try:
        stats = get_store(str(settings.db_path)).stats()
    except (StoreError, OSError) as e:
        st.error(f"The tag store cannot be opened: {escape_markdown(e)}", icon=":material/error:")
        return
    sounds, reviewed = stats["sounds"], stats["reviewed"]
    cols = st.columns(4)
    cols[0].metric("Sounds in the store", f"{sounds:,}")
    cols[1].metric("Reviewed by a person", f"{reviewed:,}")
    cols[2].metric("Not reviewed yet", f"{sounds - reviewed:,}")
    cols[3].metric("Corrections", f"{stats['corrections']:,}")
    by_source = stats["by_source"]
    if by_source:
        st.caption("By source: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_source.items())))


def model_section() -> None:
    st.subheader("The model")
    tagger, problem = get_tagger(settings.model_dir)
    if tagger is None:
        st.warning(problem, icon=":material/warning:")
        registry_section()
        return
    loaded = tagger.loaded
    info = loaded.info
    networks = f" × {info.dims.members} (an ensemble)" if info.dims.members > 1 else ""
    st.markdown(f"**{info.label}** · preset `{info.preset}`{networks} · {len(tagger.vocabulary)} "
                f"tags · running on `{tagger.device}`")
    if info.trained_on:
        st.caption(f"Trained on: {info.trained_on}")
    shown = {k: loaded.metrics[k] for k in TABLE_KEYS
             if isinstance(loaded.metrics.get(k), int | float)}
    if shown:
        data = loaded.metrics.get("data")
        st.caption(f"Test figures ({loaded.metrics.get('n_clips', '?')} clips"
                   + (f" of `{Path(data).name}`" if data else "") + "):")
        for col, (name, value) in zip(st.columns(len(shown)), shown.items(), strict=True):
            col.metric(name.replace("_", " ").replace("roc auc", "ROC-AUC")
                       .replace("pr auc", "PR-AUC"), f"{value:.3f}")
    with st.expander("Model card", expanded=False):
        st.markdown(loaded.card or "_This model directory has no card._")
    registry_section()


def registry_section() -> None:
    """The models in models/, the active one first, with their figures; a click switches."""
    active = active_model()
    if active.note:
        st.warning(escape_markdown(active.note), icon=":material/warning:")
    if message := st.session_state.pop("home_switched", None):
        st.success(message)
    models = list_registered()
    if len(models) < 2 and not active.note:
        return
    st.markdown("**Models** (PR-AUC macro on each evaluation; `python -m core models`)")
    for m in models:
        figures = ", ".join(f"{k} {v:.3f}" for k, v in m.figures.items()) or "no figures yet"
        made = str(m.lineage.get("created_at", ""))[:10]
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(f"{'**' if m.active else ''}{escape_markdown(m.name)}"
                      f"{' (active)**' if m.active else ''} · made {escape_markdown(made or '?')}"
                      f" · from {escape_markdown(m.lineage.get('base_model') or '-')} · "
                      f"{escape_markdown(figures)}")
        if not m.active and right.button("Use this model", key=f"home_use_{m.name}",
                                         disabled=active.source == "environment"):
            try:
                promote(m.name)
            except RegistryError as e:
                st.error(escape_markdown(e))
                continue
            st.session_state["home_switched"] = f"{m.name} is the active model now."
            st.rerun()
    if active.source == "environment":
        st.caption(f"`TAGGER_MODEL` is set ({escape_markdown(active.path)}): it is used whatever "
                   "is promoted; unset it to switch here.")


def start_section() -> None:
    st.subheader("Where to start")
    steps = (("feed", "Review the newest sounds and correct their tags"),
             ("upload", "Tag your own files, keep them in the library"),
             ("training", "Follow training runs and the model's test figures"),
             ("export", "Export the corrected labels to retrain the model"))
    for col, (name, text) in zip(st.columns(len(steps)), steps, strict=True):
        with col.container(border=True):
            st.page_link(page(name))
            st.caption(text)


def settings_section() -> None:
    opened = "account_message" in st.session_state  # show how a sign-in went
    with st.expander("Settings", expanded=opened, icon=":material/settings:"):
        st.markdown(f"- Tag store (DuckDB): `{settings.db_path}` (environment: `TAGGER_DB`)\n"
                    f"- Model directory: `{settings.model_dir}` (environment: `TAGGER_MODEL`; "
                    "else the model promoted in `models/ACTIVE`)\n"
                    f"- Kept uploads: `{settings.audio_dir / 'uploads'}` "
                    "(environment: `TAGGER_AUDIO`)\n"
                    f"- Exports written by the app: `{settings.exports_dir}` "
                    "(environment: `TAGGER_EXPORTS`)\n"
                    f"- Folders of sounds to load: in `{settings.sounds_dir}` "
                    "(environment: `TAGGER_SOUNDS`)")
        where = f" (from the {settings.api_key_source})" if settings.api_key else ""
        st.markdown(f"- Freesound API key: `{settings.api_key_masked}`{where}")
        if not settings.api_key:
            st.info(KEY_HOW_TO, icon=":material/key:")
        if settings.client_id:
            st.markdown(f"- Freesound OAuth2 client: secret `{mask_secret(settings.client_secret)}`")
        st.caption("Paths and the key are read at start-up from the environment and Streamlit "
                   "secrets; the app never writes the key anywhere.")
        connect_section(settings)
        bind_shared("home_user", "user")
        st.text_input("Your name (recorded with each correction)", key="home_user",
                      on_change=store_shared, args=("home_user", "user"), max_chars=64)


handle_redirect(settings)  # Freesound sends the person back here after "Connect"
exposure_warning()
store_counts()
start_section()
model_section()
settings_section()
