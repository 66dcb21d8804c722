"""`python -m core feed` as cron or a user runs it: real processes, a real server, a real store."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.__main__ import main
from core.feed import FeedConfig, fetch_freesound
from core.freesound import ClientConfig, FreesoundClient, FreesoundError
from core.store import SoundQuery, TagStore
from core.tagger import Tagger
from tests.freesound_server import API_KEY, FakeFreesound, Fault

ROOT = Path(__file__).resolve().parent.parent
WRONG_KEY = "wrong-key-Hq3Vn8Rt1Ys6"


def feed_cli(*args, key: str | None = API_KEY, popen: bool = False):
    env = {k: v for k, v in os.environ.items() if k not in ("FREESOUND_API_KEY", "TAGGER_DB")}
    if key is not None:
        env["FREESOUND_API_KEY"] = key
    cmd = [sys.executable, "-m", "core", "feed", *map(str, args)]
    if popen:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def fs():
    with FakeFreesound(n_sounds=5, previews_on_cdn=True) as server:
        yield server


def options(fs, tmp_path, model) -> list:
    return ["--api-url", fs.api_url, "--db", tmp_path / "tags.duckdb",
            "--audio-dir", tmp_path / "audio", "--model", model]


def stored(db: Path) -> list:
    return TagStore(db).list_sounds(SoundQuery(limit=None))


def test_feed_stores_the_newest_and_prints_a_summary_line(fs, tmp_path, tiny_model_dir):
    r = feed_cli(*options(fs, tmp_path, tiny_model_dir), "--since", "3d", "--query", "tone")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("fetched 5, new 5, skipped 0, failed 0")
    assert "%|" not in r.stderr  # no progress bar when stderr is not a terminal (cron logs)
    assert fs.requests_to("/search/")[0].query["filter"] == "created:[NOW-3DAYS TO NOW]"
    assert {s.freesound_id for s in stored(tmp_path / "tags.duckdb")} == {s["id"] for s in fs.sounds}
    again = feed_cli(*options(fs, tmp_path, tiny_model_dir))
    assert again.returncode == 0 and again.stdout.startswith("fetched 5, new 0, skipped 5, failed 0")


def in_process(monkeypatch, capsys, *args, key: str | None = API_KEY):
    """The same command through `core.__main__.main` (no new interpreter): (code, out, err)."""
    monkeypatch.delenv("TAGGER_DB", raising=False)
    if key is None:
        monkeypatch.delenv("FREESOUND_API_KEY", raising=False)
    else:
        monkeypatch.setenv("FREESOUND_API_KEY", key)
    code = main(["feed", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_failures_are_listed_and_make_the_exit_code_1(fs, tmp_path, tiny_model_dir, monkeypatch,
                                                      capsys):
    fs.fail(f"/previews/{fs.sounds[1]['id']}-", Fault("status", status=404, detail="Not found."))
    code, out, err = in_process(monkeypatch, capsys, *options(fs, tmp_path, tiny_model_dir))
    assert code == 1
    assert out.startswith("fetched 5, new 4, skipped 0, failed 1")
    assert f"freesound {fs.sounds[1]['id']}: FAILED" in err and "Not found." in err


def test_no_key_is_a_clear_error_before_anything_is_created(fs, tmp_path, tiny_model_dir,
                                                            monkeypatch, capsys):
    code, _, err = in_process(monkeypatch, capsys, *options(fs, tmp_path, tiny_model_dir), key=None)
    assert code == 2
    assert "FREESOUND_API_KEY" in err and "freesound.org/apiv2/apply" in err
    assert not (tmp_path / "tags.duckdb").exists() and fs.seen == []


def test_a_rejected_key_stops_with_the_apis_message(fs, tmp_path, tiny_model_dir, monkeypatch,
                                                    capsys):
    code, out, _ = in_process(monkeypatch, capsys, *options(fs, tmp_path, tiny_model_dir),
                              key=WRONG_KEY)
    assert code == 1
    assert "new 0" in out and "Invalid token." in out and "rejected" in out
    assert stored(tmp_path / "tags.duckdb") == []


def test_bad_arguments_and_a_missing_model_say_what_is_wrong(fs, tmp_path, tiny_model_dir,
                                                             monkeypatch, capsys):
    base = options(fs, tmp_path, tiny_model_dir)
    code, _, err = in_process(monkeypatch, capsys, *base, "--since", "three days")
    assert code == 2 and "--since" in err
    code, _, err = in_process(monkeypatch, capsys, *base, "--source", "ftp://x")
    assert code == 2 and "folder:PATH" in err
    code, _, err = in_process(monkeypatch, capsys, *base[:-2], "--model", tmp_path / "no-model")
    assert code == 2 and "No trained model" in err
    assert fs.seen == []


def test_the_key_never_reaches_output_store_files_exports_or_logs(tmp_path, tiny_model_dir, caplog):
    with FakeFreesound(n_sounds=5, previews_on_cdn=True) as fs:
        # a careless server that echoes the key it was sent in its error details
        fs.fail("/search/", Fault("status", status=500, detail=f"boom for Token {API_KEY}"))
        fs.fail(f"/previews/{fs.sounds[0]['id']}-", Fault("status", status=404,
                                                         detail=f"no preview; key {API_KEY}"))
        fs.fail(f"/previews/{fs.sounds[1]['id']}-", Fault("truncate"))
        runs = [feed_cli(*options(fs, tmp_path, tiny_model_dir))]
        fs.fail("/search/", Fault("status", status=401, detail=f"Invalid token {WRONG_KEY}"))
        runs.append(feed_cli(*options(fs, tmp_path, tiny_model_dir), key=WRONG_KEY))
        errors = _errors_in_process(fs, tmp_path, tiny_model_dir, caplog)
    export = tmp_path / "export.jsonl"
    r = subprocess.run([sys.executable, "-m", "core", "export", "--format", "jsonl", "--out", export,
                        "--db", tmp_path / "tags.duckdb"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert runs[0].stdout.startswith("fetched 5, new 3, skipped 0, failed 2")
    assert fs.sounds[2]["name"] in export.read_text()  # the grep below can see stored text
    texts = [r.stdout + r.stderr for r in runs + [r]] + errors + [caplog.text]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "tags.duckdb" for p in files) and export in files
    for secret in (API_KEY, WRONG_KEY):
        assert not [t for t in texts if secret in t]
        assert not [p.name for p in files if secret.encode() in p.read_bytes()]


def _errors_in_process(fs, tmp_path, model, caplog) -> list[str]:
    """Errors and DEBUG logs (requests, urllib3) of the feed run in this process."""
    caplog.set_level(logging.DEBUG)
    messages = []
    client = FreesoundClient(API_KEY, ClientConfig(api_url=fs.api_url, retries=0))
    fs.fail("/search/", Fault("status", status=503, detail=f"down; {API_KEY}"))
    summary = fetch_freesound(client, TagStore(tmp_path / "tags.duckdb"), Tagger(model, "cpu"),
                              FeedConfig(audio_dir=tmp_path / "audio"))
    messages.append(summary.stopped_reason)
    fs.fail("/sounds/", Fault("status", status=404, detail=f"nothing for {API_KEY}"))
    with pytest.raises(FreesoundError) as err:
        client.sound(fs.sounds[0]["id"])
    messages += [str(err.value), repr(err.value), repr(client)]
    assert len(messages) == 4 and all(messages)
    return messages


def test_a_killed_run_leaves_only_complete_sounds_and_a_rerun_finishes(tmp_path, tiny_model_dir):
    with FakeFreesound(n_sounds=12) as fs:
        fs.fail("/previews/", Fault("slow", delay_s=0.25, times=100))
        proc = feed_cli(*options(fs, tmp_path, tiny_model_dir), popen=True)
        audio = tmp_path / "audio"
        while proc.poll() is None and len(list(audio.glob("*.ogg"))) < 10:
            time.sleep(0.05)  # 10 previews: the first batch of 8 is stored or being stored
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        before = stored(tmp_path / "tags.duckdb")
        for row in before:
            assert len(row.predicted) == 20
            assert Path(row.audio_path).read_bytes() == fs.previews[row.freesound_id]
        fs.faults.clear()
        r = feed_cli(*options(fs, tmp_path, tiny_model_dir))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"fetched 12, new {12 - len(before)}, skipped {len(before)}")
        after = stored(tmp_path / "tags.duckdb")
        assert sorted(s.freesound_id for s in after) == sorted(s["id"] for s in fs.sounds)
        assert all(len(s.predicted) == 20 for s in after)
