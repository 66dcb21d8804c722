"""Streamlit entrypoint (placeholder until the app issue lands)."""

import streamlit as st

st.set_page_config(page_title="Freesound Tagger", layout="wide")
st.title("Freesound Tagger")
st.write("Tag short sounds with a COALA-compatible CNN, and curate the tags by hand.")
