"""`python -m core tag` and `python -m core features` as a user runs them: real processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import core.commands.models as models_command
from core.__main__ import main
from core.audio import load_audio
from core.features import patch_for
from tests.audio_factory import make_tone_file

ROOT = Path(__file__).resolve().parent.parent


def core_cli(*args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_tag_json_lines_for_good_and_bad_files(tmp_path, tiny_model_dir):
    good = make_tone_file(tmp_path / "songs" / "a.wav", 2.0)
    make_tone_file(tmp_path / "songs" / "deeper" / "b.ogg", 12.0, freq=880)
    bad = tmp_path / "songs" / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    r = core_cli("tag", tmp_path / "songs", "--json", "--top", "5", "--model", tiny_model_dir)
    assert r.returncode == 1, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    by_name = {Path(d["path"]).name: d for d in lines}
    assert set(by_name) == {"a.wav", "b.ogg", "broken.mp3"}
    assert "broken.mp3" in by_name["broken.mp3"]["error"] and "tags" not in by_name["broken.mp3"]
    for name in ("a.wav", "b.ogg"):
        tags = by_name[name]["tags"]
        scores = [t["score"] for t in tags]
        assert len(tags) == 5 and scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert by_name[name]["model"] == "tiny-test@0"
    assert "1 of 3 files could not be tagged" in r.stderr
    ok = core_cli("tag", good, "--json", "--model", tiny_model_dir)
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 1


def test_same_file_same_tags(tmp_path, tiny_model_dir):
    f = make_tone_file(tmp_path / "a.flac", 3.0)
    runs = [core_cli("tag", f, "--json", "--model", tiny_model_dir).stdout for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]


def test_tag_without_a_trained_model_says_so(tmp_path):
    f = make_tone_file(tmp_path / "a.wav")
    r = core_cli("tag", f, "--model", tmp_path / "no-model")
    assert r.returncode == 2 and "No trained model" in r.stderr and r.stdout == ""


def test_tag_plain_text_output(tmp_path, tiny_model_dir):
    f = make_tone_file(tmp_path / "a.wav")
    r = core_cli("tag", f, "--top", "3", "--model", tiny_model_dir)
    assert r.returncode == 0
    line = r.stdout.strip()
    assert line.startswith(str(f)) and line.count(",") == 2


def test_features_writes_the_patch_the_model_sees(tmp_path):
    f = make_tone_file(tmp_path / "a.ogg", 4.0, channels=2)
    out = tmp_path / "patch.npy"
    r = core_cli("features", f, "--out", out)
    assert r.returncode == 0, r.stderr
    patch = np.load(out)
    assert patch.shape == (96, 96) and patch.dtype == np.float32
    np.testing.assert_array_equal(patch, patch_for(load_audio(f).samples))


def test_features_on_a_bad_file(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"RIFF....garbage")
    r = core_cli("features", tmp_path / "x.wav", "--out", tmp_path / "p.npy")
    assert r.returncode == 1 and "x.wav" in r.stderr and not (tmp_path / "p.npy").exists()


def test_a_reader_that_goes_away_ends_the_command_quietly(monkeypatch, capfd):
    def write_to_a_closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(models_command, "run", write_to_a_closed_pipe)
    assert main(["models"]) == 141  # as a shell reports a process ended by SIGPIPE
    assert "Traceback" not in capfd.readouterr().err
