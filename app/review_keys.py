"""Keyboard shortcuts for reviewing tag cards: one small component (st.components.v2, no iframe)
whose script listens for keys on the page and presses the card's own buttons.

Every shortcut clicks a button a mouse could click (found by its Streamlit key), so a keystroke
runs exactly the callback that click would, and nothing else. Keys typed into a text box, or
with Ctrl, Alt or Meta held, are left alone. The "current card" is the one holding the focus,
else the last one a shortcut went to, else the first one on screen; it is outlined.
"""

from __future__ import annotations

import streamlit as st

SHORTCUTS = (  # (keys, what they do): shown in the page's "Keyboard" popover
    ("j / k", "next / previous card"),
    ("p", "play or pause the card's sound"),
    ("1 … 9", "tag row 1-9: confirm it; confirmed: remove it; removed: put it back"),
    ("a", "open the card's Add tags box and type (Enter adds the tag; Esc closes it)"),
    ("c", "confirm all the card's final tags"),
    ("u", "undo your last change to the card"),
    ("n", "next unreviewed sound of the queue"),
)

JS = r"""
export default function (component) {
  const { data } = component;
  const prefix = (data && data.prefix) || "feed";
  const state = window.__tagKeys || (window.__tagKeys = {});
  const cardSel = `[class*="st-key-${prefix}_card_"]`;
  const cards = () => Array.from(document.querySelectorAll(cardSel));
  const idOf = (card) => {
    const m = card.className.match(new RegExp(`st-key-${prefix}_card_(\\d+)`));
    return m ? m[1] : null;
  };
  const mark = (card) => {
    document.querySelectorAll(".tagkeys-current").forEach((c) => c.classList.remove("tagkeys-current"));
    if (card) { card.classList.add("tagkeys-current"); state.current = idOf(card); }
  };
  const current = () => {
    const el = document.activeElement;
    const held = el && el.closest ? el.closest(cardSel) : null;
    if (held) return held;
    const all = cards();
    return all.find((c) => idOf(c) === state.current)
      || all.find((c) => c.getBoundingClientRect().bottom > 80) || all[0] || null;
  };
  const go = (card) => {
    if (!card) return;
    mark(card);
    card.scrollIntoView({ block: "start" });
  };
  const click = (button) => {
    if (button && !button.disabled) { button.click(); return true; }
    return false;
  };
  const toggleRow = (card, base, n) => {
    const row = card.querySelector(`[class*="${base}tagrow${n}_"]`);
    if (!row) return;
    const find = (what) => row.querySelector(`[class*="_${what}"] button`);
    if (!click(find("restore")) && !click(find("confirm"))) click(find("remove"));
  };
  // The Add box lives in a popover, drawn once it is opened: until it has the focus, keys are
  // dropped, so none typed too early runs a shortcut meant as text ("cello" would confirm all)
  // or reaches the list.
  const openAdd = (card, base) => {
    const box = () => document.querySelector(`[class*="${base}add"] input`);
    if (!box()) click(card.querySelector(`.${base}addtags button`));
    state.opening = true;
    let tries = 0;
    const focus = () => {
      const input = box();
      if (!input) {
        if (tries++ < 40) setTimeout(focus, 50); else state.opening = false;
        return;
      }
      input.focus();
      state.opening = false;
    };
    focus();
  };
  const onKey = (e) => {
    if (state.opening) { e.preventDefault(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    const card = current();
    if (!card) return;
    const base = `st-key-${prefix}_${idOf(card)}_`;
    const all = cards();
    const key = e.key;
    if (key === "j") go(all[all.indexOf(card) + 1]);
    else if (key === "k") go(all[all.indexOf(card) - 1]);
    else if (key === "p") {
      const audio = card.querySelector("audio");
      if (audio) { if (audio.paused) audio.play(); else audio.pause(); }
    } else if (key === "a") openAdd(card, base);
    else if (key === "c") click(card.querySelector(`.${base}confirm_all button`));
    else if (key === "u") click(card.querySelector(`.${base}undo button`));
    else if (key === "n") click(document.querySelector(`.st-key-${prefix}_next_unreviewed button`));
    else if (/^[1-9]$/.test(key)) toggleRow(card, base, key);
    else return;
    e.preventDefault();
    if (key !== "j" && key !== "k") mark(card);
  };
  // One listener for the page's lifetime, calling the latest mount's handler: a rerun may
  // unmount and mount the component again, in either order.
  state.handler = onKey;
  if (!state.installed) {
    document.addEventListener("keydown", (e) => state.handler && state.handler(e));
    state.installed = true;
  }
  const focus = data && data.focus ? String(data.focus) : null;
  if (focus && focus !== state.focused) {  // "Next unreviewed" went to this card: show it
    state.focused = focus;
    let tries = 0;
    const seek = () => {
      const card = cards().find((c) => idOf(c) === focus);
      if (card) go(card); else if (tries++ < 100) setTimeout(seek, 100);
    };
    seek();
  }
}
"""

_mount = st.components.v2.component("freesound_tagger.review_keys", js=JS, isolate_styles=False)


def review_keys(prefix: str, focus: int | None = None) -> None:
    """The shortcuts on this page's cards (keys `<prefix>_card_<id>`); `focus`: a card to show."""
    _mount(key=f"{prefix}_keys", data={"prefix": prefix, "focus": focus}, height=0)


def shortcuts_help() -> None:
    """The "Keyboard" popover: every shortcut, one line each."""
    with st.popover("Keyboard", icon=":material/keyboard:"):
        st.markdown("\n".join(f"- `{keys}`: {what}" for keys, what in SHORTCUTS))
