"""Who can use the app: the address the server listens on, and an optional login (OIDC).

The committed .streamlit/config.toml binds to 127.0.0.1, so only this computer can open the app.
Serving it to others is a choice (`make run ADDRESS=0.0.0.0`); the home page then warns. With an
`[auth]` section in .streamlit/secrets.toml, every visitor logs in first through Streamlit's
st.login (README, "Serving the app to others").
"""

from __future__ import annotations

import importlib.util
import ipaddress

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError


def listen_address() -> str:
    """The address the server listens on ("" when unset: every interface)."""
    return str(st.get_option("server.address") or "")


def is_loopback(address: str) -> bool:
    """Whether only this computer can reach a server listening on `address`."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # unset (every interface) or a host name: assume others can reach it


def login_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (an OIDC provider for st.login)."""
    try:
        return "auth" in st.secrets
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return False


def require_login() -> None:
    """With login configured, a visitor who has not logged in sees a login button and nothing else."""
    if not login_configured() or getattr(st.user, "is_logged_in", False):
        return
    st.title("Freesound Tagger")
    if importlib.util.find_spec("authlib") is None:  # st.login needs it; the app stays closed
        st.error("Login is set up in `.streamlit/secrets.toml` ([auth]), but Authlib, which "
                 "Streamlit's login needs, is not installed: run `.venv/bin/pip install Authlib` "
                 "and restart the app.", icon=":material/lock:")
        st.stop()
    st.info("Log in to use this app.", icon=":material/lock:")
    st.button("Log in", key="access_login", on_click=st.login, type="primary",
              icon=":material/login:")
    st.stop()
