"""The tag-correction widget on a sound card: confirm, remove, restore, add, confirm all, undo.

It is a fragment: a click re-runs this card only, and each change is written to the store at
once (in the widget's callback, before the fragment redraws), so it survives a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import streamlit as st

from app.settings import session_threshold, session_user
from app.tag_rows import CSS as ROWS_CSS
from app.tag_rows import SUGGEST, Row, tag_rows
from app.text import escape_markdown
from core.store import SoundLabels, StoreError, TagStore
from core.store.vocabulary import spelled_aliases, vocabulary_set

SHOWN_PREDICTIONS = 8  # predictions listed per card (those at or above the threshold always)
SHOWN_LINES = 10  # tag rows shown open; further rows wait in an expander
CAPTION_TAGS = 12  # final tags named in the card's summary line


@dataclass(frozen=True)
class TagLine:
    tag: str  # normalized tag
    score: float | None  # the model's score, None for a tag only a person gave
    state: str  # "confirmed", "added", "removed", "predicted" (counts) or "suggested" (below)
    in_vocabulary: bool  # one of the model's 1000 tags


STATE_NOTE = {"confirmed": "confirmed", "added": "added by hand", "removed": "removed",
              "predicted": "", "suggested": "below threshold"}


def tag_lines(labels: SoundLabels) -> list[TagLine]:
    """What the card lists: tags a person gave (not predicted) first, so they stay in sight, then
    the predictions by score (the top ones, and every one that counts or was touched)."""
    vocab, removed, confirmed = vocabulary_set(), set(labels.removed), set(labels.confirmed)
    final = set(labels.final)
    lines, seen = [], {t for t, _ in labels.predicted}
    for tag in [*labels.confirmed, *labels.added, *labels.removed]:
        if tag not in seen:
            state = ("removed" if tag in removed else "confirmed" if tag in confirmed else "added")
            lines.append(TagLine(tag, None, state, tag in vocab))
            seen.add(tag)
    for i, (tag, score) in enumerate(labels.predicted):
        counted = tag in final or tag in removed or tag in confirmed
        if i >= SHOWN_PREDICTIONS and not counted:
            continue
        state = ("removed" if tag in removed else "confirmed" if tag in confirmed
                 else "predicted" if tag in final else "suggested")
        lines.append(TagLine(tag, score, state, tag in vocab))
    return lines


@lru_cache(maxsize=1)
def vocabulary_options() -> tuple[str, ...]:
    """The 1000 tags, plus the real spellings of the mangled ones ("bass" is stored as `bas`)."""
    return tuple(sorted(vocabulary_set() | spelled_aliases()))


def _label(store: TagStore, sound_id: int, msg_key: str, **changes) -> None:
    """Write one change; remember what to tell the person (out-of-vocabulary, suggestions)."""
    try:
        result = store.label(sound_id, user=session_user(),
                             threshold=session_threshold(), **changes)
    except (StoreError, ValueError) as e:
        st.session_state[msg_key] = ("error", f"Not saved: {e}")
        return
    _redraw_with(msg_key, result.labels)
    notes = []
    for tag in result.out_of_vocabulary:
        close = ", ".join(result.suggestions.get(tag, [])) or "none"
        notes.append(f"'{tag}' is not one of the model's 1000 tags (kept, marked ∉); "
                     f"close vocabulary tags: {close}.")
    if result.ignored:
        notes.append("Ignored (nothing left after normalization): " + ", ".join(result.ignored))
    st.session_state[msg_key] = ("warning", " ".join(notes)) if notes else None


def _take_back(store: TagStore, sound_id: int, tag: str, msg_key: str, fallback: str) -> None:
    """Put back a removed tag, or take back your own addition: the tag returns to the state it
    had before (TagStore.take_back). Another person's addition is removed as usual."""
    user = session_user()
    try:
        done = store.take_back(sound_id, tag, user=user, mine_only=fallback == "remove",
                               threshold=session_threshold())
    except (StoreError, ValueError) as e:
        st.session_state[msg_key] = ("error", f"Not saved: {e}")
        return
    if done is None and fallback == "remove":
        _label(store, sound_id, msg_key, remove=[tag])
    else:
        st.session_state[msg_key] = None
        _redraw_with(msg_key, done.labels if done else None)


