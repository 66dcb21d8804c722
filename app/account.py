"""Your Freesound account in the app: connect (OAuth2), upload a sound with its curated tags,
follow it through moderation, push tag corrections of your own sounds.

Tokens stay in the token file (core/oauth.py); the page never shows, logs or stores them.
Nothing is sent to Freesound without a click on a button that says so.
"""

from __future__ import annotations

import streamlit as st

from app.settings import AppSettings, session_threshold
from app.text import escape_markdown
from core.account import LICENSES, UPLOAD_STATES, AccountClient, UploadForm, freesound_tags
from core.freesound import ClientConfig, FreesoundError
from core.oauth import (
    Account,
    OAuthApp,
    StateBook,
    authorize_url,
    check_redirect,
)
from core.store import Sound, StoreError, TagStore
from core.uploads import (
    own_sound,
    push_tags,
    refresh_upload_state,
    suggested_tags,
    tags_to_push,
    upload_sound,
    uploadable,
)

APP_HELP = ("Register this app at https://freesound.org/apiv2/apply with the callback URL of "
            "this page (e.g. `http://127.0.0.1:8501/`), then set `FREESOUND_CLIENT_ID` and "
            "`FREESOUND_CLIENT_SECRET` in `.streamlit/secrets.toml` or the environment.")


@st.cache_resource
def state_book() -> StateBook:
    """Authorize links handed out by this server process (a redirect may land in a new tab)."""
    return StateBook()


def account_for(settings: AppSettings) -> Account | None:
    if not (settings.client_id and settings.client_secret):
        return None
    return Account(OAuthApp(settings.client_id, settings.client_secret, settings.api_url.rstrip("/")))


def client_for(settings: AppSettings, account: Account) -> AccountClient:
    config = ClientConfig(api_url=settings.api_url, rate_state=settings.request_counter)
    return AccountClient(account, config)


def signed_in_user(settings: AppSettings) -> str | None:
    """The connected username, from the token file (no request to Freesound)."""
    account = account_for(settings)
    tokens = account.signed_in() if account else None
    return tokens.username if tokens else None


def handle_redirect(settings: AppSettings) -> None:
    """Freesound sent the person back here with `?code=...&state=...` (or `?error=...`)."""
    params = st.query_params
    if "code" not in params and "error" not in params:
        return
    got = {k: params.get(k) for k in ("code", "state", "error")}
    st.query_params.clear()  # the code is used once and must not stay in the address bar
    st.session_state.pop("account_state", None)  # a fresh link for the next attempt
    account = account_for(settings)
    if account is None:
        st.error("Freesound sent a sign-in code, but this app has no OAuth2 credentials. "
                 + APP_HELP)
        return
    try:
        code = check_redirect(got, state_book().take(got.get("state")))
        _sign_in(settings, account, code)
    except FreesoundError as e:
        st.session_state["account_message"] = ("error", str(e))


def _sign_in(settings: AppSettings, account: Account, code: str) -> None:
    with client_for(settings, account) as client:
        tokens = account.sign_in(code, client.me)
    st.session_state["account_message"] = ("success", f"Connected to Freesound as {tokens.username}.")
    st.session_state.pop("account_state", None)


def connect_section(settings: AppSettings) -> None:
    """Home > Settings: connect, show who is connected, disconnect."""
    st.markdown("**Your Freesound account** (to upload sounds and push tag corrections)")
    account = account_for(settings)
    _message()
    if account is None:
        st.info("To connect your Freesound account: " + APP_HELP, icon=":material/key:")
        return
    tokens = account.signed_in()
    if tokens:
        st.markdown(f"Connected as **{escape_markdown(tokens.username)}** · tokens in "
                    f"`{account.file.path}` (readable by you only)")
        if st.button("Disconnect", key="home_account_disconnect", icon=":material/logout:"):
            account.sign_out()
            st.rerun()
        return
    _connect(settings, account)


def _connect(settings: AppSettings, account: Account) -> None:
    if "account_state" not in st.session_state:
        st.session_state["account_state"] = state_book().issue()
    st.link_button("Connect your Freesound account", authorize_url(
        account.app, st.session_state["account_state"]), icon=":material/link:")
    st.caption("Freesound asks you to allow access, then sends you back here. If it shows a "
               "code instead, paste it below (codes last 10 minutes).")
    with st.form("home_account_code", border=False):
        code = st.text_input("Authorization code", key="home_account_code_text", type="password")
        if st.form_submit_button("Sign in with this code") and code.strip():
            try:
                _sign_in(settings, account, code)
            except FreesoundError as e:
                st.session_state["account_message"] = ("error", str(e))
            st.rerun()


def _message() -> None:
    message = st.session_state.pop("account_message", None)
    if message:
        getattr(st, message[0])(escape_markdown(message[1]))


def account_panel(store: TagStore, sound: Sound, prefix: str, settings: AppSettings) -> None:
    """On a sound card: upload it, its upload's state, or push tags of one's own sound."""
    user = signed_in_user(settings)
    if sound.upload_state:
        _upload_state(store, sound, prefix, settings, user)
    if uploadable(sound) is None:
        with st.expander("Upload to Freesound", icon=":material/cloud_upload:"):
            _upload_form(store, sound, prefix, settings, user)
    elif own_sound(sound, user):
        with st.expander("Update tags on Freesound", icon=":material/sync:"):
            _update_tags(store, sound, prefix, settings)


