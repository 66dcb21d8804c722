"""Training files from the store with weak labels: the uploader's own Freesound tags, what curators
confirmed, or both, on a store filled by the feed from the local Freesound test server."""

from __future__ import annotations

import pytest

from core.__main__ import main
from core.dataset import read_coala
from core.feed import FeedConfig, fetch_freesound
from core.freesound import ClientConfig, FreesoundClient
from core.store import SoundQuery, TagStore
from core.store.export import ExportError, export_labels, preview_export
from core.tagger import Tagger
from core.vocabulary import decode_multi_hot, load_vocabulary
from tests.freesound_server import API_KEY, FakeFreesound

# Uploader tags as people write them: capitals, plurals, real spellings of mangled entries, and
# tags outside the vocabulary (my-own-thing, 2024) that must be dropped and counted.
UPLOADER_TAGS = [
    ["Bass", "drums", "my-own-thing"],  # -> bas, drum; 1 dropped
    ["Hi-Hat", "Percussion", "2024"],  # -> hihat, percussion; 1 dropped
    ["birds", "nature", "field"],  # -> bird, nature, field
    ["zzzz-unknown", "qqqq"],  # nothing in the vocabulary: left out of uploader files
]


@pytest.fixture(scope="module")
def fed_store(tmp_path_factory, tiny_model_dir):
    """A store made by the feed against the test server: 4 sounds with the tags above."""
    tmp = tmp_path_factory.mktemp("fed")
    store = TagStore(tmp / "tags.duckdb")
    with FakeFreesound(n_sounds=len(UPLOADER_TAGS)) as fs:
        for sound, tags in zip(fs.sounds, UPLOADER_TAGS, strict=True):
            sound["tags"] = tags
        client = FreesoundClient(API_KEY, ClientConfig(api_url=fs.api_url, backoff_s=0.0),
                                 sleep=lambda s: None)
        with client:
            summary = fetch_freesound(client, store, Tagger(tiny_model_dir, "cpu"),
                                      FeedConfig(audio_dir=tmp / "audio", batch=4))
    assert summary.new == len(UPLOADER_TAGS)
    return store


def ids_by_tags(store: TagStore) -> dict[str, int]:
    """The first uploader tag of each sound -> its store id."""
    return {store.get_sound(r.id).original_tags[0]: r.id
            for r in store.list_sounds(SoundQuery(limit=None))}


def labels_by_store_id(path) -> dict[int, set[str]]:
    import h5py

    arrays = read_coala(path)
    with h5py.File(path, "r") as f:
        store_ids = list(f["dataset"]["store_id"][:])
    return {int(i): set(decode_multi_hot(arrays.labels[k])) for k, i in enumerate(store_ids)}


def test_uploader_labels_map_through_normalization_and_count_what_is_dropped(fed_store, tmp_path):
    out = tmp_path / "weak.h5"
    summary = export_labels(fed_store, "coala-h5", out, labels="uploader")
    ids = ids_by_tags(fed_store)
    got = labels_by_store_id(out)
    assert got == {ids["Bass"]: {"bas", "drum"}, ids["Hi-Hat"]: {"hihat", "percussion"},
                   ids["birds"]: {"bird", "nature", "field"}}
    assert (summary.rows, summary.labels, summary.origins) == (3, 7, {"uploader": 3})
    assert summary.unmapped == 2  # my-own-thing and 2024, on the sounds written
    assert summary.unlabelled == 1  # zzzz-unknown, qqqq: no vocabulary tag at all
    preview = preview_export(fed_store, "coala-h5", labels="uploader")
    assert (preview.rows, preview.labels, preview.unmapped) == (3, 7, 2)


def test_final_and_both_take_curators_labels_for_reviewed_sounds(fed_store, tmp_path):
    ids = ids_by_tags(fed_store)
    fed_store.label(ids["Bass"], add=["guitar"], remove=["drums"], user="ana")
    fed_store.label(ids["zzzz-unknown"], add=["whistle"], user="ana")
    both = export_labels(fed_store, "coala-h5", tmp_path / "both.h5", labels="both")
    got = labels_by_store_id(tmp_path / "both.h5")
    final_bass = set(fed_store.labels(ids["Bass"]).final) & set(load_vocabulary())
    assert "guitar" in got[ids["Bass"]] and "drum" not in got[ids["Bass"]]
    assert got[ids["Bass"]] == final_bass  # the final labels, not the uploader's drums
    assert "whistle" in got[ids["zzzz-unknown"]]  # reviewed: kept though its uploader tags map to nothing
    assert got[ids["birds"]] == {"bird", "nature", "field"}  # unreviewed: the uploader's tags
    assert both.origins == {"final": 2, "uploader": 2} and both.unlabelled == 0

    final = export_labels(fed_store, "coala-h5", tmp_path / "final.h5", reviewed_only=True)
    assert set(labels_by_store_id(tmp_path / "final.h5")) == {ids["Bass"], ids["zzzz-unknown"]}
    assert final.origins == {"final": 2}


def test_cli_reports_sounds_labels_and_dropped_tags(fed_store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TAGGER_DB", str(fed_store.path))
    out = tmp_path / "cli.h5"
    assert main(["export", "--format", "coala-h5", "--labels", "uploader", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert "labels from uploader" in line and "uploader tags outside the vocabulary dropped" in line
    assert out.is_file()
    assert main(["export", "--format", "csv", "--labels", "uploader", "--out",
                 str(tmp_path / "x.csv")]) == 2
    assert "goes with --format coala-h5" in capsys.readouterr().err
    with pytest.raises(ExportError):
        export_labels(fed_store, "coala-h5", tmp_path / "y.h5", labels="guesses")