def _redraw_with(msg_key: str, labels: SoundLabels | None) -> None:
    """Hand the card's redraw the labels its write read back in the same transaction, so an edit
    opens the store once, not twice. Not its reviewed mark: a change of it still runs the page."""
    if labels is not None:
        st.session_state[msg_key.removesuffix("_message") + "_seed"] = labels


def _on_add(store: TagStore, sound_id: int, key: str, counter: str, msg_key: str) -> None:
    typed = list(st.session_state.get(key) or [])
    st.session_state[key] = []
    st.session_state[counter] = st.session_state.get(counter, 0) + 1  # a new box: see below
    if typed:
        _label(store, sound_id, msg_key, add=typed)


def _add_counter(base: str) -> str:
    return f"{base}_count"


def _on_undo(store: TagStore, sound_id: int, msg_key: str) -> None:
    done = store.undo(sound_id, user=session_user())
    st.session_state[msg_key] = None if done else ("info", "Nothing of yours to undo here.")


def _row(line: TagLine, number: int) -> Row:
    """What a tag row draws and which buttons it has (app/tag_rows.py draws them)."""
    mark = "" if line.in_vocabulary else " ∉"
    look = ("struck" if line.state == "removed" else
            "strong" if line.state in ("confirmed", "added") else "")
    actions = (("restore",) if line.state == "removed" else
               ("confirm", "take_back") if line.state == "added" else ("confirm", "remove"))
    return Row(number, line.tag, line.tag + mark, look, line.score, STATE_NOTE[line.state],
               actions, disabled=("confirm",) if line.state == "confirmed" else ())


def _on_row(store: TagStore, sound_id: int, msg_key: str, tag: str, do: str,
            final: tuple[str, ...] = ()) -> None:
    """A button of the tag rows: a row's confirm, remove, take back your own addition or put
    back; a chip's confirm; the card's Confirm all (the `final` tags it was drawn with) or Undo."""
    if do == "confirm_all":
        _label(store, sound_id, msg_key, confirm=list(final))
    elif do == "undo":
        _on_undo(store, sound_id, msg_key)
    elif do in ("confirm", SUGGEST):
        _label(store, sound_id, msg_key, confirm=[tag])
    elif do == "remove":
        _label(store, sound_id, msg_key, remove=[tag])
    elif do == "take_back":  # your own addition is taken back, not kept as a removal
        _take_back(store, sound_id, tag, msg_key, "remove")
    elif do == "restore":
        _take_back(store, sound_id, tag, msg_key, "none")


def _rows(store: TagStore, sound_id: int, lines: list[TagLine], prefix: str, msg_key: str,
          first: int, part: str, suggested: list[TagLine] = (),
          labels: SoundLabels | None = None) -> None:
    """Tag rows `first`, `first + 1`, ... of a card, drawn as one element (app/tag_rows.py);
    with `labels`, the `suggested` chips and the card's Confirm all and Undo below them."""
    final = tuple(labels.final) if labels else ()
    tag_rows(f"{prefix}_{sound_id}_tagrows{part}", f"{prefix}_{sound_id}_",
             [_row(line, number) for number, line in enumerate(lines, first)],
             lambda tag, do: _on_row(store, sound_id, msg_key, tag, do, final),
             chips=[(line.tag, line.score) for line in suggested],
             card={"confirm_all": bool(final), "undo": True} if labels else None)


# The tag rows' look, and the card the keyboard shortcuts act on (app/review_keys.py) outlined.
ROW_CSS = f"""<style>{ROWS_CSS}
.tagkeys-current {{ outline: 2px solid var(--st-primary-color, #00bcd4); outline-offset: 2px; }}
</style>"""


def row_styles() -> None:
    """Once per page that shows tag rows."""
    st.html(ROW_CSS)


def seed_labels(prefix: str, labels: SoundLabels) -> None:
    """Hand a card's next draw the labels its page has just read, so a page of cards costs one
    query rather than one per card. Used once: the fragment's own reruns read the store."""
    st.session_state[_seed_key(prefix, labels.sound_id)] = labels
    st.session_state[_reviewed_key(prefix, labels.sound_id)] = labels.reviewed


def _reviewed_key(prefix: str, sound_id: int) -> str:
    return f"{prefix}_{sound_id}_was_reviewed"


def _seed_key(prefix: str, sound_id: int) -> str:
    return f"{prefix}_{sound_id}_seed"


