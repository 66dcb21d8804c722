"""Helpers for the AppTest suites: an app pointed at temp folders, and a store with real sounds."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.store import SoundInfo, TagStore
from tests.audio_factory import make_tone_file

ROOT = Path(__file__).resolve().parent.parent
MAIN = str(ROOT / "app" / "main.py")
TIMEOUT_S = 60  # generous: the test machine is shared and busy
TEXT_KINDS = ("markdown", "caption", "text", "info", "warning", "error", "success", "title",
              "subheader")
HOSTILE = "**bold** <script>alert(1)</script> [x](http://evil) $x^2$ :red[red] # head"


def streamlit_config() -> dict:
    """The committed .streamlit/config.toml, the settings every `streamlit run` of the app reads."""
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def point_app_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_dir: Path | None) -> Path:
    """Environment for the app: a temp db, a model (or a missing one), no API key."""
    db = tmp_path / "tags.duckdb"
    monkeypatch.setenv("TAGGER_DB", str(db))
    monkeypatch.setenv("TAGGER_AUDIO", str(tmp_path / "audio"))
    monkeypatch.setenv("TAGGER_SOUNDS", str(tmp_path / "sounds"))  # folders the feed page offers
    monkeypatch.setenv("TAGGER_MODEL", str(model_dir or tmp_path / "no-model-here"))
    monkeypatch.delenv("FREESOUND_API_KEY", raising=False)
    monkeypatch.setenv("TAGGER_USER", "tester")
    return db


def open_page(page: str | None = None, secrets: dict | None = None) -> AppTest:
    """Run the router, then the page (pages/<page>.py) when one is named."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT_S)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    at.run()
    if page:
        at.switch_page(f"../pages/{page}.py").run()
    return at


def add_real_sounds(db: Path, audio_dir: Path, n: int, *, source: str = "freesound",
                    names: list[str] | None = None, seed: int = 0) -> list[int]:
    """n generated tone files stored with predictions; returns their store ids, oldest first.

    Calls that should add new sounds to the same store need another `seed` (same seed, same audio).
    """
    store = TagStore(db)
    ids = []
    for i in range(n):
        path = make_tone_file(audio_dir / f"tone{i}.wav", seconds=1.0 + 0.5 * i,
                              freq=220.0 * (i + 1), seed=seed * 1000 + i)
        info = SoundInfo(
            source=source, name=(names[i] if names else f"tone number {i}"),
            audio_path=str(path), content_hash=hashlib.sha256(path.read_bytes()).hexdigest(),
            duration_s=1.0 + 0.5 * i, freesound_id=1000 + i if source == "freesound" else None,
            username=f"user{i}" if source == "freesound" else None,
            license="http://creativecommons.org/publicdomain/zero/1.0/",
            description=f"a test tone {i}")
        predictions = [("piano", 0.9 - 0.1 * i), ("note", 0.7), ("bell", 0.45), ("drum", 0.1)]
        ids.append(store.add_sound(info, predictions=predictions, model="tiny-test@0")[0])
    return ids


def texts(at: AppTest, kinds: tuple[str, ...] = TEXT_KINDS) -> str:
    """Every markdown, caption, text and alert on the page, one per line, as sent (escaped)."""
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def plain(at: AppTest, kinds: tuple[str, ...] = TEXT_KINDS) -> str:
    """texts() with markdown backslash escapes taken out: what a reader sees."""
    return re.sub(r"\\(.)", r"\1", texts(at, kinds))


def tag_rows(at: AppTest, prefix: str, sound_id: int) -> list[dict]:
    """The tag rows a card draws (app/tag_rows.py: one component per card, so AppTest sees no
    buttons in them): each row's tag, shown text, look, score, note and buttons."""
    rows = []
    for element in at.get("bidi_component"):
        if (element.key or "").startswith(f"{prefix}_{sound_id}_tagrows"):
            rows += json.loads(element.proto.json)["rows"]
    return rows


def card_parts(at: AppTest, prefix: str, sound_id: int) -> dict:
    """What the card's tag rows element draws below its rows: `chips` (the model's guesses under
    the threshold: tag and score) and `card` (Confirm all and Undo: do, label, disabled)."""
    (element, *_) = [e for e in at.get("bidi_component")
                     if (e.key or "") == f"{prefix}_{sound_id}_tagrows"]
    data = json.loads(element.proto.json)
    return {"chips": data["chips"], "card": {b["do"]: b for b in data["card"]}}


def carded_ids(at: AppTest, prefix: str) -> list[int]:
    """The ids of the sounds whose cards are drawn, in page order."""
    pattern = re.compile(rf"^{prefix}_(\d+)_tagrows$")
    return [int(m.group(1)) for e in at.get("bidi_component")
            if (m := pattern.match(e.key or ""))]


def row_buttons(at: AppTest, prefix: str, sound_id: int) -> dict[str, dict]:
    """'<tag>_<confirm|remove|restore>' -> that button of the card's tag rows (as the class names
    the keyboard shortcuts use)."""
    return {f"{row['tag']}_{b['cls']}": b for row in tag_rows(at, prefix, sound_id)
            for b in row["buttons"]}


def click_row(at: AppTest, prefix: str, sound_id: int, name: str) -> AppTest:
    """Click a tag row's button ('piano_remove'), sending what the browser's click sends."""
    button = row_buttons(at, prefix, sound_id)[name]
    assert not button["disabled"], f"{name} is greyed out"
    return row_event(at, prefix, sound_id, name[: -len(button["cls"]) - 1], button["do"])


def row_event(at: AppTest, prefix: str, sound_id: int, tag: str, do: str) -> AppTest:
    """Send the card's tag rows the "action" trigger event {tag, do} (what a click in the
    browser sends, or a forged one) and run; the run's callback decides what it does."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    (element, *_) = [e for e in at.get("bidi_component")
                     if (e.key or "").startswith(f"{prefix}_{sound_id}_tagrows")]
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(
        id=_make_trigger_id(element.proto.id, "events"),
        json_trigger_value=json.dumps([{"event": "action", "value": {"tag": tag, "do": do}}])))
    return at._run(states, timeout=TIMEOUT_S)
