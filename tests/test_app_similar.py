"""The Similar sounds panel (feed cards and uploads), the neighbour chips, the "Likely mislabeled
first" sort and the training page's neighbour figure (AppTest, a real DuckDB file, the demo
sounds tagged by the bundled model)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.commands.tag import store_result
from core.modeldir import DEFAULT_MODEL_DIR
from core.store import LabelRequest, TagStore
from core.tagger import Tagger
from tests.app_fixtures import ROOT, open_page, plain, point_app_at

DEMO = sorted((ROOT / "data" / "demo").glob("*.ogg"))


@pytest.fixture(scope="module")
def tagged():
    tagger = Tagger(DEFAULT_MODEL_DIR, "cpu")
    return tagger.model_label, list(tagger.tag_files(DEMO[:12], top_k=20))


@pytest.fixture
def demo_store(monkeypatch, tmp_path, tagged) -> tuple[TagStore, list[int]]:
    db = point_app_at(monkeypatch, tmp_path, DEFAULT_MODEL_DIR)
    store = TagStore(db)
    model, results = tagged
    return store, [store_result(store, r, model) for r in results]


def open_panel(at, key: str):
    at.session_state[f"{key}_similar"] = True  # what a click on the expander does
    at.run()
    assert not at.exception
    return at


def test_a_closed_panel_searches_nothing_and_an_open_one_lists_neighbours(demo_store):
    store, ids = demo_store
    at = open_page("feed")
    assert not at.exception
    assert sum(e.label == "Similar sounds" for e in at.expander) == 6  # one per card on the page
    assert "similarity" not in plain(at)
    players = len(at.get("audio"))
    shown = ids[-1]  # newest first: the first card
    open_panel(at, f"feed_{shown}")
    page = plain(at)
    assert page.count("· similarity ") == 5
    names = {store.get_sound(i).name for i in ids if i != shown}
    listed = [line for line in plain(at, ("markdown",)).splitlines() if "· similarity" in line]
    assert len(listed) == 5 and all(line.split("**")[1] in names for line in listed)
    assert len(at.get("audio")) == players + 5  # a player per neighbour
    assert "final tags: " in page


def test_neighbour_chips_offer_reviewed_tags_and_add_one_only_on_a_click(demo_store):
    store, ids = demo_store
    for sid in ids[:6]:
        store.label(sid, add=["crow"], user="ana")
    query = ids[-1]
    before = store.stats()["corrections"]
    at = open_panel(open_page("feed"), f"feed_{query}")
    chips = at.button_group(key=f"feed_{query}_neighbour_tags")
    assert "From 5 similar sounds you reviewed" in chips.label
    options = [o.content for o in chips.proto.options]
    assert options[0] == "crow 100%"
    assert store.stats()["corrections"] == before and "crow" not in store.labels(query).final
    chips.set_value("crow").run()
    assert not at.exception
    labels = TagStore(store.path).labels(query)
    assert "crow" in labels.added and labels.reviewed
    assert [c.user for c in store.history(query)] == ["tester"]


def test_likely_mislabeled_first_puts_the_planted_error_first(demo_store):
    store, ids = demo_store
    rows = store.rows_for(ids)
    store.label_many([LabelRequest(r.id, confirm=r.final, user="ana") for r in rows if r.final])
    wrong = ids[3]
    final = store.labels(wrong).final
    planted = [t for t in ("rain", "thunder", "piano", "choir") if t not in final][:2]  # not heard
    store.label(wrong, add=planted, remove=final, user="ana")
    at = open_page("feed")
    at.selectbox(key="feed_sort").set_value("Likely mislabeled first").run()
    assert not at.exception
    names = [line for line in plain(at, ("markdown",)).splitlines() if line.endswith(".ogg**")]
    assert names and names[0] == f"**{store.get_sound(wrong).name}**"
    doubts = [c.value for c in at.caption if "Likely mislabeled:" in c.value]
    assert doubts and any(f"{tag} wrong?" in doubts[0] for tag in planted)  # the first card's
    at.selectbox(key="feed_sort").set_value("Newest first").run()
    assert not [c for c in at.caption if "Likely mislabeled:" in c.value]  # that sort only


def test_an_upload_shows_similar_sounds_before_it_is_kept(demo_store):
    store, _ = demo_store
    data = (ROOT / "data" / "demo" / "vinyl_hiss.ogg").read_bytes()  # not in the store
    sha = hashlib.sha256(data).hexdigest()
    at = open_page("upload")
    at.file_uploader(key="upload_files").set_value([("new.ogg", data, "audio/ogg")]).run()
    assert not at.exception
    assert "similarity" not in plain(at)
    open_panel(at, f"upload_{sha[:16]}")
    assert plain(at).count("· similarity ") == 5
    assert store.find_sound(sha) is None  # looking stored nothing
    at.button(key=f"upload_{sha[:16]}_keep").click()
    at.run()
    kept = store.find_sound(sha)
    assert kept is not None and store.embedding(kept.id, store.labels(kept.id).model) is not None


def test_the_training_page_shows_the_neighbour_figure(demo_store):
    store, ids = demo_store
    rows = store.rows_for(ids)
    # a person confirms each sound's top suggestion: every sound reviewed, whatever the model's
    # thresholds make final on its own
    store.label_many([LabelRequest(r.id, confirm=(r.predicted[0][0],), user="ana") for r in rows])
    at = open_page("training")
    assert not at.exception
    assert "Tags from similar reviewed sounds" in [s.value for s in at.subheader]
    labels = {m.label for m in at.metric}
    assert {"Model top-5 hit rate", "Neighbours' tags alone", "Model + neighbours"} <= labels
    assert "held-out reviewed sounds" in plain(at)


def test_the_training_page_asks_for_reviews_first(demo_store):
    at = open_page("training")
    assert not at.exception
    assert "Review at least 10 sounds" in plain(at)


def test_no_embeddings_yet_says_how_to_add_them(monkeypatch, tmp_path):
    from tests.app_fixtures import add_real_sounds

    db = point_app_at(monkeypatch, tmp_path, DEFAULT_MODEL_DIR)
    (sid,) = add_real_sounds(Path(db), tmp_path / "audio", 1)
    at = open_panel(open_page("feed"), f"feed_{sid}")
    assert "python -m core embed" in plain(at)


def test_a_sound_stored_without_an_embedding_gets_one_when_its_panel_opens(demo_store, tagged):
    store, ids = demo_store
    model, results = tagged
    old = results[0]
    from core.store import SoundInfo, file_hash

    other = DEMO[12]  # stored as before embeddings were kept: predictions only
    sid, _ = store.add_sound(SoundInfo("folder", other.name, str(other), file_hash(other), 1.0),
                             old.tags, model)
    assert store.embedding(sid, model) is None
    at = open_panel(open_page("feed"), f"feed_{sid}")
    assert plain(at).count("· similarity ") == 5
    assert store.embedding(sid, model) is not None