@st.fragment
def tag_editor(store: TagStore, sound_id: int, prefix: str, slot: int) -> None:
    """The tags of one stored sound, editable; `prefix` is the page name (for widget keys),
    `slot` a number no other card on the page has (the feed: the card's place on the page),
    which names its Add tags box."""
    msg_key = f"{prefix}_{sound_id}_message"
    threshold = session_threshold()
    labels = st.session_state.pop(_seed_key(prefix, sound_id), None)
    if labels is None or labels.threshold != threshold:
        try:
            labels = store.labels(sound_id, threshold=threshold)
        except StoreError as e:
            st.error(f"The tag store is unavailable: {e}")
            return
    was = _reviewed_key(prefix, sound_id)
    if st.session_state.get(was, labels.reviewed) != labels.reviewed:
        # The first change to a card (or an undo of its last) moves the page's "12 of 30
        # reviewed": the whole page runs again, once; other edits re-run this card only.
        st.session_state[was] = labels.reviewed
        st.rerun(scope="app")
    st.caption(("Reviewed · " if labels.reviewed else "Not reviewed yet · ")
               + f"final tags: {escape_markdown(summary(people_first(labels)))}")
    lines = tag_lines(labels)
    rows = [line for line in lines if line.state != "suggested"]
    # the model's next guesses (chips: a click adds one), Confirm all and Undo draw with the
    # rows, in the same element (app/tag_rows.py)
    _rows(store, sound_id, rows[:SHOWN_LINES], prefix, msg_key, 1, "",
          [line for line in lines if line.state == "suggested"], labels)
    if len(rows) > SHOWN_LINES:
        with st.expander(f"{len(rows) - SHOWN_LINES} more tags"):
            _rows(store, sound_id, rows[SHOWN_LINES:], prefix, msg_key, SHOWN_LINES + 1, "_more")
    _add_box(store, sound_id, prefix, msg_key, slot)
    message = st.session_state.get(msg_key)
    if message:
        getattr(st, message[0])(escape_markdown(message[1]))


def people_first(labels: SoundLabels) -> list[str]:
    """The final tags, those a person added or confirmed first (so a short summary names them)."""
    mine = [t for t in [*labels.added, *labels.confirmed] if t in labels.final]
    return list(dict.fromkeys(mine + labels.final))


def summary(tags: list[str]) -> str:
    if not tags:
        return "none"
    more = len(tags) - CAPTION_TAGS
    return ", ".join(tags[:CAPTION_TAGS]) + (f" and {more} more" if more > 0 else "")


def _add_box(store: TagStore, sound_id: int, prefix: str, msg_key: str, slot: int) -> None:
    # The box's key names the card's place on the page, not its sound: Streamlit keeps the
    # metadata of every widget a session ever drew, and each box holds its list of the 1000 tags,
    # so one box per sound grew the server by about 0.4 MB per page of cards (README, Performance).
    base = _add_box_base(prefix, slot)
    # One tag per Enter, and each added tag gets a new box (the other of two keys): an emptied box
    # kept its focus and opened its whole list again, and a second Enter added the highlighted
    # first tag ("action", or whichever one lay under the mouse). The new box has no focus, so
    # further Enters do nothing. max_selections=1 also stops Enter from taking Streamlit's
    # "Select N matches" entry, which added every match of "bass".
    add_key = add_box_key(prefix, slot, st.session_state.get(_add_counter(base), 0))
    # The box sits in a popover, which the browser draws only when it is opened: a page of ten
    # cards no longer builds ten lists of the 1000 tags (it was half of a page change's time;
    # README, Performance). The shortcut `a` opens it and finds the box by its container's class.
    with (st.popover("Add tags", icon=":material/add:", key=f"{prefix}_{sound_id}_addtags",
                     width="stretch"),
          st.container(key=f"{prefix}_{sound_id}_add")):
        st.multiselect("Add tags", vocabulary_options(), key=add_key,
                       accept_new_options=True, max_selections=1,
                       placeholder="Type to search the 1000 tags; Enter adds",
                       on_change=_on_add,
                       args=(store, sound_id, add_key, _add_counter(base), msg_key),
                       help="Tags are normalized to the model's vocabulary ('bass' becomes "
                            "'bas'). A tag outside it is kept and marked ∉.")


def add_box_key(prefix: str, slot: int, added: int = 0) -> str:
    """The key of the Add tags box on the card in place `slot` of a page, after `added` tags."""
    return f"{_add_box_base(prefix, slot)}_{added % 2}"


def _add_box_base(prefix: str, slot: int) -> str:
    return f"{prefix}_add{slot}"
