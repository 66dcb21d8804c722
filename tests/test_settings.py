"""One settings object (core/settings.py): the environment, the defaults, the command line and the
app read the same values, and a cron job and the app count the same Freesound requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import build_parser
from core.settings import ENV, PREDICTIONS_KEPT, PROJECT_ROOT, THRESHOLD, settings
from tests.freesound_server import API_KEY, FakeFreesound


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_without_an_environment(clean_env):
    s = settings()
    assert s.db == PROJECT_ROOT / "data" / "tags.duckdb" and not s.db_set
    assert s.audio_dir == PROJECT_ROOT / "data" / "audio"
    assert s.request_counter == PROJECT_ROOT / "data" / "audio" / ".freesound-requests.json"
    assert s.exports_dir == PROJECT_ROOT / "data" / "exports"
    assert s.runs_dir == PROJECT_ROOT / "runs" and s.models_dir == PROJECT_ROOT / "models"
    assert s.model is None and s.user == "local" and s.api_url == "https://freesound.org/apiv2"
    assert (s.threshold, s.predictions_kept) == (THRESHOLD, PREDICTIONS_KEPT) == (0.5, 20)


def test_the_folders_follow_the_database_unless_set(clean_env, tmp_path):
    clean_env.setenv("TAGGER_DB", str(tmp_path / "store" / "tags.duckdb"))
    s = settings()
    assert s.db_set and s.audio_dir == tmp_path / "store" / "audio"
    assert s.exports_dir == tmp_path / "store" / "exports"
    other = s.with_db(tmp_path / "other" / "x.duckdb")  # `--db FILE`
    assert other.request_counter == tmp_path / "other" / "audio" / ".freesound-requests.json"
    clean_env.setenv("TAGGER_AUDIO", str(tmp_path / "sounds"))
    clean_env.setenv("TAGGER_MODEL", str(tmp_path / "m" / "mine"))
    clean_env.setenv("TAGGER_USER", "ana")
    s = settings()  # a changed environment is read again
    assert s.audio_dir == s.with_db(tmp_path / "x.duckdb").audio_dir == tmp_path / "sounds"
    assert s.model == tmp_path / "m" / "mine" and s.models_dir == tmp_path / "m"
    assert s.user == "ana"


def test_app_and_command_line_defaults_agree(clean_env, tmp_path):
    from app.settings import resolve_settings

    clean_env.setenv("TAGGER_DB", str(tmp_path / "tags.duckdb"))
    clean_env.setenv("TAGGER_USER", "ana")
    clean_env.setenv("FREESOUND_API_URL", "http://127.0.0.1:9/apiv2")
    app = resolve_settings()
    assert app.core == settings()
    assert (app.db_path, app.audio_dir, app.exports_dir) == (tmp_path / "tags.duckdb",
                                                             tmp_path / "audio", tmp_path / "exports")
    label = build_parser("label").parse_args(["label", "1", "--add", "piano"])
    assert (label.user, label.threshold) == ("ana", app.core.threshold)
    export = build_parser("export").parse_args(["export", "--format", "csv", "--out", "x.csv"])
    assert export.threshold == app.core.threshold
    feed = build_parser("feed").parse_args(["feed"])
    assert feed.api_url == app.api_url == "http://127.0.0.1:9/apiv2"
    assert feed.top == app.core.predictions_kept


def requests_in(counter: Path) -> int:
    return len(json.loads(counter.read_text())) if counter.is_file() else 0


def test_a_cron_feed_and_the_app_count_the_same_requests(clean_env, tmp_path, tiny_model_dir):
    """With only $TAGGER_DB set, `python -m core feed` keeps its request counter where the app's
    settings look for it, so both spend one daily budget."""
    from app.settings import resolve_settings
    from core.feed import make_client

    db = tmp_path / "store" / "tags.duckdb"
    clean_env.setenv("TAGGER_DB", str(db))
    counter = resolve_settings().request_counter
    assert counter == db.parent / "audio" / ".freesound-requests.json"
    with FakeFreesound(n_sounds=2) as fs:
        env = {k: v for k, v in os.environ.items() if k not in ENV}
        env.update(TAGGER_DB=str(db), FREESOUND_API_KEY=API_KEY, PYTHONPATH=str(PROJECT_ROOT))
        done = subprocess.run([sys.executable, "-m", "core", "feed", "--api-url", fs.api_url,
                               "--model", str(tiny_model_dir), "--limit", "2"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        by_cli = requests_in(counter)
        assert by_cli == len(fs.seen) >= 3  # a search and two previews
        with make_client(API_KEY, fs.api_url) as app_client:  # the app's default: the same folder
            next(iter(app_client.search(page_size=1)))
        assert requests_in(counter) == by_cli + 1
