"""The Export page, through Streamlit's AppTest, against a real DuckDB store with real audio files."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import h5py
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from app.export_files import ExportFilters, export_bytes, file_name
from core.store import SoundInfo, TagStore
from core.vocabulary import load_vocabulary
from tests.app_fixtures import plain
from tests.audio_factory import make_tone_file

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "export.py")
TIMEOUT = 60
PREDICTIONS = [("piano", 0.9), ("note", 0.7), ("bell", 0.45), ("drum", 0.1)]  # 2 labels at 0.5


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "tags.duckdb"
    monkeypatch.setenv("TAGGER_DB", str(path))
    monkeypatch.setenv("TAGGER_AUDIO", str(tmp_path / "audio"))
    return path


def add_sounds(db: Path, audio_dir: Path, n: int) -> list[int]:
    """n generated tone files, stored with the same predictions; their store ids."""
    store = TagStore(db)
    ids = []
    for i in range(n):
        path = make_tone_file(audio_dir / f"tone{i}.wav", seconds=1.0, freq=220.0 * (i + 1), seed=i)
        info = SoundInfo(source="upload", name=f"tone {i}", audio_path=str(path),
                         content_hash=hashlib.sha256(path.read_bytes()).hexdigest(), duration_s=1.0)
        ids.append(store.add_sound(info, predictions=PREDICTIONS, model="tiny-test@0")[0])
    return ids


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def counts(at: AppTest) -> tuple[str, str]:
    shown = {m.label: m.value for m in at.metric}
    return shown["Sounds to write"], shown["Labels to write"]


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def write_through_form(at: AppTest, name: str | None = None) -> AppTest:
    """Write file, with `name` typed in (None: the name the page proposes)."""
    if name is not None:
        at.text_input(key="export_name").input(name)
    return click(at, "Write file")


def exports(db: Path) -> Path:
    return db.parent / "exports"  # the default: exports/ next to the tag store


def test_empty_store_says_there_is_nothing_to_export(db):
    at = open_page()
    assert counts(at) == ("0", "0")
    assert any("Nothing to export" in i.value for i in at.info)
    assert not at.get("download_button")


def test_export_file_holds_a_correction_made_through_the_store(db, tmp_path):
    ids = add_sounds(db, tmp_path / "audio", 3)
    TagStore(db).label(ids[1], add=["bass"], remove=["piano"], user="ana")
    at = open_page()
    assert counts(at) == ("3", "6")  # piano + note each; the corrected one: note + bas
    at.radio(key="export_format").set_value("jsonl").run()
    at = write_through_form(at, "labels.jsonl")
    out = exports(db) / "labels.jsonl"
    assert any("Wrote 3 sounds and 6 labels" in s.value for s in at.success)
    records = {r["sound_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(records[ids[1]]["final"]) == ["bas", "note"]  # "bass" in the vocabulary's spelling
    assert records[ids[1]]["removed"] == ["piano"] and records[ids[1]]["reviewed"] is True
    assert sorted(records[ids[0]]["final"]) == ["note", "piano"]


def test_reviewed_only_and_since_filter_the_counts(db, tmp_path):
    ids = add_sounds(db, tmp_path / "audio", 3)
    TagStore(db).label(ids[2], confirm=["bell"], user="ana")
    at = open_page()
    at.toggle(key="export_reviewed").set_value(True).run()
    assert counts(at) == ("1", "3")  # piano, note and the confirmed bell
    assert at.get("download_button")
    assert "reviewed" in at.get("download_button")[0].proto.label
    at.toggle(key="export_reviewed").set_value(False)
    at.date_input(key="export_since").set_value(date.today() + timedelta(days=2)).run()
    assert not at.exception
    assert counts(at) == ("0", "0")


def test_threshold_changes_what_counts_as_a_label(db, tmp_path):
    add_sounds(db, tmp_path / "audio", 2)
    at = open_page()
    at.slider(key="export_threshold").set_value(0.4).run()
    assert counts(at) == ("2", "6")  # bell (0.45) now counts too


def test_coala_h5_export_has_patches_and_the_corrected_labels(db, tmp_path):
    ids = add_sounds(db, tmp_path / "audio", 2)
    TagStore(db).label(ids[0], add=["guitar"], user="ana")
    at = open_page()
    at.radio(key="export_format").set_value("coala-h5").run()
    write_through_form(at, "corrections.h5")
    out = exports(db) / "corrections.h5"
    vocab = load_vocabulary()
    with h5py.File(out, "r") as f:
        data, label, store_id = (f["dataset/data"][:], f["dataset/label"][:],
                                 f["dataset/store_id"][:])
    assert data.shape == (2, 96, 96) and label.shape == (2, len(vocab))
    row = list(store_id).index(ids[0])
    assert {vocab[i] for i in label[row].nonzero()[0]} == {"piano", "note", "guitar"}


def test_coala_h5_warns_about_sounds_without_audio(db, tmp_path):
    ids = add_sounds(db, tmp_path / "audio", 2)
    Path(TagStore(db).get_sound(ids[0]).audio_path).unlink()
    at = open_page()
    at.radio(key="export_format").set_value("coala-h5").run()
    assert counts(at)[0] == "1"
    assert any("1 sound is left out" in w.value for w in at.warning)


def test_download_bytes_are_the_export_file(db, tmp_path):
    ids = add_sounds(db, tmp_path / "audio", 2)
    store = TagStore(db)
    store.label(ids[0], remove=["note"], user="ana")
    table = pq.read_table(io.BytesIO(export_bytes(store, "parquet", ExportFilters()))).to_pylist()
    by_id = {r["sound_id"]: r for r in table}
    assert by_id[ids[0]]["final"] == ["piano"] and by_id[ids[1]]["reviewed"] is False
    csv_text = export_bytes(store, "csv", ExportFilters(reviewed_only=True)).decode()
    assert len(csv_text.strip().splitlines()) == 2  # the header and the one reviewed sound
    assert file_name("coala-h5", ExportFilters(), date(2025, 1, 2)) == "tags-2025-01-02.h5"


def test_an_exports_folder_that_cannot_be_written_is_an_error_not_a_crash(db, tmp_path):
    add_sounds(db, tmp_path / "audio", 1)
    exports(db).write_text("a file where the exports folder should be")
    at = write_through_form(open_page(), "labels.csv")
    assert any("Could not write" in e.value for e in at.error)


def test_ten_thousand_sounds_preview_and_write(db, tmp_path):
    store = TagStore(db)
    for start in range(0, 10_000, 2_000):
        store.add_sounds([(SoundInfo(source="freesound", name=f"sound {i}", audio_path=None,
                                     content_hash=f"hash-{i}", duration_s=1.0, freesound_id=i),
                           PREDICTIONS, "tiny-test@0") for i in range(start, start + 2_000)])
    store.label(7, add=["bass"], user="ana")
    at = open_page()
    assert counts(at) == ("10,000", "20,001")
    write_through_form(at, "all.csv")
    out = exports(db) / "all.csv"
    assert len(out.read_text().splitlines()) == 10_001


# --- Write file stays inside the exports folder (issue #18) ----------------------------------------
@pytest.mark.parametrize("name", ["../x", "/tmp/x", "sub/x.csv", "..", ".hidden", "a\x00b"])
def test_write_file_refuses_names_that_leave_the_exports_folder(db, tmp_path, name):
    add_sounds(db, tmp_path / "audio", 1)
    at = write_through_form(open_page(), name)
    assert at.error and not at.success
    assert not (tmp_path / "x").exists() and not Path("/tmp/x").exists()
    assert not exports(db).exists() or not any(exports(db).iterdir())


def test_write_file_refuses_a_symlink_pointing_out_of_the_folder(db, tmp_path):
    add_sounds(db, tmp_path / "audio", 1)
    outside = tmp_path / "outside.jsonl"
    outside.write_text("keep me\n")
    exports(db).mkdir()
    (exports(db) / "tags.jsonl").symlink_to(outside)
    at = open_page()
    at.radio(key="export_format").set_value("jsonl").run()
    at = write_through_form(at, "tags.jsonl")
    assert any("symbolic link" in e.value for e in at.error)
    assert not any(b.label.startswith("Overwrite") for b in at.button)
    assert outside.read_text() == "keep me\n"
    assert (exports(db) / "tags.jsonl").is_symlink()


def test_write_file_writes_inside_the_folder_and_asks_before_overwriting(db, tmp_path):
    add_sounds(db, tmp_path / "audio", 2)
    at = open_page()
    at.radio(key="export_format").set_value("jsonl").run()
    at = write_through_form(at, "tags.jsonl")
    out = exports(db) / "tags.jsonl"
    assert any("Wrote 2 sounds" in s.value for s in at.success)
    assert len(out.read_text().splitlines()) == 2
    out.write_text("an older export\n")
    at = write_through_form(at, "tags.jsonl")
    assert any("already exists" in w.value for w in at.warning) and not at.success
    assert out.read_text() == "an older export\n"  # nothing written until the user says so
    at = click(at, "Keep it")
    assert out.read_text() == "an older export\n" and not at.warning
    at = write_through_form(at, "tags.jsonl")
    at = click(at, "Overwrite tags.jsonl")
    assert any("Wrote 2 sounds" in s.value for s in at.success) and not at.warning
    assert [json.loads(line)["name"] for line in out.read_text().splitlines()] == ["tone 0", "tone 1"]


# --- Write file follows the chosen format and filters (issue #13, item 3) ---------------------------
def test_write_file_name_follows_the_format_and_filters(db, tmp_path):
    ids = add_sounds(db, tmp_path / "audio", 3)
    TagStore(db).label(ids[1], confirm=["bell"], user="ana")
    at = open_page()
    at.radio(key="export_format").set_value("jsonl").run()
    at.toggle(key="export_reviewed").set_value(True).run()
    at = write_through_form(at)  # the proposed name, untouched
    today = datetime.now(UTC).date().isoformat()
    out = exports(db) / f"tags-reviewed-{today}.jsonl"
    assert f"Wrote 1 sounds and 3 labels to {out}." in plain(at, ("success",))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["sound_id"] for r in records] == [ids[1]]
    assert sorted(exports(db).iterdir()) == [out]


def test_a_typed_file_name_stays_when_the_format_changes(db, tmp_path):
    add_sounds(db, tmp_path / "audio", 1)
    at = open_page()
    at.text_input(key="export_name").input("mine.txt")
    at.radio(key="export_format").set_value("parquet").run()
    assert at.text_input(key="export_name").value == "mine.txt"
    assert any("does not end in .parquet" in w.value for w in at.warning)
    at = write_through_form(at)
    assert pq.read_table(exports(db) / "mine.txt").num_rows == 1
