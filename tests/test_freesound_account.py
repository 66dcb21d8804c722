"""OAuth2 sign-in and the account's calls, against the fake Freesound on 127.0.0.1."""

from __future__ import annotations

import os
import stat
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from core.account import (
    AccountClient,
    NotYourSoundError,
    UploadForm,
    UploadRefusedError,
    freesound_tags,
    tag_diff,
)
from core.freesound import ClientConfig, NetworkError
from core.oauth import (
    Account,
    CodeRejectedError,
    ConsentDeniedError,
    MissingCredentialsError,
    NotSignedInError,
    OAuthApp,
    StateBook,
    TokenFile,
    TokenRevokedError,
    authorize_url,
    check_redirect,
    resolve_oauth_app,
    token_path,
)
from tests.audio_factory import make_tone_file
from tests.freesound_server import FakeFreesound, Fault
from tests.freesound_server_account import ACCOUNT, CLIENT_ID, CLIENT_SECRET

FORM = UploadForm(name="My tone", description="A 330 Hz tone made by a test.",
                  license="Creative Commons 0", tags=("tone", "sine", "synth"))


@pytest.fixture
def fs():
    with FakeFreesound(n_sounds=3) as server:
        yield server


def app_for(fs) -> OAuthApp:
    return OAuthApp(CLIENT_ID, CLIENT_SECRET, fs.api_url)


def signed_in(fs, tmp_path) -> tuple[Account, AccountClient]:
    account = Account(app_for(fs), TokenFile(tmp_path / "cfg" / "token.json"))
    client = AccountClient(account, ClientConfig(api_url=fs.api_url, timeout_s=5.0),
                           sleep=lambda s: None)
    account.sign_in(fs.account.grant_code(), client.me)
    return account, client


def follow_authorize(url: str, allow: bool = True) -> requests.Response:
    """What the person's browser does: open the authorize page, click Authorize (or Deny)."""
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and "Authorize" in page.text
    link = "authorize" if allow else "deny"
    href = page.text.split(f'id="{link}" href="')[1].split('"')[0]
    base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    return requests.get(base + href.replace("&amp;", "&"), allow_redirects=False, timeout=5)


# -- sign-in -------------------------------------------------------------------------------------
def test_redirect_sign_in_saves_tokens_0600_and_knows_the_user(fs, tmp_path):
    fs.account.redirect_uri = "http://127.0.0.1:9/"
    states = StateBook()
    state = states.issue()
    answer = follow_authorize(authorize_url(app_for(fs), state))
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    code = check_redirect(params, states.take(params["state"]))
    account = Account(app_for(fs), TokenFile(tmp_path / "cfg" / "token.json"))
    client = AccountClient(account, ClientConfig(api_url=fs.api_url))
    tokens = account.sign_in(code, client.me)
    assert tokens.username == ACCOUNT
    mode = stat.S_IMODE(os.stat(account.file.path).st_mode)
    assert mode == 0o600
    assert tokens.access_token not in repr(tokens) + repr(account) + repr(client)
    assert not states.take(state)  # a state is good once


def test_pasted_code_from_freesounds_page_signs_in(fs, tmp_path):
    page = follow_authorize(authorize_url(app_for(fs), "s"))  # no redirect_uri: code on the page
    code = page.text.split('id="code">')[1].split("<")[0]
    account, client = Account(app_for(fs), TokenFile(tmp_path / "t.json")), None
    client = AccountClient(account, ClientConfig(api_url=fs.api_url))
    assert account.sign_in(f"  {code}\n", client.me).username == ACCOUNT


def test_denied_consent_and_a_foreign_state_say_what_to_do(fs):
    fs.account.redirect_uri = "http://127.0.0.1:9/"
    answer = follow_authorize(authorize_url(app_for(fs), "s"), allow=False)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    with pytest.raises(ConsentDeniedError, match="did not allow access.*Connect again"):
        check_redirect(params, True)
    with pytest.raises(Exception, match="not started here or is older than 10 minutes"):
        check_redirect({"code": "x", "state": "forged"}, StateBook().take("forged"))


def test_expired_or_reused_code_is_refused_clearly(fs, tmp_path):
    fs.account.code_ttl_s = 0.0
    account = Account(app_for(fs), TokenFile(tmp_path / "t.json"))
    with pytest.raises(CodeRejectedError, match="older than 10 minutes"):
        account.sign_in(fs.account.grant_code(), lambda: "x")
    assert not account.file.path.exists()


