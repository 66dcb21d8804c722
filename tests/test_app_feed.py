"""The feed page (AppTest): cards from the store, corrections that land in DuckDB, filters."""

from __future__ import annotations

import json

import pytest

from app.feed_panel import FETCH_PANEL
from app.tag_editor import add_box_key
from core.store import SoundQuery, TagStore
from tests.app_fixtures import (
    HOSTILE,
    add_real_sounds,
    card_parts,
    click_row,
    open_page,
    plain,
    point_app_at,
    row_buttons,
    row_event,
    tag_rows,
    texts,
)


@pytest.fixture
def app_env(monkeypatch, tmp_path, tiny_model_dir):
    db = point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    return db, tmp_path / "audio"


def test_empty_store_says_so_and_how_to_set_a_key(app_env):
    at = open_page("feed")
    assert not at.exception
    page = plain(at)
    assert "The store is empty" in page
    assert "FREESOUND_API_KEY" in page


def test_cards_show_sounds_newest_first_with_player_and_tags(app_env):
    db, audio = app_env
    ids = add_real_sounds(db, audio, 3)
    at = open_page("feed")
    assert not at.exception
    page = plain(at)
    assert page.index("tone number 2") < page.index("tone number 1") < page.index("tone number 0")
    assert "3 sounds" in page
    assert len(at.get("audio")) == 3
    assert len(at.image) == 0  # spectrograms wait, closed, until asked for
    assert [e.label for e in at.expander].count("Spectrogram") == 3
    at.session_state[f"feed_{ids[2]}_spectrogram"] = True  # a person opens the first card's
    at.run()
    assert len(at.image) == 1
    rows = tag_rows(at, "feed", ids[2])  # the first card: the tags that count, with score bars
    assert [(r["shown"], r["score"], r["look"]) for r in rows] == [("piano", 0.7, ""),
                                                                   ("note", 0.7, "")]
    parts = card_parts(at, "feed", ids[0])
    assert [(c["tag"], c["score"]) for c in parts["chips"]][:2] == [("bell", 0.45), ("drum", 0.1)]
    assert {"piano_confirm", "piano_remove"} <= set(row_buttons(at, "feed", ids[0]))
    assert row_buttons(at, "feed", ids[0])["piano_remove"]["label"] == "Remove piano"  # named
    assert [(b["label"], b["disabled"]) for b in parts["card"].values()] == [
        ("Confirm all", False), ("Undo", False)]


def test_a_removal_lands_in_duckdb_and_survives_a_reload(app_env):
    db, audio = app_env
    (sid,) = add_real_sounds(db, audio, 1)
    at = open_page("feed")
    click_row(at, "feed", sid, "piano_remove")
    assert not at.exception
    labels = TagStore(db).labels(sid)  # a fresh store object reads the file again
    assert labels.removed == ["piano"] and "piano" not in labels.final
    assert [c.user for c in TagStore(db).history(sid)] == ["tester"]
    reloaded = open_page("feed")
    assert tag_rows(reloaded, "feed", sid)[0]["look"] == "struck"  # drawn struck through
    assert "piano_restore" in row_buttons(reloaded, "feed", sid)
    assert "1 sound · showing 1–1" in plain(reloaded)
    assert "Reviewed" in texts(reloaded)


def test_confirm_add_and_undo(app_env):
    db, audio = app_env
    (sid,) = add_real_sounds(db, audio, 1)
    at = open_page("feed")
    row_event(at, "feed", sid, "bell", "suggest")  # a chip: below the threshold
    assert "bell" in TagStore(db).labels(sid).final
    assert "bell" in TagStore(db).labels(sid).confirmed
    assert "bell" not in {c["tag"] for c in card_parts(at, "feed", sid)["chips"]}  # a row now
    assert ("bell", "strong", "confirmed") in {(r["tag"], r["look"], r["note"])  # a row of its own
                                               for r in tag_rows(at, "feed", sid)}
    at.multiselect(key=add_box_key("feed", 0)).set_value(["Basses"]).run()
    labels = TagStore(db).labels(sid)
    assert "bas" in labels.added  # normalized onto the vocabulary's own spelling
    assert at.multiselect(key=add_box_key("feed", 0, 1)).value == []  # a new, empty box
    row_event(at, "feed", sid, "", "undo")
    assert "bas" not in TagStore(db).labels(sid).added
    assert "bell" in TagStore(db).labels(sid).final  # only the last change was taken back