def _failed(action: str, error: Exception) -> None:
    st.error(f"{action}: {escape_markdown(error)}", icon=":material/error:")


def _upload_form(store: TagStore, sound: Sound, prefix: str, settings: AppSettings,
                 user: str | None) -> None:
    if not user:
        st.caption("Connect your Freesound account first (Home > Settings).")
        return
    key = f"{prefix}_{sound.id}_fs"
    suggested = list(suggested_tags(store, sound.id, session_threshold()))
    with st.form(f"{key}_form"):
        name = st.text_input("Name", value=sound.name, key=f"{key}_name", max_chars=512)
        description = st.text_area("Description", key=f"{key}_description",
                                   placeholder="What is it, how was it recorded or made?")
        licence = st.selectbox("Licence", LICENSES, index=None, key=f"{key}_license",
                               placeholder="Choose a licence")
        tags = st.multiselect("Tags · Freesound requires at least 3 (suggested: the model's tags "
                              "above the threshold, with your corrections)", suggested,
                              default=suggested, accept_new_options=True, key=f"{key}_tags")
        pack = st.text_input("Pack (optional)", key=f"{key}_pack")
        geotag = st.text_input("Geotag (optional): latitude, longitude, zoom", key=f"{key}_geotag",
                               placeholder="41.38, 2.17, 14")
        sent = st.form_submit_button(f"Upload to Freesound as {user}", type="primary",
                                     icon=":material/cloud_upload:")
    if sent:
        _send_upload(store, sound, settings, name, description, licence, tags, pack, geotag)


def _send_upload(store: TagStore, sound: Sound, settings: AppSettings, name: str,
                 description: str, licence: str | None, tags: list[str], pack: str,
                 geotag: str) -> None:
    try:
        form = UploadForm(name, description, licence or "", freesound_tags(tags), pack or None,
                          _geotag(geotag))
    except ValueError as e:
        _failed("Not uploaded", e)
        return
    if form.problems():
        st.error("Not uploaded: " + escape_markdown("; ".join(form.problems())) + ".")
        return
    try:
        with st.spinner("Uploading the file to Freesound…"), \
                client_for(settings, account_for(settings)) as client:
            upload_sound(client, store, sound.id, form)
    except (FreesoundError, StoreError, OSError) as e:
        _failed("Not uploaded", e)
        return
    st.rerun()


def _geotag(text: str) -> tuple[float, float, int] | None:
    if not text.strip():
        return None
    try:
        lat, lon, zoom = (part.strip() for part in text.split(","))
        return float(lat), float(lon), int(zoom)
    except ValueError as e:
        raise ValueError("the geotag takes latitude, longitude, zoom (e.g. 41.38, 2.17, 14)") from e


def _upload_state(store: TagStore, sound: Sound, prefix: str, settings: AppSettings,
                  user: str | None) -> None:
    state = sound.upload_state or ""
    where = f"sound {sound.freesound_id}" if sound.freesound_id else "no id yet"
    text = f"On Freesound ({where}): **{state.replace('_', ' ')}** · {UPLOAD_STATES.get(state, '')}"
    if state in ("gone", "processing_failed"):
        st.warning(text, icon=":material/report:")
    else:
        st.caption(text)
    if state == "published" or not user:
        return
    if st.button("Check status on Freesound", key=f"{prefix}_{sound.id}_fs_check",
                 icon=":material/refresh:"):
        try:
            with client_for(settings, account_for(settings)) as client:
                refresh_upload_state(client, store, sound.id)
        except (FreesoundError, StoreError) as e:
            _failed("Could not check", e)
            return
        st.rerun()


def _update_tags(store: TagStore, sound: Sound, prefix: str, settings: AppSettings) -> None:
    key = f"{prefix}_{sound.id}_fs_diff"
    threshold = session_threshold()
    if st.button("Compare with Freesound", key=f"{key}_compare", icon=":material/compare_arrows:"):
        try:
            with client_for(settings, account_for(settings)) as client:
                st.session_state[key] = tags_to_push(client, store, sound.id, threshold)
        except (FreesoundError, StoreError) as e:
            _failed("Could not compare", e)
            return
    diff = st.session_state.get(key)
    if diff is None:
        return
    for label, tags in (("On Freesound", diff.on_freesound), ("Curated here", diff.curated),
                        ("Added", diff.added), ("Removed", diff.removed)):
        st.markdown(f"{label}: {escape_markdown(' '.join(tags) or '(none)')}")
    if st.button("Send the curated tags to Freesound", key=f"{key}_send", type="primary",
                 disabled=not diff.changed, icon=":material/sync:"):
        try:
            with client_for(settings, account_for(settings)) as client:
                st.success(escape_markdown(push_tags(client, store, sound.id, diff)))
            st.session_state.pop(key, None)
        except (FreesoundError, StoreError) as e:
            _failed("Not sent", e)