def test_wrong_client_secret_and_missing_credentials(fs, tmp_path, monkeypatch):
    account = Account(OAuthApp(CLIENT_ID, "wrong", fs.api_url), TokenFile(tmp_path / "t.json"))
    with pytest.raises(MissingCredentialsError, match="FREESOUND_CLIENT_SECRET") as e:
        account.sign_in(fs.account.grant_code(), lambda: "x")
    assert "wrong" not in str(e.value)
    with pytest.raises(MissingCredentialsError, match="FREESOUND_CLIENT_ID"):
        resolve_oauth_app(environ={})


def test_token_path_follows_xdg_config_home(tmp_path):
    assert token_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "freesound-tagger" / "freesound-token.json")


def test_not_signed_in_and_another_servers_tokens(fs, tmp_path):
    account, _ = signed_in(fs, tmp_path)
    other = Account(OAuthApp(CLIENT_ID, CLIENT_SECRET, "https://freesound.org/apiv2"), account.file)
    with pytest.raises(NotSignedInError, match="Signed in to http://127.0.0.1"):
        other.access_token()
    account.sign_out()
    with pytest.raises(NotSignedInError, match="Not signed in.*login"):
        account.access_token()


# -- staying signed in ---------------------------------------------------------------------------
def test_an_expired_access_token_is_refreshed_and_saved(fs, tmp_path):
    account, client = signed_in(fs, tmp_path)
    first = account.tokens().access_token
    fs.account.expire_access_tokens()  # the server says it expired before our clock does
    assert client.me() == ACCOUNT  # 401 -> refresh -> the same request again
    second = account.tokens().access_token
    assert second != first and account.file.load().access_token == second
    bearer = [s.authorization for s in fs.requests_to("/me/")]
    assert bearer[-2:] == [f"Bearer {first}", f"Bearer {second}"]


def test_a_token_past_its_expiry_is_refreshed_before_use(fs, tmp_path):
    account, client = signed_in(fs, tmp_path)
    old = account.tokens()
    account.file.save(type(old)(**{**old.__dict__, "expires_at": 0.0}))
    client.me()
    assert account.tokens().access_token != old.access_token
    assert all(s.authorization != f"Bearer {old.access_token}" for s in fs.requests_to("/me/")[1:])


def test_a_refresh_raced_by_another_process_uses_its_new_tokens(fs, tmp_path):
    account, _ = signed_in(fs, tmp_path)
    old = account.tokens()
    renewed = Account(app_for(fs), account.file).access_token(force_refresh=True)  # the cron job
    assert account._refresh(old).access_token == renewed  # old refresh token spent: no error


def test_revoked_tokens_ask_to_sign_in_again(fs, tmp_path):
    account, client = signed_in(fs, tmp_path)
    fs.account.revoke()
    with pytest.raises(TokenRevokedError, match="sign in again") as e:
        client.me()
    for token in fs.account.tokens_issued:
        assert token not in str(e.value)


