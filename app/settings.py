"""Where the app finds its database, model and API key: environment and Streamlit secrets only.

The API key is read from the Streamlit secret FREESOUND_API_KEY or the environment variable of the
same name. The app never writes it anywhere and only ever shows it masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from core.freesound import DEFAULT_API_URL
from core.modeldir import default_model_dir
from core.oauth import CLIENT_ID_ENV, CLIENT_SECRET_ENV
from core.store import default_db_path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
API_KEY_NAME = "FREESOUND_API_KEY"
KEY_HOW_TO = (
    "Set a Freesound API key (free, from https://freesound.org/apiv2/apply) either in "
    "`.streamlit/secrets.toml` as `FREESOUND_API_KEY = \"...\"` or as the environment variable "
    "`FREESOUND_API_KEY` before starting the app. The app never stores the key itself.")


@dataclass(frozen=True)
class AppSettings:
    db_path: Path  # the DuckDB tag store ($TAGGER_DB, else data/tags.duckdb)
    model_dir: Path  # the active model: $TAGGER_MODEL, else the promoted one, else models/default
    audio_dir: Path  # kept uploads go to <audio_dir>/uploads ($TAGGER_AUDIO, else next to the db)
    exports_dir: Path  # the only folder the app writes exports to ($TAGGER_EXPORTS, else next to the db)
    api_key: str | None  # Freesound API key, or None when neither secret nor env var is set
    api_key_source: str  # "Streamlit secret", "environment variable" or "" when unset
    api_url: str  # Freesound API base ($FREESOUND_API_URL, else the real API)
    demo_dir: Path  # the bundled demo sounds, ingested without a key
    sounds_dir: Path  # the feed page offers the folders of sounds in here ($TAGGER_SOUNDS, else data/)
    client_id: str | None = None  # OAuth2 Client id (FREESOUND_CLIENT_ID, secret or environment)
    client_secret: str | None = field(default=None, repr=False)  # its secret: never shown

    @property
    def api_key_masked(self) -> str:
        return mask_secret(self.api_key)


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
    db = default_db_path()
    audio = Path(os.environ.get("TAGGER_AUDIO") or db.parent / "audio")
    exports = Path(os.environ.get("TAGGER_EXPORTS") or db.parent / "exports")
    key, source = api_key()
    return AppSettings(db, Path(default_model_dir()), audio, exports, key, source,
                       os.environ.get("FREESOUND_API_URL") or DEFAULT_API_URL, DEMO_DIR,
                       Path(os.environ.get("TAGGER_SOUNDS") or DEMO_DIR.parent),
                       api_key(CLIENT_ID_ENV)[0], api_key(CLIENT_SECRET_ENV)[0])
