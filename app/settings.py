"""Where the app finds its database, model and API key: the library's settings (core/settings.py,
the same as every command's defaults) and the secrets, from Streamlit secrets or the environment.

The API key is read from the Streamlit secret FREESOUND_API_KEY or the environment variable of the
same name. The app never writes it anywhere and only ever shows it masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from core.modeldir import default_model_dir
from core.oauth import CLIENT_ID_ENV, CLIENT_SECRET_ENV
from core.settings import Settings, settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
API_KEY_NAME = "FREESOUND_API_KEY"
KEY_HOW_TO = (
    "Set a Freesound API key (free, from https://freesound.org/apiv2/apply) either in "
    "`.streamlit/secrets.toml` as `FREESOUND_API_KEY = \"...\"` or as the environment variable "
    "`FREESOUND_API_KEY` before starting the app. The app never stores the key itself.")


@dataclass(frozen=True)
class AppSettings:
    core: Settings  # the library's settings: database, folders, threshold, predictions kept, user
    model_dir: Path  # the active model: $TAGGER_MODEL, else the promoted one, else models/default
    api_key: str | None  # Freesound API key, or None when neither secret nor env var is set
    api_key_source: str  # "Streamlit secret", "environment variable" or "" when unset
    demo_dir: Path  # the bundled demo sounds, ingested without a key
    client_id: str | None = None  # OAuth2 Client id (FREESOUND_CLIENT_ID, secret or environment)
    client_secret: str | None = field(default=None, repr=False)  # its secret: never shown

    @property
    def api_key_masked(self) -> str:
        return mask_secret(self.api_key)

    # The library's settings under the names the pages use.
    db_path = property(lambda self: self.core.db)
    audio_dir = property(lambda self: self.core.audio_dir)  # kept uploads go to <audio_dir>/uploads
    exports_dir = property(lambda self: self.core.exports_dir)
    sounds_dir = property(lambda self: self.core.sounds_dir)
    api_url = property(lambda self: self.core.api_url)
    request_counter = property(lambda self: self.core.request_counter)


def session_threshold() -> float:
    """The threshold chosen in this browser session (Home), else the settings' default."""
    return float(st.session_state.get("threshold", settings().threshold))


def session_user() -> str:
    """Who makes corrections in this browser session: $TAGGER_USER, else "local"."""
    return str(st.session_state.get("user") or settings().user)


def set_session_defaults() -> None:
    """The shared session values every page reads, from the settings (app/main.py; a page run
    alone, as in tests, calls it too)."""
    st.session_state.setdefault("user", settings().user)  # who corrects
    st.session_state.setdefault("threshold", settings().threshold)  # from which a tag counts


def mask_secret(value: str | None) -> str:
    """Show at most the last 4 characters of a secret, and none of a short one."""
    if not value:
        return "(not set)"
    tail = value[-4:] if len(value) >= 16 else ""
    return "•" * 8 + tail


def api_key(name: str = API_KEY_NAME) -> tuple[str | None, str]:
    """(value, where it came from) of a secret setting: a Streamlit secret first, then the
    environment."""
    try:
        secret = st.secrets.get(name)
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        secret = None
    if secret:
        return str(secret).strip(), "Streamlit secret"
    env = os.environ.get(name, "").strip()
    return (env, "environment variable") if env else (None, "")


def resolve_settings() -> AppSettings:
    key, source = api_key()
    return AppSettings(settings(), Path(default_model_dir()), key, source, DEMO_DIR,
                       api_key(CLIENT_ID_ENV)[0], api_key(CLIENT_SECRET_ENV)[0])
