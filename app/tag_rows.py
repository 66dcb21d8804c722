"""A card's tag rows drawn as one element: a small st.components.v2 component (no iframe).

Each row shows the tag (bold when a person confirmed or added it, struck through when removed,
∉ outside the vocabulary), the model's score as a bar and its state, and plain HTML buttons
whose accessible names say what they do to which tag ("Remove piano"). Below the rows the same
element draws the model's next guesses under the threshold as chips ("Add talk") and the card's
"Confirm all" and "Undo" buttons. One Streamlit element per card instead of about five per row
(a container, the name, a bar and two buttons) and a widget and two buttons more: the browser's
time to draw a page grows with its element count (README, Performance).

A click sends one trigger event, {"tag", "do"} ("" for the card's own buttons); `on_action` runs
it only when that action was drawn on the card, so a stale or forged event stores nothing. The
rows keep the class names the keyboard shortcuts look for (app/review_keys.py):
`st-key-<base>tagrow<n>_<tag>` on a row, `st-key-<base><tag>_<do>` around each of its buttons
and `st-key-<base>confirm_all` and `st-key-<base>undo` around the card's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

ACTIONS = ("confirm", "remove", "take_back", "restore")  # what a row's button may ask for
SUGGEST = "suggest"  # a chip: confirm a tag the model scored below the threshold
CARD_BUTTONS = {  # do -> (label, Material Symbols icon, tooltip): the card's own, tag ""
    "confirm_all": ("Confirm all", "done_all", "The final tags are right: confirm them all."),
    "undo": ("Undo", "undo", "Take back your last change to this sound."),
}
SUGGESTIONS_CAPTION = "Below the threshold · click one to add it"
BUTTONS = {  # do -> (verb in the button's name, Material Symbols icon, class suffix)
    "confirm": ("Confirm", "check", "confirm"),
    "remove": ("Remove", "close", "remove"),
    "take_back": ("Remove", "close", "remove"),  # your own addition: taken back, not removed
    "restore": ("Put back", "undo", "restore"),
}


@dataclass(frozen=True)
class Row:
    number: int  # 1-based position on the card (the keyboard's 1-9)
    tag: str  # the stored tag
    shown: str  # what the row says: the tag, with " ∉" outside the vocabulary
    look: str  # "strong" (a person's), "struck" (removed) or "" (the model's)
    score: float | None  # the model's score; None for a tag only a person gave
    note: str  # "confirmed", "added by hand", "removed", "" ...
    actions: tuple[str, ...]  # a subset of ACTIONS, in button order
    disabled: tuple[str, ...] = ()  # actions drawn greyed out (Confirm on a confirmed tag)


CSS = """  /* on the page through app/tag_editor.py's row_styles (st.html) */
.tagrows { display: flex; flex-direction: column; gap: 0.15rem; }
.tagrows .tagrow { display: flex; align-items: center; gap: 0.5rem; min-height: 2.1rem; }
.tagrows .tagname { width: 150px; flex: none; overflow-wrap: anywhere; }
.tagrows .tagname.strong { font-weight: 600; }
.tagrows .tagname.struck { text-decoration: line-through; opacity: 0.8; }
.tagrows .tagscore { flex: 1; min-width: 4rem; font-size: 0.875rem; }
.tagrows .tagbar { height: 0.35rem; border-radius: 0.2rem; margin-top: 0.15rem;
  background: var(--st-secondary-background-color, rgba(128, 128, 128, 0.25)); }
