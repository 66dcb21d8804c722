"""Typed tags become the COALA vocabulary's own spelling; the rest is kept, marked, and helped."""

from __future__ import annotations

import pytest

from core.store.vocabulary import normalize_tag, normalize_tags, suggest
from core.vocabulary import load_vocabulary


@pytest.mark.parametrize("typed, stored", [
    ("bass", "bas"),  # the vocabulary's mangled singular
    ("Bass", "bas"),
    ("basses", "bas"),
    ("glass", "glas"),
    ("brass", "bras"),
    ("synthesis", "synthesi"),
    ("drums", "drum"),
    ("Drums", "drum"),
    ("footsteps", "footstep"),
    ("boxes", "box"),
    ("bodies", "body"),
    ("knives", "knife"),
    ("leaves", "leaf"),
    ("women", "woman"),
    ("data", "datum"),
    ("Hi-Hat", "hihat"),
    ("sci-fi", "scifi"),
    ("lo-fi", "lofi"),
    ("bass drum", "bassdrum"),  # one typed tag: its words are joined
    ("Kick Drums", "kickdrum"),
    ("the piano", "piano"),  # stop-words dropped
    ("  PIANO!!  ", "piano"),
    ("Piäno", "piano"),  # accents folded to ASCII letters
    ("hiss", "his"),  # a vocabulary entry that is also a stop-word stays
    ("his", "his"),
])
def test_typed_tags_map_onto_the_vocabulary_spelling(typed, stored):
    n = normalize_tag(typed)
    assert n.tag == stored
    assert n.in_vocabulary
    assert n.original == typed
    assert stored in load_vocabulary()


@pytest.mark.parametrize("typed, stored", [
    ("808", "808"),
    ("Rock'n'Roll", "rocknroll"),
    ("café", "cafe"),
    ("field recording!", "field-recording"),
    ("<script>alert(1)</script>", "script-alert-1-script"),
    ("--weird---dashes--", "weird-dashes"),
])
def test_tags_outside_the_vocabulary_are_kept_in_freesound_form_and_marked(typed, stored):
    n = normalize_tag(typed)
    assert n.tag == stored
    assert not n.in_vocabulary
    assert n.original == typed


@pytest.mark.parametrize("typed", ["", "   ", "the", "of the", "!!!", "---", "日本語"])
def test_nothing_usable_gives_an_empty_tag(typed):
    n = normalize_tag(typed)
    assert n.empty and n.tag == "" and not n.in_vocabulary


def test_every_vocabulary_tag_normalizes_to_itself():
    for tag in load_vocabulary():
        n = normalize_tag(tag)
        assert (n.tag, n.in_vocabulary) == (tag, True), tag


def test_normalize_tags_drops_duplicates_after_normalization():
    tags = normalize_tags(["Drums", "drum", "DRUMS", "bass", "808", "808"])
    assert [t.tag for t in tags] == ["drum", "bas", "808"]


def test_suggestions_for_autocomplete_start_with_prefix_matches():
    assert suggest("pian")[0] == "piano"
    out = suggest("bas")
    assert out[0] == "bas"
    assert {"bassdrum", "bassline", "bassoon"} <= set(out)


def test_suggestions_catch_misspellings_by_edit_distance():
    assert "guitar" in suggest("guitr")
    assert "xylophone" in suggest("xylofone")
    assert suggest("bass", limit=1) == ["bas"]


def test_suggestions_are_vocabulary_tags_and_respect_the_limit():
    vocab = set(load_vocabulary())
    for text in ["d", "dr", "synth", "wter", "b"]:
        out = suggest(text, limit=5)
        assert len(out) <= 5 and set(out) <= vocab
        assert len(out) == len(set(out))
    assert suggest("") == [] and suggest("   ") == []
    assert suggest("qqqqqqqqqq") == []


def test_autocomplete_offers_the_real_words_behind_mangled_tags():
    from app.tag_editor import vocabulary_options
    from core.store.vocabulary import normalize_tag, spelled_aliases

    aliases = spelled_aliases()
    assert {"bass", "brass", "glass", "hiss", "synthesis"} <= aliases
    assert not aliases & {"drums", "midis", "scifis", "uis"}  # no plain or made-up plurals
    assert all(normalize_tag(a).in_vocabulary and normalize_tag(a).tag + "s" == a for a in aliases)
    options = vocabulary_options()
    assert len(options) == 1000 + len(aliases)
    typed = [o for o in options if "bass" in o]
    assert typed[0] == "bass"  # what Enter picks after typing "bass" (the list is filtered in order)
