"""The Freesound account in the app (AppTest) against the fake Freesound: connect by redirect and
by pasted code, upload from a card with its curated tags, moderation states, tags pushed to one's
own sound only, and no token on any page or in the session."""

from __future__ import annotations

import pytest

from core.oauth import TokenFile
from core.store import TagStore
from tests.app_fixtures import add_real_sounds, open_page, plain, point_app_at
from tests.freesound_server import FakeFreesound
from tests.freesound_server_account import ACCOUNT, CLIENT_ID, CLIENT_SECRET

CREDENTIALS = {"FREESOUND_CLIENT_ID": CLIENT_ID, "FREESOUND_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture
def env(monkeypatch, tmp_path, tiny_model_dir):
    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with FakeFreesound(n_sounds=2) as fs:
        monkeypatch.setenv("FREESOUND_API_URL", fs.api_url)
        yield db, fs, tmp_path


def token_file(tmp_path) -> TokenFile:
    return TokenFile(tmp_path / "config" / "freesound-tagger" / "freesound-token.json")


def link_url(at) -> str:
    (link,) = [e for e in at.get("link_button") if "Connect" in e.proto.label]
    return link.proto.url


def signed_in_home(fs):
    at = open_page(secrets=CREDENTIALS)
    at.text_input(key="home_account_code_text").input(fs.account.grant_code())
    next(b for b in at.button if "Sign in with this code" in b.label).click()
    return at.run()


def secrets_seen(at, fs) -> list[str]:
    page = plain(at) + str(dict(at.session_state.items()))
    return [s for s in [*fs.account.tokens_issued, CLIENT_SECRET] if s in page]


def test_without_credentials_the_page_says_how_to_get_them(env):
    at = open_page()
    assert not at.exception
    assert "FREESOUND_CLIENT_ID" in plain(at, ("info",))
    assert not at.get("link_button")


def test_connect_by_pasted_code_then_disconnect(env):
    db, fs, tmp_path = env
    at = open_page(secrets=CREDENTIALS)
    url = link_url(at)
    assert url.startswith(f"{fs.api_url}/oauth2/authorize/?client_id={CLIENT_ID}&response_type=code")
    at = signed_in_home(fs)
    assert not at.exception
    assert f"Connected as **{ACCOUNT}**" in plain(at)
    assert token_file(tmp_path).load().username == ACCOUNT
    assert secrets_seen(at, fs) == [] and CLIENT_SECRET[-4:] in plain(at)  # masked, like the key
    at.button(key="home_account_disconnect").click().run()
    assert token_file(tmp_path).load() is None and "Connected as" not in plain(at)


def test_connect_by_redirect_back_to_the_app(env):
    db, fs, tmp_path = env
    at = open_page(secrets=CREDENTIALS)
    state = at.session_state["account_state"]
    assert f"state={state}" in link_url(at)
    at.query_params["code"] = fs.account.grant_code()
    at.query_params["state"] = state
    at.run()
    assert not at.exception
    assert f"Connected to Freesound as {ACCOUNT}" in plain(at, ("success",))
    assert "code" not in at.query_params  # used once, gone from the address bar
    assert secrets_seen(at, fs) == []


def test_denied_consent_forged_state_and_an_expired_code_say_what_to_do(env):
    db, fs, tmp_path = env
    at = open_page(secrets=CREDENTIALS)
    at.query_params["error"] = "access_denied"
    at.run()
    assert "did not allow access" in plain(at, ("error",))
    at.query_params["code"], at.query_params["state"] = fs.account.grant_code(), "forged"
    at.run()
    assert "not started here" in plain(at, ("error",))
    fs.account.code_ttl_s = 0.0
    at = signed_in_home(fs)
    assert "older than 10 minutes" in plain(at, ("error",))
    assert token_file(tmp_path).load() is None


def upload_from_card(at, sound_id: int, tags: list[str] | None = None):
    key = f"feed_{sound_id}_fs"
    at.text_area(key=f"{key}_description").input("A tone made by a test.")
    at.selectbox(key=f"{key}_license").set_value("Creative Commons 0")
    if tags is not None:
        at.multiselect(key=f"{key}_tags").set_value(tags)
    next(b for b in at.button if b.label.startswith("Upload to Freesound as")).click()
    return at.run()


def test_upload_from_a_card_with_curated_tags_then_moderation(env):
    db, fs, tmp_path = env
    (sid,) = add_real_sounds(db, tmp_path / "audio", 1, source="upload")
    TagStore(db).label(sid, add=["bell"])
    signed_in_home(fs)
    at = open_page("feed", secrets=CREDENTIALS)
    assert at.multiselect(key=f"feed_{sid}_fs_tags").value == ["piano", "note", "bell"]
    at = upload_from_card(at, sid, tags=["piano", "note"])  # two: refused before sending
    assert "at least 3 different tags" in plain(at, ("error",)) and fs.account.uploads == []
    at = upload_from_card(at, sid, tags=["piano", "note", "bell"])
    assert not at.exception
    (upload,) = fs.account.uploads
    assert upload.fields["tags"] == "piano note bell"
    assert upload.data == open(TagStore(db).get_sound(sid).audio_path, "rb").read()
    assert TagStore(db).get_sound(sid).freesound_id == upload.id
    assert "pending processing" in plain(at)
    fs.account.moderate(upload.id, "pending_moderation")
    at.button(key=f"feed_{sid}_fs_check").click().run()
    assert "pending moderation" in plain(at)
    assert secrets_seen(at, fs) == []


def test_upload_needs_a_connected_account(env):
    db, fs, tmp_path = env
    (sid,) = add_real_sounds(db, tmp_path / "audio", 1, source="upload")
    at = open_page("feed", secrets=CREDENTIALS)
    assert "Connect your Freesound account first" in plain(at)
    assert not [b for b in at.button if b.label.startswith("Upload to Freesound as")]


def test_tags_are_pushed_to_ones_own_sound_after_the_difference_is_shown(env):
    db, fs, tmp_path = env
    mine, theirs = add_real_sounds(db, tmp_path / "audio", 2)  # feed sounds
    signed_in_home(fs)
    fs.sounds[0]["username"] = ACCOUNT
    store = TagStore(db)
    for sid, sound in ((mine, fs.sounds[0]), (theirs, fs.sounds[1])):
        store._db.write(lambda cur, sid=sid, sound=sound: cur.execute(
            "UPDATE sounds SET freesound_id = $f, username = $u WHERE id = $id",
            {"f": sound["id"], "u": sound["username"], "id": sid}))
    store.label(mine, add=["bell"])
    at = open_page("feed", secrets=CREDENTIALS)
    keys = {b.key for b in at.button}
    assert f"feed_{mine}_fs_diff_compare" in keys and f"feed_{theirs}_fs_diff_compare" not in keys
    at.button(key=f"feed_{mine}_fs_diff_compare").click().run()
    page = plain(at)
    assert "On Freesound: test tone0 field-recording" in page and "Added: piano note bell" in page
    assert fs.account.edits == []  # nothing sent before the second click
    at.button(key=f"feed_{mine}_fs_diff_send").click().run()
    assert fs.account.edits == [(fs.sounds[0]["id"], "piano note bell")]
    assert "successfully edited" in plain(at, ("success",))


def test_the_feed_fetches_original_files_through_the_account(env):
    db, fs, tmp_path = env
    at = open_page("feed", secrets=CREDENTIALS)  # no API key, not connected
    assert at.button(key="feed_fetch").disabled and not at.toggle
    signed_in_home(fs)
    at = open_page("feed", secrets=CREDENTIALS)
    at.toggle(key="feed_fetch_original").set_value(True).run()
    at.number_input(key="feed_fetch_limit").set_value(2)
    at.button(key="feed_fetch").click().run()
    assert not at.exception
    assert "fetched 2, new 2, skipped 0, failed 0" in plain(at, ("success",))
    sounds = TagStore(db).get_sounds([1, 2]).values()
    assert [s.audio_kind for s in sounds] == ["original", "original"]
    assert len(fs.requests_to("/download/")) == 2 and not fs.requests_to("/previews/")
