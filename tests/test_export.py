"""Exports carry what the model proposed, what people changed, and the final labels, verbatim."""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, datetime, timedelta

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest

from core.audio import load_audio
from core.dataset import read_coala
from core.features import patch_for
from core.store import SoundInfo, TagStore, file_hash
from core.store.export import (
    COLUMNS,
    ExportError,
    export_labels,
    parse_since,
    preview_export,
    spreadsheet_safe,
)
from core.vocabulary import multi_hot
from tests.audio_factory import make_tone_file

HOSTILE = [
    "'; DROP TABLE sounds; --",
    'Robert"); DELETE FROM corrections WHERE ("1"="1',
    "**bold** _it_ [link](javascript:alert(1)) | table | `code`",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "ünïcödé 日本語 🎹🥁 \u202eright-to-left\u202c zero\u200bwidth",
    "tabs\tand\nnewlines\r\nand a NUL\x00byte, back\\slash, \"quotes\" and 'apostrophes'",
    "=cmd|' /C calc'!A0",
    "x" * 20_000,
]


@pytest.fixture
def store(tmp_path) -> TagStore:
    return TagStore(tmp_path / "tags.duckdb")


def add(store, i, source="upload", fid=None, audio=None, preds=(("piano", 0.9), ("drum", 0.3)),
        **kw):
    info = SoundInfo(source=source, name=kw.pop("name", f"sound {i}"),
                     audio_path=str(audio) if audio else None,
                     content_hash=file_hash(audio) if audio else f"h{i}", duration_s=1.0,
                     freesound_id=fid, **kw)
    return store.add_sound(info, list(preds), "tiny@1")[0]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    out = []
    for row in body:
        rec = dict(zip(header, row, strict=True))
        for key in ("predicted", "added", "removed", "confirmed", "final"):
            rec[key] = json.loads(rec[key])
        rec["sound_id"] = int(rec["sound_id"])
        rec["freesound_id"] = int(rec["freesound_id"]) if rec["freesound_id"] else None
        rec["model"] = rec["model"] or None
        rec["reviewed"] = {"true": True, "false": False}[rec["reviewed"]]
        out.append(rec)
    return header, out


def test_jsonl_has_exactly_the_documented_fields(store, tmp_path):
    a = add(store, 1, source="freesound", fid=4242)
    b = add(store, 2, fid=None)
    store.label(a, add=["bass"], remove=["piano"], confirm=["drum"], user="ana")
    summary = export_labels(store, "jsonl", tmp_path / "out.jsonl")
    assert (summary.rows, summary.labels) == (2, 3)
    first, second = read_jsonl(tmp_path / "out.jsonl")
    assert list(first) == list(COLUMNS) == [
        "sound_id", "source", "freesound_id", "name", "model", "predicted", "added", "removed",
        "confirmed", "final", "reviewed"]
    assert first == {"sound_id": a, "source": "freesound", "freesound_id": 4242,
                     "name": "sound 1", "model": "tiny@1",
                     "predicted": [{"tag": "piano", "score": 0.9}, {"tag": "drum", "score": 0.3}],
                     "added": ["bas"], "removed": ["piano"], "confirmed": ["drum"],
                     "final": ["drum", "bas"], "reviewed": True}
    assert second["sound_id"] == b and second["freesound_id"] is None
    assert second["final"] == ["piano"] and second["reviewed"] is False


def test_csv_and_parquet_carry_the_same_columns_and_values(store, tmp_path):
    a = add(store, 1, source="freesound", fid=7)
    add(store, 2, preds=())
    store.label(a, add=["cat", "808"], user="ana")
    for fmt in ("jsonl", "csv", "parquet"):
        export_labels(store, fmt, tmp_path / f"out.{fmt}")
    expected = read_jsonl(tmp_path / "out.jsonl")
    header, from_csv = read_csv(tmp_path / "out.csv")
    table = pq.read_table(tmp_path / "out.parquet")
    assert header == list(COLUMNS) and table.column_names == list(COLUMNS)
    assert from_csv == expected
    assert table.to_pylist() == expected
    assert expected[1]["model"] is None and expected[1]["predicted"] == []


def test_csv_cells_a_spreadsheet_would_run_are_defused(store, tmp_path):
    names = ['=HYPERLINK("http://evil","click")', "+1+2", "-3", "@SUM(A1)", "\tcmd", "a=b", "plain"]
    for i, name in enumerate(names):
        add(store, i, name=name)
    export_labels(store, "csv", tmp_path / "out.csv")
    export_labels(store, "jsonl", tmp_path / "out.jsonl")
    _, rows = read_csv(tmp_path / "out.csv")
    assert [r["name"] for r in rows] == ["'" + n for n in names[:5]] + names[5:]
    assert [r["name"] for r in read_jsonl(tmp_path / "out.jsonl")] == names  # jsonl stays exact


def test_reviewed_only_since_and_threshold_select_what_is_written(store, tmp_path):
    a = add(store, 1)
    add(store, 2)
    store.label(a, confirm=["piano"])
    out = tmp_path / "out.jsonl"
    assert export_labels(store, "jsonl", out, reviewed_only=True).rows == 1
    assert [r["sound_id"] for r in read_jsonl(out)] == [a]
    tomorrow = utc_now() + timedelta(days=1)
    assert export_labels(store, "jsonl", out, since=tomorrow).rows == 0
    assert export_labels(store, "jsonl", out, since="2000-01-01").rows == 2
    assert export_labels(store, "jsonl", out, threshold=0.2).labels == 4
    with pytest.raises(ExportError, match="--since"):
        export_labels(store, "jsonl", out, since="last tuesday")