def test_out_of_vocabulary_tag_is_kept_marked_with_suggestions(app_env):
    db, audio = app_env
    (sid,) = add_real_sounds(db, audio, 1)
    at = open_page("feed")
    at.multiselect(key=add_box_key("feed", 0)).set_value(["pianoo"]).run()
    assert not at.exception
    assert "pianoo" in TagStore(db).labels(sid).out_of_vocabulary
    warning = "\n".join(w.value for w in at.warning)
    assert "not one of the model" in warning and "piano" in warning
    assert "pianoo ∉" in {r["shown"] for r in tag_rows(at, "feed", sid)}


def test_hostile_remote_text_is_shown_literally(app_env):
    db, audio = app_env
    add_real_sounds(db, audio, 1, names=[HOSTILE])
    at = open_page("feed")
    assert not at.exception
    from app.text import escape_markdown

    markdown = [m.value for m in at.markdown]
    assert f"**{escape_markdown(HOSTILE)}**" in markdown
    everything = texts(at)
    for raw in ("**bold**", "<script>", "[x](http://evil)", "$x^2$", ":red[red]"):
        assert raw not in everything


def test_filters_reviewed_tag_and_source(app_env):
    db, audio = app_env
    ids = add_real_sounds(db, audio, 3)
    add_real_sounds(db, audio / "up", 1, source="upload", names=["my upload"], seed=1)
    TagStore(db).label(ids[1], add=["dog"], user="someone")
    at = open_page("feed")
    at.segmented_control(key="feed_show").set_value("Reviewed").run()
    assert "tone number 1" in plain(at) and "tone number 0" not in plain(at)
    at.segmented_control(key="feed_show").set_value("To review").run()
    assert "tone number 1" not in plain(at) and "tone number 0" in plain(at)
    at.segmented_control(key="feed_show").set_value("All").run()
    at.selectbox(key="feed_source").set_value("Uploads").run()
    assert "my upload" in plain(at) and "tone number 0" not in plain(at)
    at.selectbox(key="feed_source").set_value("All sources").run()
    at.selectbox(key="feed_tag").set_value("dog").run()
    assert "tone number 1" in plain(at) and "tone number 2" not in plain(at)
    assert not at.exception


def test_ten_thousand_sounds_page_in_sql(app_env):
    db, audio = app_env
    add_real_sounds(db, audio, 1)
    store = TagStore(db)
    path = str(next(audio.glob("*.wav")))
    from core.store import SoundInfo

    items = [(SoundInfo(source="freesound", name=f"bulk {i}", audio_path=path,
                        content_hash=f"bulk-{i:05d}", duration_s=1.0, freesound_id=50_000 + i),
              [("piano", (i % 100) / 100), ("note", 0.2)], "tiny-test@0") for i in range(9_999)]
    store.add_sounds(items)
    assert store.count_sounds(SoundQuery()) == 10_000
    at = open_page("feed")
    assert not at.exception
    assert "10,000 sounds · showing 1–6" in plain(at)  # six cards a page by default
    assert len(at.get("audio")) == 6
    assert at.pagination(key="feed_page").num_pages == 1_667
    at.pagination(key="feed_page").set_value(1_667).run()
    assert "showing 9,997–10,000" in plain(at)
    at.pagination(key="feed_page").set_value(5).run()  # cards 25-30
    at.selectbox(key="feed_page_size").set_value(20).run()  # the page that holds card 25
    assert "showing 21–40" in plain(at) and len(at.get("audio")) == 20
    assert at.pagination(key="feed_page").num_pages == 500
    at.selectbox(key="feed_page_size").set_value(10).run()
    assert "showing 21–30" in plain(at)
    at.selectbox(key="feed_sort").set_value("Least certain first").run()
    assert not at.exception
    assert "showing 1–10" in plain(at)  # a new sort starts again at the first page
    scores = [row["score"] for element in at.get("bidi_component")
              if (element.key or "").endswith("_tagrows")
              for row in json.loads(element.proto.json)["rows"]]
    assert scores.count(0.5) == 10  # every card's piano score sits right on the threshold


def test_fetch_now_runs_the_feed_job_against_a_local_api(app_env, monkeypatch):
    from tests.freesound_server import API_KEY, FakeFreesound

    db, _ = app_env
    with FakeFreesound(n_sounds=3) as fs:
        monkeypatch.setenv("FREESOUND_API_URL", fs.api_url)
        at = open_page("feed", secrets={"FREESOUND_API_KEY": API_KEY})
        assert not at.button(key="feed_fetch").disabled
        at.number_input(key="feed_fetch_limit").set_value(3)
        at.button(key="feed_fetch").click()
        at.run()
    assert not at.exception
    assert "fetched 3, new 3, skipped 0, failed 0" in plain(at, ("success",))
    assert TagStore(db).count_sounds() == 3
    assert "Test sound 0 \\<b\\>" in texts(at)  # remote names stay text
    page = plain(at)
    assert "3 sounds" in page and "Test sound 0 <b>'quoted'</b>.wav" in page
    assert API_KEY not in page and API_KEY not in str(dict(at.session_state.items()))
    assert "[open on Freesound](https://freesound.org/s/" in texts(at, ("caption",))


