"""End to end in Chromium: connect a Freesound account (the fake Freesound's authorize page, the
redirect back to the app in another tab), upload a sound from the upload page, see it pending.

`streamlit run` on 127.0.0.1 with the fake Freesound on 127.0.0.1 as its API; screenshots go to
test-output/screenshots/. Fails, never skips, without /usr/bin/chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.local_app import AppStartError, running_app
from core.store import TagStore
from tests.audio_factory import make_tone_file
from tests.conftest import make_model_dir
from tests.freesound_server import FakeFreesound
from tests.freesound_server_account import ACCOUNT, CLIENT_ID, CLIENT_SECRET
from tests.test_e2e_browser import (  # noqa: F401 (browser is a fixture)
    SERVER_START_S,
    STEP_MS,
    VIEWPORT,
    browser,
    no_exception,
    open_page,
    settle,
    shoot,
)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("e2e-account")
    with FakeFreesound(n_sounds=2) as fs:
        env = {"TAGGER_DB": str(tmp / "tags.duckdb"), "TAGGER_AUDIO": str(tmp / "audio"),
               "TAGGER_MODEL": str(make_model_dir(tmp / "models" / "tiny")),
               "TAGGER_USER": "e2e", "XDG_CONFIG_HOME": str(tmp / "config"),
               "FREESOUND_API_URL": fs.api_url, "FREESOUND_CLIENT_ID": CLIENT_ID,
               "FREESOUND_CLIENT_SECRET": CLIENT_SECRET, "PYTHONPATH": str(ROOT)}
        log = tmp / "streamlit.log"
        try:
            with running_app(env, log, SERVER_START_S) as (url, _):
                fs.account.redirect_uri = f"{url}/"  # the callback URL registered on Freesound
                yield {"url": url, "db": Path(env["TAGGER_DB"]), "fs": fs, "log": log, "tmp": tmp}
        except AppStartError as e:
            pytest.fail(str(e))


def connect(context, page, base: str) -> object:
    """Home > Settings > Connect: Freesound's page opens in a new tab; Authorize sends it back."""
    open_page(page, base, "", "Freesound Tagger")
    page.get_by_text("Settings", exact=True).click()
    with context.expect_page(timeout=STEP_MS) as opened:
        page.get_by_text("Connect your Freesound account", exact=True).click()
    tab = opened.value
    tab.locator("#authorize").click()  # the fake Freesound's consent page
    tab.get_by_text(f"Connected to Freesound as {ACCOUNT}").wait_for()
    settle(tab)
    no_exception(tab)
    assert "code=" not in tab.url  # the code does not stay in the address bar
    return tab


def test_connect_upload_and_see_it_pending(browser, served, tmp_path):  # noqa: F811
    base, fs, db = served["url"], served["fs"], served["db"]
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(STEP_MS)
    tab = context.new_page()
    try:
        tab = connect(context, tab, base)
        shoot(tab, "account-connected")
        sound = make_tone_file(tmp_path / "my tone.wav", seconds=2.0, freq=330.0)
        open_page(tab, base, "upload", "Upload and tag")
        # the tiny seeded model scores most tags about 0.55: the form suggests more than three
        tab.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(sound))
        tab.get_by_role("button", name="Keep in library").click()
        kept = tab.get_by_text(re.compile(r"In the library as sound #\d+"))
        kept.wait_for()
        sound_id = int(re.search(r"#(\d+)", kept.inner_text()).group(1))
        settle(tab)
        tab.get_by_text("Upload to Freesound", exact=True).click()
        tab.locator(f".st-key-upload_{sound_id}_fs_description textarea").fill("A 330 Hz tone.")
        tab.keyboard.press("Tab")  # the text area commits on blur: let that rerun end first,
        settle(tab)  # or it closes the licence list the next click opens
        choose_licence(tab, f".st-key-upload_{sound_id}_fs_license", "Creative Commons 0")
        tab.get_by_role("button", name=f"Upload to Freesound as {ACCOUNT}").click()
        tab.get_by_text(re.compile(r"pending processing")).wait_for()
        settle(tab)
        no_exception(tab)
        shoot(tab, "account-upload-pending")
        (upload,) = fs.account.uploads
        assert upload.data == sound.read_bytes() and len(upload.fields["tags"].split()) >= 3
        assert TagStore(db).get_sound(sound_id).freesound_id == upload.id
        page_text = tab.content()
        for secret in [*fs.account.tokens_issued, CLIENT_SECRET]:
            assert secret not in page_text and secret not in served["log"].read_text()
    finally:
        shoot(tab, "last-state-account")
        context.close()


def choose_licence(tab, box: str, licence: str, tries: int = 5) -> None:
    """Type the licence into the select box and press Enter; a rerun of the page that lands in
    between closes the list (seen on a busy machine), so try again until the box shows it."""
    for _ in range(tries):
        tab.locator(f"{box} input").click()
        tab.keyboard.type(licence)
        option = tab.get_by_role("option", name=licence)
        try:
            option.click(timeout=10_000)
        except Exception:  # noqa: BLE001 - the list closed before the click: type it again
            tab.keyboard.press("Escape")
            continue
        for _ in range(20):
            shown = tab.locator(box).inner_text() + tab.locator(f"{box} input").input_value()
            if licence in shown:
                return
            tab.wait_for_timeout(500)
    raise AssertionError(f"the licence box never showed {licence!r}")