def test_the_bearer_token_never_leaves_the_api_host(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    fs.fail("/download/", Fault("redirect"))  # the original is served from the CDN host
    client.download_original(fs.sounds[0]["id"], tmp_path / "o.wav")
    cdn = [s for s in fs.seen if s.host == "127.0.0.2"]
    assert cdn and all(s.authorization is None for s in cdn)


# -- upload, moderation, edit, originals ---------------------------------------------------------
def test_upload_with_tags_is_described_at_once_and_followed_through_moderation(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    wav = make_tone_file(tmp_path / "tone.wav", seconds=1.0)
    receipt = client.upload(wav, FORM)
    assert receipt.freesound_id is not None
    upload = fs.account.uploads[-1]
    assert upload.data == wav.read_bytes()  # the whole file
    assert upload.fields["tags"] == "tone sine synth" and upload.fields["license"] == "Creative Commons 0"
    assert client.upload_state(receipt.freesound_id) == "pending_processing"
    fs.account.moderate(receipt.freesound_id, "pending_moderation")
    assert client.upload_state(receipt.freesound_id) == "pending_moderation"
    fs.account.moderate(receipt.freesound_id, "published")
    assert client.upload_state(receipt.freesound_id) == "published"


def test_a_sound_rejected_in_moderation_or_failing_processing_is_reported(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    wav = make_tone_file(tmp_path / "tone.wav", seconds=1.0)
    first, second = client.upload(wav, FORM).freesound_id, client.upload(wav, FORM).freesound_id
    fs.account.moderate(first, "rejected")
    fs.account.moderate(second, "processing_failed")
    assert client.upload_state(first) == "gone"
    assert client.upload_state(second) == "processing_failed"


def test_upload_without_description_then_describe(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    wav = make_tone_file(tmp_path / "later on #1.wav", seconds=1.0)
    receipt = client.upload(wav, None)
    assert receipt.freesound_id is None and receipt.filename == "later on #1.wav"
    assert client.pending_uploads()["pending_description"] == ["later on #1.wav"]
    described = client.describe(receipt.filename, FORM)
    assert described.freesound_id is not None
    assert client.pending_uploads()["pending_description"] == []


def test_fewer_than_three_tags_is_refused_before_sending(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    wav = make_tone_file(tmp_path / "t.wav", seconds=1.0)
    form = UploadForm("n", "d", "Creative Commons 0", ("one", "two"))
    with pytest.raises(UploadRefusedError, match="at least 3 different tags"):
        client.upload(wav, form)
    assert fs.account.uploads == []


def test_a_network_drop_mid_upload_sends_the_whole_file_again(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    wav = make_tone_file(tmp_path / "big.wav", seconds=4.0)
    fs.fail("/sounds/upload/", Fault("drop"))
    receipt = client.upload(wav, FORM)
    assert receipt.freesound_id is not None
    assert len(fs.account.uploads) == 1 and fs.account.uploads[0].data == wav.read_bytes()
    assert len(fs.requests_to("/sounds/upload/")) == 2


def test_an_upload_that_keeps_dropping_fails_and_never_reports_success(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    wav = make_tone_file(tmp_path / "big.wav", seconds=4.0)
    fs.fail("/sounds/upload/", Fault("drop", times=10))
    with pytest.raises(NetworkError, match="did not complete.*try again"):
        client.upload(wav, FORM)
    assert fs.account.uploads == []


@pytest.mark.parametrize("status,pattern", [(413, "too large"), (429, "429"),
                                            (403, "may not do that")])
def test_upload_errors_say_what_happened(fs, tmp_path, status, pattern):
    _, client = signed_in(fs, tmp_path)
    client.config = ClientConfig(api_url=fs.api_url, retries=0, timeout_s=5.0)
    wav = make_tone_file(tmp_path / "t.wav", seconds=1.0)
    fs.fail("/sounds/upload/", Fault("status", status=status, detail="refused by test"))
    with pytest.raises(Exception, match=pattern):
        client.upload(wav, FORM)


def test_edit_own_sound_tags_and_refuse_another_persons(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    others = fs.sounds[0]["id"]
    with pytest.raises(NotYourSoundError, match="belongs to user_0"):
        client.edit_tags(others, ["a", "b", "c"])
    assert fs.account.edits == [] and not fs.requests_to(f"/sounds/{others}/edit/")
    wav = make_tone_file(tmp_path / "t.wav", seconds=1.0)
    mine = client.upload(wav, FORM).freesound_id
    fs.account.moderate(mine, "published")
    client.edit_tags(mine, ["Tone", "Sine Wave", "synth", "tone"])
    assert fs.account.edits == [(mine, "tone sine-wave synth")]
    assert client.sound_tags(mine) == (ACCOUNT, ("tone", "sine-wave", "synth"))


def test_the_server_itself_refuses_edits_of_others_sounds(fs, tmp_path):
    account, _ = signed_in(fs, tmp_path)
    token = account.access_token()
    answer = requests.post(f"{fs.api_url}/sounds/{fs.sounds[0]['id']}/edit/",
                           data={"tags": "a b c"}, headers={"Authorization": f"Bearer {token}"},
                           timeout=5)
    assert answer.status_code == 403


def test_original_download_is_the_uploaded_file_and_needs_oauth(fs, tmp_path):
    _, client = signed_in(fs, tmp_path)
    sid = fs.sounds[1]["id"]
    got = client.download_original(sid, tmp_path / "orig.wav")
    assert got.path.read_bytes() == fs.account.originals[sid]
    keyed = requests.get(f"{fs.api_url}/sounds/{sid}/download/",
                         headers={"Authorization": f"Token {fs.key}"}, timeout=5)
    assert keyed.status_code == 401 and "OAuth2" in keyed.json()["detail"]


def test_tag_diff_and_cleaning():
    assert freesound_tags(["Field Recording", "bird!", "bird", ""]) == ("field-recording", "bird")
    diff = tag_diff(["bird", "forest"], ["bird", "Morning"])
    assert diff.added == ("morning",) and diff.removed == ("forest",) and diff.changed


def test_a_damaged_token_file_means_signed_out_with_a_way_out(tmp_path):
    file = TokenFile(tmp_path / "t.json")
    file.path.write_text("{not json")
    account = Account(OAuthApp(CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1:9/apiv2"), file)
    assert account.signed_in() is None
    with pytest.raises(NotSignedInError, match="damaged.*delete it"):
        account.tokens()
