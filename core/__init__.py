"""Freesound Tagger library: audio, COALA features, the CNN, training, the tag store, the feed.

Nothing in `core` imports streamlit; the app in `app/` and `pages/` is a thin view over it.
"""
