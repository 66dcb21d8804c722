"""Streamlit entrypoint: page config, shared session defaults, and the router over pages/.

Run with `streamlit run app/main.py` from the project root (`make run` does it for you).
"""

from __future__ import annotations

import os

import streamlit as st

from app.access import require_login
from app.navigation import navigation

st.set_page_config(page_title="Freesound Tagger", page_icon=":material/graphic_eq:",
                   layout="wide", initial_sidebar_state="expanded")
require_login()  # only when .streamlit/secrets.toml has an [auth] section (app/access.py)

# Shared across pages for the whole browser session.
st.session_state.setdefault("user", os.environ.get("TAGGER_USER") or "local")  # who corrects
st.session_state.setdefault("threshold", 0.5)  # score from which a predicted tag counts

navigation().run()
