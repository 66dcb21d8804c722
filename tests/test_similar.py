"""Embeddings in the store, similar sounds, tags from neighbours and suspects, on real DuckDB
files, real audio (the demo sounds and copies and variants of them) and the bundled model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import soundfile as sf

from core.audio import load_audio
from core.commands.tag import store_result
from core.embed import embed_missing
from core.modeldir import DEFAULT_MODEL_DIR, read_model_info
from core.neighbour_tags import evaluate, neighbour_tags, tag_shares
from core.similar import EmbeddingIndex, similar_to_sound
from core.store import SCHEMA_VERSION, LabelRequest, SoundInfo, TagStore
from core.store.schema import MIGRATIONS, utc_now
from core.suspects import order_by, suspects
from core.tagger import Tagger

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
SOURCES = ("ambi_choir.ogg", "drum_cowbell.ogg", "misc_crow.ogg", "loop_amen.ogg", "perc_door.ogg")


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(DEFAULT_MODEL_DIR, "cpu")


def write_variants(folder: Path) -> dict[str, Path]:
    """Each source as it is, as a wav copy (other bytes, same audio) and as a quieter, noisier,
    shorter variant."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    out = {}
    for name in SOURCES:
        stem = Path(name).stem
        audio = load_audio(DEMO / name).samples
        out[name] = DEMO / name
        sf.write(folder / f"{stem}-copy.wav", audio, 22_000)
        out[f"{stem}-copy"] = folder / f"{stem}-copy.wav"
        variant = 0.6 * audio[: max(len(audio) * 9 // 10, 22_000)]
        variant = variant + 0.002 * rng.standard_normal(len(variant)).astype(np.float32)
        sf.write(folder / f"{stem}-variant.wav", variant, 22_000)
        out[f"{stem}-variant"] = folder / f"{stem}-variant.wav"
    return out


@pytest.fixture(scope="module")
def variant_store(tmp_path_factory, tagger) -> tuple[TagStore, dict[str, int]]:
    folder = tmp_path_factory.mktemp("variants")
    files = write_variants(folder / "audio")
    store = TagStore(folder / "tags.duckdb")
    ids = {key: store_result(store, r, tagger.model_label)
           for key, r in zip(files, tagger.tag_files(list(files.values()), top_k=20), strict=True)}
    return store, ids


def test_an_embedding_goes_into_the_store_with_its_predictions_and_comes_back(tmp_path, tagger):
    result = tagger.tag_file(DEMO / "perc_bell.ogg")
    assert result.embedding.shape == (read_model_info(DEFAULT_MODEL_DIR).embedding.size,)
    store = TagStore(tmp_path / "tags.duckdb")
    sound_id = store_result(store, result, tagger.model_label)
    back = store.embedding(sound_id, tagger.model_label)
    assert back.dtype == np.float32 and np.array_equal(back, result.embedding)
    ids, matrix = TagStore(tmp_path / "tags.duckdb").embedding_matrix(tagger.model_label)
    assert list(ids) == [sound_id] and np.array_equal(matrix[0], result.embedding)
    index = EmbeddingIndex.from_store(store, tagger.model_label)  # unit length, norms kept
    assert np.allclose(index.as_stored(np.array([0]))[0], result.embedding, rtol=1e-5, atol=1e-6)
    assert store.labels(sound_id).predicted[0][0] == result.tags[0][0]
    with pytest.raises(ValueError, match="one size"):
        store.add_embeddings([(sound_id + 1, tagger.model_label, np.ones(3, np.float32))])


def test_a_version_3_file_migrates_and_its_sounds_get_embeddings_through_embed(tmp_path, tagger):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for m in MIGRATIONS[:3]:  # the file as the previous version made it
        m.apply(con)
        con.execute("INSERT INTO schema_version VALUES ($v, $d, $at)",
                    {"v": m.version, "d": m.description, "at": utc_now()})
    con.execute("INSERT INTO sounds (id, source, name, audio_path, content_hash, added_at) VALUES "
                "(1, 'folder', 'door', $p, 'h1', $t), (2, 'folder', 'gone', '/no/such.ogg', 'h2', $t)",
                {"p": str(DEMO / "perc_door.ogg"), "t": utc_now()})
    con.close()
    store = TagStore(path)
    assert store.schema_version == SCHEMA_VERSION == 4
    assert store.embedding_counts() == {} and store.get_sound(1).name == "door"
    summary = embed_missing(store, tagger)
    assert (summary.embedded, summary.missing, summary.failed) == (1, 1, 0)
    assert store.embedding(1, tagger.model_label) is not None
    assert store.embedding(2, tagger.model_label) is None
    assert embed_missing(store, tagger).embedded == 0  # done once


def test_a_copy_ranks_first_and_a_variant_next(variant_store):
    store, ids = variant_store
    index = EmbeddingIndex.from_store(store, next(iter(store.embedding_counts())))
    for name in SOURCES:
        stem = Path(name).stem
        found = similar_to_sound(store, index, ids[name], k=3)
        assert found[0].sound_id == ids[f"{stem}-copy"], (name, found)
        assert ids[f"{stem}-variant"] in [n.sound_id for n in found[:2]], (name, found)
        assert ids[name] not in [n.sound_id for n in found]
        assert found[0].similarity > 0.99 and found[0].tags == store.labels(found[0].sound_id).final


def test_similar_command_prints_one_json_object_per_neighbour(variant_store):
    store, ids = variant_store
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TAGGER_MODEL": str(DEFAULT_MODEL_DIR)}
    run = subprocess.run([sys.executable, "-m", "core", "similar", str(ids["misc_crow.ogg"]),
                          "--k", "4", "--json", "--db", str(store.path)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == 4 and rows[0]["sound_id"] == ids["misc_crow-copy"]
    assert set(rows[0]) == {"sound_id", "name", "similarity", "tags"}
    assert [r["similarity"] for r in rows] == sorted((r["similarity"] for r in rows), reverse=True)
    bad = subprocess.run([sys.executable, "-m", "core", "similar", "no-such-sound",
                          "--db", str(store.path)], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert bad.returncode == 1 and bad.stderr.startswith("error: no sound") and "Traceback" not in bad.stderr


def test_neighbour_tags_come_from_reviewed_sounds_and_store_nothing(tmp_path, tagger):
    files = write_variants(tmp_path / "audio")
    store = TagStore(tmp_path / "tags.duckdb")
    ids = {k: store_result(store, r, tagger.model_label)
           for k, r in zip(files, tagger.tag_files(list(files.values())), strict=True)}
    store.label(ids["misc_crow-copy"], add=["crow", "bird"], user="ana")
    store.label(ids["perc_door-copy"], add=["door", "knock"], user="ana")
    index = EmbeddingIndex.from_store(store, tagger.model_label)
    before = store.stats()["corrections"]
    query = ids["misc_crow.ogg"]
    got = neighbour_tags(store, index, index.vector(query), [query],
                         store.labels(query).final, k=1)
    assert got.sounds == 1 and [t for t, _ in got.tags][:2] == ["bird", "crow"]
    assert got.line().startswith("From 1 similar sound you reviewed: bird, crow")
    assert store.stats()["corrections"] == before  # offered, never stored
    assert "crow" not in store.labels(query).final
    # an unreviewed copy is nearer, but only reviewed sounds are asked
    assert similar_to_sound(store, index, query, k=1)[0].sound_id == ids["misc_crow-copy"]
    unreviewed_first = neighbour_tags(store, index, index.vector(ids["misc_crow-variant"]),
                                      [ids["misc_crow-variant"]], k=2)
    assert {t for t, _ in unreviewed_first.tags} >= {"crow", "bird"} or unreviewed_first.sounds == 2


def test_tag_shares_weigh_by_similarity():
    shares = dict(tag_shares([(1, 0.9), (2, 0.1)], {1: ["rain"], 2: ["rain", "wind"]}))
    assert shares == pytest.approx({"rain": 1.0, "wind": 0.1})


def test_the_held_out_figure_is_measured_on_reviewed_sounds(variant_store):
    store, ids = variant_store
    for key, sid in ids.items():  # every sound reviewed with a tag of its source
        store.label(sid, add=[key.split("_")[0].split("-")[0].split(".")[0]], user="ana")
    index = EmbeddingIndex.from_store(store, next(iter(store.embedding_counts())))
    result = evaluate(store, index, holdout=0.5)
    assert result.heldout + result.pool == len(ids) and result.heldout > 0
    assert 0 <= result.model_hit_rate <= 1 and result.neighbour_hit_rate > 0.5


def synthetic_store(path: Path, n: int = 60) -> tuple[TagStore, dict[int, tuple[str, str]]]:
    """n sounds, each a clear case of one tag for the model, reviewed with that tag; then a few
    planted errors: the true tag removed and a wrong one added."""
    tags = ["rain", "dog", "piano", "door", "engine", "bird"]
    store = TagStore(path)
    items = []
    for i in range(n):
        true = tags[i % len(tags)]
        preds = [(true, 0.92)] + [(t, 0.05 + 0.01 * j) for j, t in enumerate(tags) if t != true]
        items.append((SoundInfo("upload", f"sound {i}", None, f"h{i}", 1.0), preds, "m@1"))
    ids = [sid for sid, _ in store.add_sounds(items)]
    store.label_many([LabelRequest(sid, confirm=[tags[i % len(tags)]], user="ana")
                      for i, sid in enumerate(ids)])
    planted = {ids[i]: (tags[i % len(tags)], wrong) for i, wrong in ((5, "dog"), (22, "rain"),
                                                                       (40, "piano"))}
    store.label_many([LabelRequest(sid, remove=[true], add=[wrong], user="planted")
                      for sid, (true, wrong) in planted.items()])
    return store, planted


def test_suspects_find_planted_errors_first_and_name_the_tags(tmp_path):
    store, planted = synthetic_store(tmp_path / "tags.duckdb")
    ranked = suspects(store)
    assert len(ranked) == 60
    assert {s.sound_id for s in ranked[:3]} == set(planted)
    for s in ranked[:3]:
        assert (planted[s.sound_id][1], "wrong?") in {(t, kind) for t, kind, _ in s.issues}
        assert s.labels_from == "final"
    # every sound carries one tag, so the label pairs doubt that the true tag is missing (no
    # sound pairs it with the wrong one); the model's scores alone name it too
    model_only = suspects(store, label_pairs=False)
    assert {s.sound_id for s in model_only[:3]} == set(planted)
    for s in model_only[:3]:
        true, wrong = planted[s.sound_id]
        assert {(wrong, "wrong?"), (true, "missing?")} <= {(t, k) for t, k, _ in s.issues}
    order = order_by(ranked, list(reversed(range(1, 61))))
    assert set(order[:3]) == set(planted) and sorted(order) == list(range(1, 61))


def test_suspects_judge_unreviewed_sounds_by_their_uploaders_tags(tmp_path):
    store = TagStore(tmp_path / "tags.duckdb")
    sure = {"Piano": [("piano", 0.9), ("dog", 0.1)], "Dog": [("dog", 0.9), ("piano", 0.1)]}
    items = [(SoundInfo("freesound", f"{tag} {i}", None, f"h{tag}{i}", 1.0, original_tags=(tag,)),
              preds, "m@1") for tag, preds in sure.items() for i in range(4)]
    items += [(SoundInfo("freesound", "barking piano", None, "hb", 1.0, original_tags=("Dog",)),
               sure["Piano"], "m@1"),
              (SoundInfo("folder", "untagged", None, "hc", 1.0), sure["Piano"], "m@1")]
    ids = [sid for sid, _ in store.add_sounds(items)]
    ranked = suspects(store)
    assert len(ranked) == 9  # the folder sound has no given tags: not judged
    assert ranked[0].sound_id == ids[8] and ranked[0].name == "barking piano"
    assert ranked[0].labels_from == "uploader" and ranked[0].labels == ("dog",)


def test_the_bench_section_searches_a_synthetic_store(tmp_path):
    from core.bench.similar import search_figures

    figures = search_figures(tmp_path, 2_500, 16, 3)
    assert figures["sounds"] == 2_500 and figures["index_mb"] > 0
    assert figures["search"]["runs"] == 3 and figures["query_with_rows"]["runs"] == 5
    ids, matrix = TagStore(tmp_path / "similar.duckdb").embedding_matrix("bench@0")
    assert matrix.shape == (2_500, 16) and (matrix >= 0).all()


def test_the_feed_and_retag_store_embeddings_with_their_predictions(tmp_path, tagger):
    import shutil

    from core.feed import ingest_folder
    from core.retag import retag

    folder = tmp_path / "sounds"
    folder.mkdir()
    for name in SOURCES[:3]:
        shutil.copy(DEMO / name, folder / name)
    store = TagStore(tmp_path / "tags.duckdb")
    assert ingest_folder(folder, store, tagger).new == 3
    assert store.embedding_counts() == {tagger.model_label: 3}
    other = Tagger(DEFAULT_MODEL_DIR, "cpu")
    other.loaded.info.version = "retrained"  # another model label, same weights
    assert retag(store, other).tagged == 3
    assert store.embedding_counts() == {tagger.model_label: 3, other.model_label: 3}
    for sid in (1, 2, 3):
        assert store.labels(sid).model == other.model_label
        assert np.allclose(store.embedding(sid, other.model_label),
                           store.embedding(sid, tagger.model_label))


def test_neighbours_labels_find_an_error_the_model_cannot_see(tmp_path):
    """The model is unsure of every tag on one sound (all scores 0.3) and misses the right tag
    of four others (0.1); the first sound's embedding sits among sounds labelled 'dog', yet it
    was labelled 'piano': the neighbours put it first, the model alone behind the four."""
    store = TagStore(tmp_path / "tags.duckdb")
    rng = np.random.default_rng(0)
    items, vectors = [], []
    for i in range(30):
        tag = ("dog", "piano", "rain")[i % 3]
        flat = i == 0  # the sound the model cannot judge
        right = 0.1 if 1 <= i <= 4 else 0.8
        preds = [(t, 0.3 if flat else (right if t == tag else 0.2)) for t in ("dog", "piano", "rain")]
        items.append((SoundInfo("upload", f"s{i}", None, f"h{i}", 1.0), preds, "m@1"))
        vectors.append(np.eye(3, dtype=np.float32)[i % 3] + 0.05 * rng.random(3, np.float32))
    ids = [sid for sid, _ in store.add_sounds(items, vectors)]
    store.label_many([LabelRequest(sid, add=["piano" if i == 0 else ("dog", "piano", "rain")[i % 3]],
                                   user="ana") for i, sid in enumerate(ids)])
    index = EmbeddingIndex.from_store(store, "m@1")
    assert suspects(store, index=index)[0].sound_id == ids[0]
    with_neighbours = suspects(store, index=index, label_pairs=False)
    assert with_neighbours[0].sound_id == ids[0]
    assert ("dog", "missing?") in {(t, k) for t, k, _ in with_neighbours[0].issues}
    model_only = [s.sound_id for s in suspects(store, label_pairs=False)]
    assert model_only.index(ids[0]) == 4  # alone, the model ranks it behind the four it misses


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TAGGER_MODEL": str(DEFAULT_MODEL_DIR)}
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_similar_computes_a_missing_embedding_and_takes_an_unstored_file(tmp_path, tagger):
    store = TagStore(tmp_path / "tags.duckdb")
    results = list(tagger.tag_files([DEMO / n for n in SOURCES]))
    ids = [store_result(store, r, tagger.model_label) for r in results[1:]]
    first = store.add_sound(SoundInfo("folder", SOURCES[0], str(DEMO / SOURCES[0]),
                                      "old-sound", 1.0), results[0].tags, tagger.model_label)[0]
    run = run_cli("similar", str(first), "--k", "2", "--db", str(store.path))
    assert run.returncode == 0, run.stderr
    assert f"sound {first}: {SOURCES[0]}" in run.stdout and len(run.stdout.splitlines()) == 3
    assert store.embedding(first, tagger.model_label) is not None  # computed once, kept
    wav = tmp_path / "crow.wav"
    sf.write(wav, load_audio(DEMO / "misc_crow.ogg").samples, 22_000)
    run = run_cli("similar", str(wav), "--k", "1", "--json", "--db", str(store.path))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["sound_id"] == ids[SOURCES.index("misc_crow.ogg") - 1]
    assert store.find_sound(wav) is None  # compared, not stored


def test_suspects_command_prints_json_lines_most_suspect_first(tmp_path):
    store, planted = synthetic_store(tmp_path / "tags.duckdb")
    run = run_cli("suspects", "--json", "--top", "3", "--db", str(store.path))
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert {r["sound_id"] for r in rows} == set(planted)
    assert set(rows[0]) == {"sound_id", "name", "quality", "labels_from", "labels", "issues"}
    bad = run_cli("suspects", "--top", "-1", "--db", str(store.path))
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --top must be 0 (all) or more"


def test_scores_from_embeddings_are_the_tagging_scores(tagger):
    results = list(tagger.tag_files([DEMO / n for n in SOURCES], top_k=None))
    full = tagger.scores_from_embeddings(np.stack([r.embedding for r in results]))
    assert full.shape == (len(SOURCES), len(tagger.vocabulary))
    for row, result in zip(full, results, strict=True):
        assert np.allclose(row, result.scores, atol=1e-5)


def test_suspects_score_a_given_tag_outside_the_stored_predictions_from_its_embedding(tmp_path,
                                                                                      tagger):
    """Only each sound's top 2 predictions are stored; every sound is reviewed with one tag the
    model ranks far lower for all of them. Without the model that tag scores 0 everywhere (a
    tie broken by id); with it, each sound gets its own score, and the sound whose tag the model
    doubts most comes first, named with that very score."""
    store = TagStore(tmp_path / "tags.duckdb")
    results = list(tagger.tag_files([DEMO / n for n in SOURCES], top_k=2))
    ids = [store_result(store, r, tagger.model_label) for r in results]
    rank = np.argsort(np.argsort(-np.stack([r.scores for r in results]), axis=1), axis=1)
    tag = tagger.vocabulary[int(np.argmin(np.abs(rank - 40).max(axis=0)))]  # near rank 41 in all
    at = tagger.vocabulary.index(tag)
    given = {sid: float(r.scores[at]) for sid, r in zip(ids, results, strict=True)}
    assert all(rank[:, at] >= 2)  # not stored
    store.label_many([LabelRequest(sid, add=[tag], user="ana") for sid in ids])
    blind = suspects(store, label_pairs=False)
    assert [s.sound_id for s in blind] == sorted(ids)  # all tied at 0
    assert all((tag, "wrong?", 0.0) in s.issues for s in blind)
    ranked = suspects(store, tagger=tagger, label_pairs=False)
    assert ranked[0].sound_id == min(given, key=given.__getitem__)
    named = [(s.sound_id, x) for s in ranked for t, k, x in s.issues if t == tag and k == "wrong?"]
    assert named and all(x == pytest.approx(given[sid], rel=1e-4) for sid, x in named)


def test_similar_eval_plants_errors_several_times_and_reports_each_and_their_mean(tmp_path, tagger):
    from core.similar_eval import evaluate_pool, summary_lines
    from tests.corpus_factory import tiny_corpus

    pool = tiny_corpus(tmp_path / "pool.h5", n=60)
    result = evaluate_pool(TagStore(tmp_path / "pool.duckdb"), tagger, pool, plantings=2)
    assert "mean over 2 plantings (seeds 0-1)" in summary_lines(result)[-1]
    assert result["sounds"] == 60 and result["settings"]["plantings"] == 2
    assert [r["flipped_sounds"] for r in result["planted_runs"]] == [3, 3]  # 5 % of 60 labels
    for key in ("suspects", "without_label_pairs", "model_only", "stored_predictions_only"):
        runs = [r[key]["recall"] for r in result["planted_runs"]]
        assert result["planted_mean"][key]["recall"] == pytest.approx(sum(runs) / 2)
        assert all(r[key]["top"] == 6 for r in result["planted_runs"])
    # bright and dark patches sit apart in the embedding: the neighbours find the flips
    assert result["planted_mean"]["suspects"]["recall"] == 1.0
    bad = run_cli("similar-eval", "--h5", str(pool), "--plantings", "0")
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --plantings must be 1 or more"
    notes = tmp_path / "notes.h5"
    notes.write_text("not an HDF5 file")
    bad = run_cli("similar-eval", "--h5", str(notes))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().startswith(f"error: {notes}: not a readable HDF5 file")
