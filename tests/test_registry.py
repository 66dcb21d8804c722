"""The model registry: lineage, `models`, `promote` switching what tag, the feed and retag use, and
the fall back to models/default (with a clear message) when a promoted model is deleted."""

from __future__ import annotations

import json
import shutil

import pytest

from core.__main__ import main
from core.registry import ACTIVE, RegistryError, active_model, list_registered, promote
from core.store import SoundQuery, TagStore
from tests.audio_factory import make_tone_file
from tests.conftest import make_model_dir


@pytest.fixture
def models(tmp_path, monkeypatch):
    root = tmp_path / "models"
    make_model_dir(root / "default", seed=0, name="base", version="1")
    make_model_dir(root / "better", seed=1, name="better", version="1")
    monkeypatch.delenv("TAGGER_MODEL", raising=False)
    monkeypatch.setenv("TAGGER_MODELS", str(root))
    return root


def tag_json(path, capsys) -> dict:
    assert main(["tag", str(path), "--json", "--device", "cpu"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[0])


def test_promote_switches_tag_and_a_deleted_promoted_model_falls_back(models, tmp_path, capsys):
    wav = make_tone_file(tmp_path / "a.wav", seconds=1.0)
    assert tag_json(wav, capsys)["model"] == "base@1"
    assert main(["promote", "better"]) == 0
    assert (models / ACTIVE).read_text().strip() == "better"
    assert "active model" in capsys.readouterr().out
    assert tag_json(wav, capsys)["model"] == "better@1"

    shutil.rmtree(models / "better")
    assert main(["tag", str(wav), "--json", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[0])["model"] == "base@1"
    assert "the promoted model 'better' is no longer in" in captured.err
    assert "Traceback" not in captured.err


def test_promote_refuses_what_is_not_a_model(models, capsys):
    (models / "empty").mkdir()
    assert main(["promote", "empty"]) == 2
    assert main(["promote", "../x"]) == 2
    err = capsys.readouterr().err
    assert "no model 'empty'" in err and "not a model name" in err and "Traceback" not in err
    assert not (models / ACTIVE).exists()
    with pytest.raises(RegistryError):
        promote("missing", models)


def test_environment_overrides_the_promoted_model(models, monkeypatch):
    promote("better")
    assert active_model().path == models / "better"
    monkeypatch.setenv("TAGGER_MODEL", str(models / "default"))
    assert active_model().source == "environment" and active_model().path == models / "default"


def test_models_lists_lineage_and_figures(models, capsys):
    (models / "better" / "lineage.json").write_text(json.dumps(
        {"created_at": "2026-12-02T06:00:00+00:00", "made_by": "improve", "base_model": "default",
         "figures": {"held-out store sounds": 0.61}}))
    promote("better")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "* better" in out and "held-out store sounds 0.610" in out and "from default" in out
    listed = list_registered(models)
    assert [m.name for m in listed] == ["better", "default"] and listed[0].active


def test_feed_and_retag_use_the_promoted_model_and_keep_corrections(models, tmp_path, capsys):
    folder = tmp_path / "sounds"
    for i in range(3):
        make_tone_file(folder / f"s{i}.wav", seconds=1.0, freq=300.0 + 100 * i, seed=i)
    db = tmp_path / "tags.duckdb"
    assert main(["feed", "--source", f"folder:{folder}", "--db", str(db), "--device", "cpu"]) == 0
    store = TagStore(db)
    rows = store.list_sounds(SoundQuery(limit=None, sort="oldest"))
    assert {r.labels.model for r in rows} == {"base@1"}
    store.label(rows[0].id, add=["guitar"], remove=[rows[0].predicted[0][0]], user="ana")
    before, history = store.labels(rows[0].id), store.history(rows[0].id)

    promote("better")
    capsys.readouterr()
    assert main(["retag", "--db", str(db), "--device", "cpu", "--unreviewed-only"]) == 0
    assert "re-tagged 2 sounds with better@1" in capsys.readouterr().out
    assert store.labels(rows[0].id).model == "base@1"  # reviewed: left alone with --unreviewed-only
    assert {store.labels(r.id).model for r in rows[1:]} == {"better@1"}

    assert main(["retag", "--db", str(db), "--device", "cpu"]) == 0
    assert "re-tagged 1 sounds" in capsys.readouterr().out
    after = store.labels(rows[0].id)
    assert after.model == "better@1"
    assert (after.added, after.removed) == (before.added, before.removed)  # corrections kept
    assert "guitar" in after.final and before.removed[0] not in after.final
    assert store.history(rows[0].id) == history  # not one correction written or changed
    n_predictions = store.stats()["predictions"]
    assert main(["retag", "--db", str(db), "--device", "cpu"]) == 0  # nothing left to do
    assert store.stats()["predictions"] == n_predictions
