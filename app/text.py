"""Remote text (sound names, descriptions, tags, user names) shown literally, never as markdown.

CommonMark renders a backslash followed by any ASCII punctuation character as that character, so
escaping every punctuation character makes markdown, HTML, links, LaTeX ($) and Streamlit's
colour and icon directives (:red[...], :material/...:) inert. Escapes do not stop the GFM autolinker
Streamlit's renderer runs over the text afterwards (measured in Chromium: `http\\://x` still became
a link), so an invisible WORD JOINER (U+2060) is put inside `://`, `www.` and before `@`: the text
reads the same and no link is made from it.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = frozenset(string.punctuation)  # ASCII punctuation: all escapable in CommonMark
WORD_JOINER = "\u2060"  # invisible; breaks the autolinker's patterns
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)


def escape_markdown(text: object, *, one_line: bool = True) -> str:
    """Any text -> markdown that renders exactly that text. `one_line` folds line breaks."""
    raw = "" if text is None else str(text)
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if one_line:
        raw = " ".join(raw.split("\n"))
    raw = _AUTOLINK.sub(WORD_JOINER, raw)
    out = "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in raw)
    # Markdown ignores single line breaks; a trailing double space keeps them.
    return out.replace("\n", "  \n") if not one_line else out


def shorten(text: object, limit: int = 300) -> str:
    raw = "" if text is None else str(text).strip()
    return raw if len(raw) <= limit else raw[: limit - 1].rstrip() + "…"