.tagrows .tagbar > div { height: 100%; border-radius: 0.2rem;
  background: var(--st-primary-color, #00bcd4); }
.tagrows .tagnote { opacity: 0.7; }
.tagrows button { display: inline-flex; align-items: center; justify-content: center;
  width: 2.2rem; height: 2.1rem; padding: 0; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid var(--st-border-color, rgba(128, 128, 128, 0.4)); color: inherit;
  background: var(--st-background-color, transparent); }
.tagrows button:hover:not(:disabled) { border-color: var(--st-primary-color, #00bcd4);
  color: var(--st-primary-color, #00bcd4); }
.tagrows button:disabled { opacity: 0.4; cursor: default; }
.tagrows .icon { font-family: "Material Symbols Rounded"; font-size: 1.25rem; line-height: 1; }
.tagrows .tagchips { display: flex; flex-wrap: wrap; gap: 0.35rem; margin-top: 0.4rem; }
.tagrows .tagcaption { width: 100%; font-size: 0.875rem; opacity: 0.7; }
.tagrows .tagchips button { width: auto; height: 1.9rem; padding: 0 0.65rem; border-radius: 1rem;
  font-size: 0.875rem; }
.tagrows .cardbuttons { display: flex; gap: 0.5rem; margin-top: 0.5rem; }
.tagrows .cardbuttons > span { flex: 1; }
.tagrows .cardbuttons button { width: 100%; gap: 0.4rem; font-size: 0.875rem; }
.tagrows .label { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip-path: inset(50%); white-space: nowrap; }
"""

JS = r"""
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;  // text only: never parsed as HTML
    return e;
  };
  const safe = (tag) => tag.replace(/[^\w-]/g, "-");
  const icon = (name) => {
    const e = el("span", "icon", name);
    e.setAttribute("aria-hidden", "true");
    return e;
  };
  // A button named `label` inside a span of class `holderCls` (the shortcuts find it by it);
  // a click sends `send` as the trigger event.
  const button = (holderCls, label, content, send, disabled, title) => {
    const holder = el("span", holderCls);
    const b = el("button");
    b.type = "button";
    b.disabled = disabled;
    b.setAttribute("aria-label", label);
    if (title) b.title = title;
    b.append(...content);
    b.addEventListener("click", () => {
      b.disabled = true;  // one click, one event: the card draws again after it
      setTriggerValue("action", send);
    });
    holder.appendChild(b);
    return holder;
  };
  const root = el("div", "tagrows");
  for (const r of data.rows) {
    const row = el("div", `tagrow st-key-${data.base}tagrow${r.number}_${safe(r.tag)}`);
    row.appendChild(el("div", `tagname ${r.look}`, r.shown));
    const score = el("div", "tagscore");
    if (r.score !== null) {
      score.appendChild(el("span", "", r.score.toFixed(2) + (r.note ? " · " : "")));
      score.appendChild(el("span", "tagnote", r.note));
      const bar = el("div", "tagbar"), fill = el("div");
      fill.style.width = `${Math.round(Math.min(Math.max(r.score, 0), 1) * 100)}%`;
      bar.appendChild(fill);
      score.appendChild(bar);
    } else {
      score.appendChild(el("span", "tagnote", r.note));
    }
    row.appendChild(score);
    for (const a of r.buttons) {
      row.appendChild(button(`st-key-${data.base}${safe(r.tag)}_${a.cls}`, a.label,
                             [icon(a.icon), el("span", "label", a.label)],
                             { tag: r.tag, do: a.do }, a.disabled, ""));
    }
    root.appendChild(row);
  }
  if (data.chips.length) {
    const chips = el("div", "tagchips");
    chips.appendChild(el("div", "tagcaption", data.caption));
    for (const c of data.chips) {
      chips.appendChild(button(`st-key-${data.base}${safe(c.tag)}_suggest`, `Add ${c.tag}`,
                               [el("span", "", `${c.tag} ${c.score.toFixed(2)}`)],
                               { tag: c.tag, do: "suggest" }, false, ""));
    }
    root.appendChild(chips);
  }
  if (data.card.length) {
    const bar = el("div", "cardbuttons");
    for (const a of data.card) {
      bar.appendChild(button(`st-key-${data.base}${a.do}`, a.label,
                             [icon(a.icon), el("span", "", a.label)],
                             { tag: "", do: a.do }, a.disabled, a.title));
    }
    root.appendChild(bar);
  }
  parentElement.replaceChildren(root);
}
"""

_mount = st.components.v2.component("freesound_tagger.tag_rows", js=JS, isolate_styles=False)


def _button(row: Row, do: str) -> dict:
    verb, icon, cls = BUTTONS[do]
    return {"do": do, "label": f"{verb} {row.tag}", "icon": icon, "cls": cls,
            "disabled": do in row.disabled}


def tag_rows(key: str, base: str, rows: list[Row], on_action: Callable[[str, str], None],
             chips: list[tuple[str, float]] = (), card: dict[str, bool] | None = None) -> None:
    """Draw `rows` (keys and classes start with `base`, e.g. "feed_12_"), then `chips` (tag,
    score) and the card's buttons named in `card` (do -> enabled); a click calls
    `on_action(tag, do)` in the rerun's callback phase, before anything is drawn."""
    card = card or {}
    drawn = {(row.tag, do) for row in rows for do in row.actions if do not in row.disabled}
    drawn |= {(tag, SUGGEST) for tag, _ in chips} | {("", do) for do, on in card.items() if on}
    st.session_state[f"{key}_drawn"] = drawn
    data = {"base": base, "rows": [{"number": r.number, "tag": r.tag, "shown": r.shown,
                                    "look": r.look, "score": r.score, "note": r.note,
                                    "buttons": [_button(r, do) for do in r.actions]}
                                   for r in rows],
            "caption": SUGGESTIONS_CAPTION,
            "chips": [{"tag": tag, "score": score} for tag, score in chips],
            "card": [{"do": do, "label": CARD_BUTTONS[do][0], "icon": CARD_BUTTONS[do][1],
                      "title": CARD_BUTTONS[do][2], "disabled": not on} for do, on in card.items()]}
    _mount(key=key, data=data, height="content",
           on_action_change=lambda: _dispatch(key, on_action))


def _dispatch(key: str, on_action: Callable[[str, str], None]) -> None:
    event = (st.session_state.get(key) or {}).get("action")
    if not isinstance(event, dict):
        return
    tag, do = event.get("tag"), event.get("do")
    if (tag, do) in st.session_state.get(f"{key}_drawn", set()):
        on_action(tag, do)