def test_since_includes_old_sounds_corrected_recently(store, tmp_path):
    a = add(store, 1)
    add(store, 2)
    cut = utc_now() + timedelta(seconds=1)
    time.sleep(1.1)
    store.label(a, add=["cat"])
    summary = export_labels(store, "jsonl", tmp_path / "out.jsonl", since=cut)
    assert summary.rows == 1 and read_jsonl(tmp_path / "out.jsonl")[0]["sound_id"] == a


def test_preview_counts_what_export_writes_without_writing(store, tmp_path):
    a = add(store, 1)
    add(store, 2)
    store.label(a, add=["cat", "dog"], remove=["piano"])
    for reviewed_only in (False, True):
        preview = preview_export(store, "csv", reviewed_only=reviewed_only)
        written = export_labels(store, "csv", tmp_path / "out.csv", reviewed_only=reviewed_only)
        assert (preview.rows, preview.labels) == (written.rows, written.labels)
        assert preview.path is None
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".tmp", ".part")]


def test_hostile_strings_are_stored_and_exported_verbatim(store, tmp_path):
    ids = []
    for i, text in enumerate(HOSTILE):
        sid = add(store, i, source="freesound", fid=i + 1, name=text, description=text,
                  username=text, original_tags=(text, "ok"), url=text, license=text)
        ids.append(sid)
        tag = text if len(text) < 1000 else "long"  # a tag over 100 characters is refused
        result = store.label(sid, add=[tag], user=text)
        got = store.get_sound(sid)
        assert (got.name, got.description, got.username, got.url, got.license) == (text,) * 5
        assert got.original_tags == (text, "ok")
        (event,) = [c for c in store.history(sid) if c.original == tag]
        assert event.user == text
        assert result.recorded or result.ignored == [tag]
    for fmt in ("jsonl", "csv", "parquet"):
        export_labels(store, fmt, tmp_path / f"out.{fmt}")
    exported = {"jsonl": read_jsonl(tmp_path / "out.jsonl"),
                "csv": read_csv(tmp_path / "out.csv")[1],
                "parquet": pq.read_table(tmp_path / "out.parquet").to_pylist()}
    for fmt, rows in exported.items():
        expected = [spreadsheet_safe(t) for t in HOSTILE] if fmt == "csv" else HOSTILE
        assert [r["name"] for r in rows] == expected, fmt
    assert store.stats()["sounds"] == len(HOSTILE)  # and no statement ran from the strings


def test_coala_h5_holds_the_patch_and_multi_hot_of_the_final_tags(store, tmp_path):
    wav = make_tone_file(tmp_path / "a.wav", seconds=2.0, freq=440)
    flac = make_tone_file(tmp_path / "b.flac", seconds=1.0, freq=880)
    gone = make_tone_file(tmp_path / "gone.wav", seconds=1.0, freq=220)
    a = add(store, 1, source="freesound", fid=4242, audio=wav.resolve())
    b = add(store, 2, audio=flac.resolve(), preds=(("drum", 0.8),))
    c = add(store, 3, audio=gone.resolve())
    gone.unlink()
    store.label(a, add=["bass", "my-own-tag"], remove=["piano"])
    out = tmp_path / "labels.h5"
    preview = preview_export(store, "coala-h5")
    summary = export_labels(store, "coala-h5", out)
    assert (summary.rows, summary.labels) == (preview.rows, preview.labels) == (2, 2)
    assert [sid for sid, _ in summary.skipped] == [c] and "gone" in summary.skipped[0][1]
    arrays = read_coala(out)
    assert list(arrays.ids) == [4242, -b]  # Freesound id, else minus the store id
    assert arrays.data.shape == (2, 96, 96) and arrays.labels.shape == (2, 1000)
    np.testing.assert_allclose(arrays.data[0], patch_for(load_audio(wav).samples), atol=1e-6)
    np.testing.assert_allclose(arrays.data[1], patch_for(load_audio(flac).samples), atol=1e-6)
    assert (arrays.labels[0] == multi_hot(["bas"])).all()  # my-own-tag is outside the 1000
    assert (arrays.labels[1] == multi_hot(["drum"])).all()
    with h5py.File(out) as f:
        assert list(f["dataset/store_id"][:]) == [a, b]


def test_a_failed_export_leaves_the_previous_file_and_no_temporary(store, tmp_path):
    wav = make_tone_file(tmp_path / "a.wav")
    add(store, 1, audio=wav.resolve())
    add(store, 2, audio=wav.resolve(), name="same audio")  # same hash: one sound
    add(store, 3, audio=make_tone_file(tmp_path / "b.wav", freq=660).resolve())
    out = tmp_path / "labels.h5"
    out.write_bytes(b"previous export")

    def crash(done, total):
        if done == 1:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        export_labels(store, "coala-h5", out, progress=crash)
    assert out.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav", "labels.h5",
                                                          "tags.duckdb"]


def test_unknown_format_is_refused(store, tmp_path):
    with pytest.raises(ExportError, match="csv, jsonl, parquet, coala-h5"):
        export_labels(store, "xlsx", tmp_path / "x.xlsx")


def test_since_accepts_dates_and_times_with_a_zone():
    assert parse_since("2024-05-01") == datetime(2024, 5, 1)
    assert parse_since("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8)
    assert parse_since(datetime(2024, 5, 1, 10, tzinfo=UTC)) == datetime(2024, 5, 1, 10)