def test_without_a_key_fetch_is_off_but_a_folder_still_loads(app_env, tmp_path):
    from tests.audio_factory import make_tone_file

    db, _ = app_env
    folder = tmp_path / "sounds" / "mine"
    for i in range(2):
        make_tone_file(folder / f"demo{i}.flac", seconds=1.0, freq=300.0 + 200 * i, seed=i)
    at = open_page("feed")
    assert at.button(key="feed_fetch").disabled
    assert "No API key set" in plain(at, ("info",))
    at.selectbox(key="feed_folder").set_value(folder)
    at.button(key="feed_load_folder").click()
    at.run()
    assert not at.exception
    assert "new 2" in plain(at, ("success",))
    assert TagStore(db).count_sounds() == 2
    assert "**demo0**" in plain(at) and "**demo1**" in plain(at)


def test_the_folder_picker_offers_only_folders_of_sounds_it_may_read(app_env, tmp_path):
    from app.places import audio_folders
    from app.settings import DEMO_DIR
    from tests.app_fixtures import ROOT
    from tests.audio_factory import make_tone_file

    sounds = tmp_path / "sounds"
    make_tone_file(sounds / "kit" / "snare.wav", seconds=0.5)
    make_tone_file(sounds / "packs" / "one" / "hat.ogg", seconds=0.5)
    (sounds / "notes").mkdir()
    (sounds / "notes" / "readme.txt").write_text("no audio here")
    make_tone_file(tmp_path / "audio" / "preview.ogg", seconds=0.5)  # the store's own audio
    at = open_page("feed")
    assert not at.get("text_input") or "feed_folder" not in [t.key for t in at.text_input]
    offered = at.selectbox(key="feed_folder").options  # as shown: project folders relative
    assert offered == [str(DEMO_DIR.relative_to(ROOT)), str(sounds / "kit"),
                       str(sounds / "packs" / "one")]
    # with the default settings the store's audio (previews, uploads) sits in data/: left out
    make_tone_file(sounds / "audio" / "uploads" / "kept.wav", seconds=0.5)
    assert audio_folders(sounds, skip=[sounds / "audio"]) == [sounds / "kit", sounds / "packs" / "one"]


def test_missing_model_says_so_and_the_cards_still_show(monkeypatch, tmp_path):
    db = point_app_at(monkeypatch, tmp_path, model_dir=None)
    add_real_sounds(db, tmp_path / "audio", 1)
    at = open_page("feed")
    assert not at.exception and "tone number 0" in plain(at)
    assert "No trained model" not in plain(at, ("warning",))  # the fetch panel is closed
    at.session_state[FETCH_PANEL] = True  # what a click on "Fetch new sounds" does
    at.run()
    assert "No trained model" in plain(at, ("warning",))
    assert "tone number 0" in plain(at)


def test_a_closed_fetch_panel_runs_none_of_its_forms(app_env):
    db, audio = app_env
    add_real_sounds(db, audio, 1)
    at = open_page("feed")
    assert not at.exception
    keys = {getattr(w, "key", None) for w in (*at.button, *at.selectbox, *at.number_input)}
    assert not keys & {"feed_fetch", "feed_folder", "feed_fetch_limit", "feed_load_folder"}
    at.session_state[FETCH_PANEL] = True
    at.run()
    assert at.button(key="feed_fetch").disabled  # drawn now; off without an API key
    assert at.selectbox(key="feed_folder").options  # the demo folder at least


def test_a_missing_or_broken_audio_file_is_said_not_raised(app_env):
    db, audio = app_env
    add_real_sounds(db, audio, 2)
    (audio / "tone0.wav").unlink()
    (audio / "tone1.wav").write_bytes(b"RIFF but nothing else")
    at = open_page("feed")
    assert not at.exception
    page = plain(at)
    assert "The audio file is not in the library" in page
    ids = TagStore(db).list_ids()
    for sid in ids:  # open both cards' spectrograms (only tone1's has a file to open)
        at.session_state[f"feed_{sid}_spectrogram"] = True
    at.run()
    assert not at.exception
    assert "No spectrogram: Failed to decode tone1.wav" in plain(at)
    assert len(at.multiselect) == 2  # both cards can still be corrected
