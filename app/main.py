"""Streamlit entrypoint: page config, shared session defaults, and the router over pages/.

Run with `streamlit run app/main.py` from the project root (`make run` does it for you).
"""

from __future__ import annotations

import streamlit as st

from app.access import require_login
from app.navigation import navigation
from app.settings import set_session_defaults

st.set_page_config(page_title="Freesound Tagger", page_icon=":material/graphic_eq:",
                   layout="wide", initial_sidebar_state="expanded")
require_login()  # only when .streamlit/secrets.toml has an [auth] section (app/access.py)

# Shared across pages for the whole browser session.
set_session_defaults()  # who corrects, the threshold from which a predicted tag counts

navigation().run()
