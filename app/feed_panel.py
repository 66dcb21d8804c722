"""The "fetch now" area of the feed page (filled in once core/feed.py lands)."""

from __future__ import annotations

import streamlit as st

from app.settings import KEY_HOW_TO, AppSettings
from core.store import TagStore


def fetch_panel(store: TagStore, settings: AppSettings) -> None:
    with st.expander("Fetch new sounds", icon=":material/cloud_download:"):
        if not settings.api_key:
            st.info(KEY_HOW_TO, icon=":material/key:")
