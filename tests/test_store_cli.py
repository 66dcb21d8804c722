"""`python -m core tag --db`, `label` and `export`, run as a user runs them."""

from __future__ import annotations

import json

import pytest

from core.__main__ import main
from core.store import TagStore
from tests.audio_factory import make_tone_file


@pytest.fixture
def tagged(tmp_path, tiny_model_dir, capsys, monkeypatch):
    """Two files tagged into a fresh store: (db path, [file paths], [JSON lines])."""
    monkeypatch.delenv("TAGGER_DB", raising=False)
    files = [make_tone_file(tmp_path / "a.wav"), make_tone_file(tmp_path / "b.flac", freq=880)]
    db = tmp_path / "tags.duckdb"
    code = main(["tag", *map(str, files), "--json", "--top", "3", "--db", str(db),
                 "--model", str(tiny_model_dir)])
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    return db, files, lines


def test_tag_with_db_stores_sounds_and_prints_their_ids(tagged):
    db, files, lines = tagged
    assert [x["sound_id"] for x in lines] == [1, 2]
    assert all(len(x["tags"]) == 3 for x in lines)  # printed: the --top asked for
    store = TagStore(db)
    sound = store.get_sound(1)
    assert (sound.source, sound.name, sound.audio_path) == ("folder", "a.wav",
                                                            str(files[0].resolve()))
    labels = store.labels(1)
    assert len(labels.predicted) == 20  # stored: the top 20
    assert labels.model == lines[0]["model"]
    assert [t for t, _ in labels.predicted[:3]] == [t["tag"] for t in lines[0]["tags"]]


def test_tagging_the_same_file_again_keeps_one_sound(tagged, tiny_model_dir, capsys):
    db, files, _ = tagged
    assert main(["tag", str(files[0]), "--json", "--db", str(db),
                 "--model", str(tiny_model_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["sound_id"] == 1
    assert TagStore(db).stats()["sounds"] == 2


def test_tagger_db_environment_variable_turns_storing_on(tmp_path, tiny_model_dir, capsys,
                                                         monkeypatch):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("TAGGER_DB", str(db))
    wav = make_tone_file(tmp_path / "a.wav")
    assert main(["tag", str(wav), "--model", str(tiny_model_dir)]) == 0
    assert "[sound 1]" in capsys.readouterr().out
    assert TagStore(db).stats()["sounds"] == 1


def test_tag_without_db_stores_nothing(tmp_path, tiny_model_dir, capsys, monkeypatch):
    monkeypatch.delenv("TAGGER_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    wav = make_tone_file(tmp_path / "a.wav")
    assert main(["tag", str(wav), "--json", "--model", str(tiny_model_dir)]) == 0
    assert "sound_id" not in json.loads(capsys.readouterr().out)
    assert not list(tmp_path.rglob("*.duckdb"))


def test_label_by_path_then_undo(tagged, capsys):
    db, files, _ = tagged
    code = main(["label", str(files[0]), "--add", "Bass", "guitr", "--remove", "piano",
                 "--user", "ana", "--db", str(db)])
    captured = capsys.readouterr()
    assert code == 0
    assert "added:     bas, guitr" in captured.out and "removed:   piano" in captured.out
    assert "guitar" in captured.err  # a suggestion for the out-of-vocabulary tag
    assert main(["label", "1", "--undo", "--user", "ana", "--db", str(db), "--json",
                 "--history"]) == 0
    out = capsys.readouterr().out.splitlines()
    labels = json.loads(out[0])
    assert labels["added"] == [] and labels["removed"] == [] and not labels["reviewed"]
    assert any("ana: add bas (typed 'Bass') (undone)" in line for line in out)


def test_label_errors_are_clear(tagged, capsys):
    db, _, _ = tagged
    assert main(["label", "99", "--add", "cat", "--db", str(db)]) == 1
    assert "no sound '99'" in capsys.readouterr().err
    assert main(["label", "1", "--undo", "--add", "cat", "--db", str(db)]) == 2
    assert main(["label", "1", "--add", "drum", "--remove", "drums", "--db", str(db)]) == 2
    assert "both added and removed" in capsys.readouterr().err
    assert TagStore(db).history(1) == []


def test_export_command_writes_each_format(tagged, tmp_path, capsys):
    db, _, _ = tagged
    assert main(["label", "2", "--confirm", "drum", "--db", str(db)]) == 0
    for fmt, name in (("jsonl", "a.jsonl"), ("csv", "a.csv"), ("parquet", "a.parquet"),
                      ("coala-h5", "a.h5")):
        capsys.readouterr()
        assert main(["export", "--format", fmt, "--out", str(tmp_path / name),
                     "--db", str(db)]) == 0
        assert "2 sounds" in capsys.readouterr().out
        assert (tmp_path / name).stat().st_size > 0
    assert main(["export", "--format", "jsonl", "--out", str(tmp_path / "r.jsonl"),
                 "--reviewed-only", "--db", str(db)]) == 0
    rows = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["sound_id"] for r in rows] == [2] and rows[0]["confirmed"] == ["drum"]
    assert main(["export", "--format", "csv", "--out", str(tmp_path / "x.csv"),
                 "--since", "someday", "--db", str(db)]) == 2
    (tmp_path / "a-file").write_text("")
    into_a_file = tmp_path / "a-file" / "tags.csv"  # its folder is a file: nothing can be written
    capsys.readouterr()
    assert main(["export", "--format", "csv", "--out", str(into_a_file), "--db", str(db)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write {into_a_file}: ")
