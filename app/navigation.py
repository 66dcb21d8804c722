"""The app's pages in one table, so the router and in-page links name them the same way."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# name -> (file in pages/, title, icon, url path); "" is the default page at "/".
PAGES = {
    "home": ("home.py", "Home", ":material/home:", ""),
    "feed": ("feed.py", "Feed and review", ":material/library_music:", "feed"),
    "upload": ("upload.py", "Upload and tag", ":material/upload_file:", "upload"),
    "training": ("training.py", "Training monitor", ":material/monitoring:", "training"),
    "export": ("export.py", "Export", ":material/download:", "export"),
}
SECTIONS = {"Tagger": ("home", "feed", "upload"), "Model and data": ("training", "export")}


def page(name: str) -> st.Page:
    file, title, icon, url = PAGES[name]
    if not url:
        return st.Page(PAGES_DIR / file, title=title, icon=icon, default=True)
    return st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=url)


def navigation() -> st.navigation:
    return st.navigation({section: [page(n) for n in names] for section, names in SECTIONS.items()})
