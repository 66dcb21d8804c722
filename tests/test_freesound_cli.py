"""`python -m core freesound ...` and `feed --audio original` against the fake Freesound, with a
real tag store and a real token file; no token may appear in any output, log or file but its own."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from core.__main__ import main
from core.oauth import OAuthApp, TokenFile, authorize_url
from core.store import TagStore
from tests.app_fixtures import add_real_sounds
from tests.freesound_server import FakeFreesound
from tests.freesound_server_account import ACCOUNT, CLIENT_ID, CLIENT_SECRET

DESCRIBE = ["--license", "Creative Commons 0", "--description", "A test tone, made by a test."]


@pytest.fixture
def fs():
    with FakeFreesound(n_sounds=3) as server:
        yield server


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TAGGER_DB", str(tmp_path / "tags.duckdb"))  # its request counter beside it
    monkeypatch.setenv("FREESOUND_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("FREESOUND_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.delenv("FREESOUND_API_KEY", raising=False)
    return tmp_path


def cli(*args) -> int:
    return main([str(a) for a in args])


def login(fs) -> None:
    assert cli("freesound", "login", "--code", fs.account.grant_code(), "--api-url", fs.api_url) == 0


def test_login_with_a_code_whoami_and_logout(fs, env, capsys):
    login(fs)
    assert f"Signed in to Freesound as {ACCOUNT}" in capsys.readouterr().out
    path = env / "config" / "freesound-tagger" / "freesound-token.json"
    assert path.is_file() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert cli("freesound", "whoami", "--api-url", fs.api_url) == 0
    assert capsys.readouterr().out.strip() == ACCOUNT
    assert cli("freesound", "logout") == 0 and not path.exists()
    assert cli("freesound", "whoami", "--api-url", fs.api_url) == 1
    assert "Not signed in" in capsys.readouterr().err


def test_login_prints_the_authorize_url_and_reads_the_code(fs, env, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(fs.account.grant_code() + "\n"))
    assert cli("freesound", "login", "--api-url", fs.api_url) == 0
    out = capsys.readouterr().out
    assert f"{fs.api_url}/oauth2/authorize/?client_id={CLIENT_ID}&response_type=code&state=" in out
    assert CLIENT_SECRET not in out


def test_login_takes_the_redirect_address_and_checks_its_state(fs, env, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(
        f"http://127.0.0.1:8501/?code={fs.account.grant_code()}&state=not-ours\n"))
    assert cli("freesound", "login", "--api-url", fs.api_url) == 1
    assert "not started here" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("http://x/?error=access_denied&state=s\n"))
    assert cli("freesound", "login", "--api-url", fs.api_url) == 1
    assert "did not allow access" in capsys.readouterr().err


def test_login_errors_say_what_to_do(fs, env, capsys, monkeypatch):
    assert cli("freesound", "login", "--code", "made-up", "--api-url", fs.api_url) == 1
    assert "older than 10 minutes" in capsys.readouterr().err
    monkeypatch.delenv("FREESOUND_CLIENT_SECRET")
    assert cli("freesound", "login", "--code", "x", "--api-url", fs.api_url) == 1
    assert "FREESOUND_CLIENT_SECRET" in capsys.readouterr().err


def test_upload_asks_unless_yes_then_stores_the_id_and_follows_moderation(fs, env, capsys):
    db = env / "tags.duckdb"
    (sid,) = add_real_sounds(db, env / "audio", 1, source="upload")
    login(fs)
    store_args = ["--db", db, "--api-url", fs.api_url]
    # final tags at 0.5: piano 0.9, note 0.7 -> two: Freesound needs three
    assert cli("freesound", "upload", sid, *DESCRIBE, *store_args, "--yes") == 1
    assert "at least 3 different tags" in capsys.readouterr().err
    assert cli("freesound", "upload", sid, *DESCRIBE, *store_args, "--threshold", 0.4) == 1
    assert "add --yes" in capsys.readouterr().err and fs.account.uploads == []  # no terminal
    assert cli("freesound", "upload", sid, *DESCRIBE, *store_args, "--yes", "--threshold", 0.4) == 0
    assert "waiting to be processed" in capsys.readouterr().out
    upload = fs.account.uploads[0]
    assert upload.fields["tags"] == "piano note bell" and upload.fields["name"] == "tone number 0"
    sound = TagStore(db).get_sound(sid)
    assert (sound.freesound_id, sound.upload_state) == (upload.id, "pending_processing")
    assert TagStore(db).has_freesound_id(upload.id)  # the feed will skip it
    assert cli("freesound", "upload", sid, *DESCRIBE, *store_args, "--yes") == 1
    assert "uploaded already" in capsys.readouterr().err and len(fs.account.uploads) == 1
    fs.account.moderate(upload.id, "pending_moderation")
    assert cli("freesound", "status", sid, *store_args) == 0
    assert "waiting for a moderator" in capsys.readouterr().out
    fs.account.moderate(upload.id, "rejected")
    assert cli("freesound", "status", sid, *store_args) == 1
    assert "rejected" in capsys.readouterr().out
    assert TagStore(db).get_sound(sid).upload_state == "gone"  # may be fixed and sent again


def test_update_tags_shows_the_difference_and_refuses_others_sounds(fs, env, capsys):
    db = env / "tags.duckdb"
    (sid,) = add_real_sounds(db, env / "audio", 1, source="upload")
    login(fs)
    store_args = ["--db", db, "--api-url", fs.api_url]
    cli("freesound", "upload", sid, *DESCRIBE, *store_args, "--yes", "--tags", "a", "b", "c")
    fs.account.moderate(fs.account.uploads[0].id, "published")
    TagStore(db).label(sid, add=["bell", "chime"], remove=["note"])
    assert cli("freesound", "update-tags", sid, *store_args, "--yes") == 0
    out = capsys.readouterr().out
    assert "Freesound now: a b c" in out and "+ piano bell chime" in out and "- a b c" in out
    assert fs.account.edits == [(fs.account.uploads[0].id, "piano bell chime")]
    assert cli("freesound", "update-tags", sid, *store_args, "--yes") == 0
    assert "Nothing to send" in capsys.readouterr().out and len(fs.account.edits) == 1
    theirs = next(s["id"] for s in fs.sounds if s["username"] == "user_0")
    others = add_real_sounds(db, env / "audio2", 1, seed=7)[0]  # a feed sound
    TagStore(db)._db.write(lambda cur: cur.execute(
        "UPDATE sounds SET freesound_id = $f WHERE id = $id", {"f": theirs, "id": others}))
    assert cli("freesound", "update-tags", others, *store_args, "--yes") == 1
    assert "belongs to user_0" in capsys.readouterr().err
    assert not fs.requests_to(f"/sounds/{theirs}/edit/")


def test_feed_audio_original_downloads_the_original_files(fs, env, capsys, tiny_model_dir):
    db, audio = env / "tags.duckdb", env / "audio"
    common = ["--api-url", fs.api_url, "--db", db, "--audio-dir", audio, "--model", tiny_model_dir]
    assert cli("feed", *common, "--audio", "original") == 2  # not signed in
    assert "Not signed in" in capsys.readouterr().err
    login(fs)
    assert cli("feed", *common, "--audio", "original") == 0, capsys.readouterr().err
    assert "new 3" in capsys.readouterr().out
    for sound in TagStore(db).get_sounds([1, 2, 3]).values():
        assert sound.audio_kind == "original" and sound.audio_path.endswith(".wav")
        assert Path(sound.audio_path).read_bytes() == fs.account.originals[sound.freesound_id]
    assert len(fs.requests_to("/download/")) == 3 and not fs.requests_to("/previews/")


def test_no_token_reaches_output_logs_the_store_or_an_export(fs, env, capsys, caplog,
                                                             tiny_model_dir):
    caplog.set_level(logging.DEBUG)
    db = env / "tags.duckdb"
    (sid,) = add_real_sounds(db, env / "audio", 1, source="upload")
    login(fs)
    fs.account.expire_access_tokens()  # force a refresh on the way
    cli("freesound", "upload", sid, *DESCRIBE, "--db", db, "--api-url", fs.api_url, "--yes",
        "--tags", "a", "b", "c")
    cli("freesound", "status", sid, "--db", db, "--api-url", fs.api_url)
    cli("feed", "--api-url", fs.api_url, "--db", db, "--audio-dir", env / "audio",
        "--model", tiny_model_dir, "--audio", "original")
    out = env / "export.jsonl"
    assert cli("export", "--format", "jsonl", "--out", out, "--db", db) == 0
    captured = capsys.readouterr()
    token_file = TokenFile(env / "config" / "freesound-tagger" / "freesound-token.json")
    secrets = [*fs.account.tokens_issued, CLIENT_SECRET]
    assert len(fs.account.tokens_issued) >= 4  # sign-in and a refresh
    haystacks = {"stdout": captured.out, "stderr": captured.err, "log": caplog.text}
    for path in env.rglob("*"):
        if path.is_file() and path != token_file.path:
            haystacks[str(path)] = path.read_bytes().decode("latin-1")
    for name, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {name}"
    assert token_file.load().access_token in fs.account.tokens_issued  # the one place it is
    assert OAuthApp(CLIENT_ID, CLIENT_SECRET).client_secret not in authorize_url(
        OAuthApp(CLIENT_ID, CLIENT_SECRET), "s")


def test_the_feed_never_fetches_back_a_sound_uploaded_from_here(fs, env, capsys, tiny_model_dir):
    db = env / "tags.duckdb"
    (sid,) = add_real_sounds(db, env / "audio", 1, source="upload")
    login(fs)
    cli("freesound", "upload", sid, *DESCRIBE, "--db", db, "--api-url", fs.api_url, "--yes",
        "--tags", "a", "b", "c")
    fs.account.moderate(fs.account.uploads[0].id, "published")  # now the newest on Freesound
    capsys.readouterr()
    assert cli("feed", "--api-url", fs.api_url, "--db", db, "--audio-dir", env / "feed",
               "--model", tiny_model_dir, "--audio", "original") == 0
    assert "fetched 4, new 3, skipped 1" in capsys.readouterr().out
    assert TagStore(db).count_sounds() == 4
    assert not fs.requests_to(f"/sounds/{fs.account.uploads[0].id}/download/")
