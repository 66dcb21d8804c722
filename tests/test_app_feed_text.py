"""Remote text is shown literally: escape_markdown checked with a real CommonMark parser."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from app.text import WORD_JOINER, escape_markdown, shorten
from tests.app_fixtures import HOSTILE

HOSTILE_TEXTS = [
    HOSTILE,
    "**bold** <script>alert(1)</script> [x](http://evil)",
    "# not a heading", "- not a list", "1. not a list", "> not a quote", "---",
    "`code` ~~strike~~ _em_ *em*", "<img src=x onerror=alert(1)>", "&amp; &lt;b&gt; &#x41;",
    "![img](http://evil/x.png)", "http://evil.example and www.evil.example",
    "| a | b |", "$$E=mc^2$$", ":material/home: :red[red] :smile:", "back\\slash\\*",
    "trailing backslash \\", "Ünïcödé — emoji 🎵 and CJK 音",
]


def rendered_text(markdown: str) -> str:
    """CommonMark (with GFM tables, strikethrough and autolinks) -> the text a reader sees."""
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    tokens = md.parse(markdown)
    inline = [t for t in tokens if t.type == "inline"]
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"][: len(
        tokens)], f"block markup in {markdown!r}: {[t.type for t in tokens]}"
    children = inline[0].children if inline else []
    kinds = {c.type for c in children}
    assert kinds <= {"text", "softbreak", "hardbreak"}, f"markup in {markdown!r}: {kinds}"
    return "".join(c.content for c in children)


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_escaped_text_renders_as_exactly_that_text(text):
    assert rendered_text(escape_markdown(text)).replace(WORD_JOINER, "") == text


@pytest.mark.parametrize("text", ["see http://evil.example/x", "HTTPS://evil.example",
                                  "www.evil.example", "WWW.Evil.example", "mail me: a@b.com"])
def test_bare_urls_and_emails_cannot_be_autolinked(text):
    # Streamlit's renderer autolinks bare URLs even when escaped; the word joiner breaks them.
    seen = re.sub(r"\\(.)", r"\1", escape_markdown(text))
    assert seen.replace(WORD_JOINER, "") == text
    assert "://" not in seen and "www." not in seen.lower() and re.search(r"\w@", seen) is None


def test_html_is_never_emitted():
    out = MarkdownIt("commonmark").render(escape_markdown("<script>alert(1)</script>"))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_line_breaks_fold_or_stay():
    assert escape_markdown("a\nb\r\nc") == "a b c"
    out = escape_markdown("first line\n# second", one_line=False)
    assert out == "first line  \n\\# second"


def test_none_and_numbers():
    assert escape_markdown(None) == ""
    assert escape_markdown(3.5) == "3\\.5"


def test_shorten():
    assert shorten("short") == "short"
    assert shorten("x" * 400, 10) == "x" * 9 + "…"
