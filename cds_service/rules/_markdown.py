"""Chart text inside card markdown: escaped so that it renders as the same plain characters, never as markup.

Card `detail` is GitHub-flavoured markdown (CDS Hooks); a display, note, unit or id copied from a resource could
otherwise become a link, an image, a heading, emphasis, a table or raw HTML in the EHR (clinical reference 0.10
item 17). The plain-text `summary` carries chart text as it is.
"""

from __future__ import annotations

import re

from ..knowledge.memo import Memo

# Inline markup (code, emphasis, links and images, HTML and entities, strikethrough, tables, headings): these
# characters are backslash-escaped wherever they stand. CommonMark lets any ASCII punctuation be escaped.
_ALWAYS = re.compile(r"([\\`*_\[\]<>&!~|#])")
# Block markup a value could start if it began a line: a list item, a setext underline, an ordered list.
_LEADING = re.compile(r"^([-+=])|^(\d+)([.)])")
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]+\s*")
# GFM turns bare text into links: "https://...", "www.host", "name@host" (and markdown-it's linkify any "host.com").
# An invisible word joiner after the ':', '.' or '@' breaks the pattern and renders as nothing.
_AUTOLINK = re.compile(r"([:@])(?=[\w/])|(\.)(?=[^\W\d_])")  # a '.' before a letter: "1.5 mg" stays as it is
WORD_JOINER = "\u2060"
# Text with none of the characters above renders as it is: most drug and condition names, returned untouched.
# Asked as three questions, not one pattern with anchored alternatives: a lone character class is scanned by the
# regex engine's fast loop, where the alternatives were tried at every position of every name of every card.
_MARKUP_CHAR = re.compile(r"[\\`*_\[\]<>&!~|#:@.\r\n\v\f\x85\u2028\u2029]")
_MARKUP_START = re.compile(r"[-+=]|\d+[.)]")  # matched at the start only


# Escaped chart text by the text, shared by all requests of this process: every card names the same drugs and
# diagnoses, a record repeats them, and most names hold a '.' or ':' ("2.5 MG", "12 HR") that sends them through the
# four substitutions below. Bounded by bytes (the text comes from requests).
ESCAPE_CACHE_BYTES = 4 * 1024 * 1024
_escaped = Memo(ESCAPE_CACHE_BYTES)


def escape(text: str) -> str:
    """`text` as markdown that renders exactly its characters, on one line (line breaks become spaces)."""
    found = _escaped.get(text)
    if found is None:
        found = _escape(text)
        _escaped.put(text, found)
    return found


def _escape(text: str) -> str:
    if not (_MARKUP_CHAR.search(text) or _MARKUP_START.match(text) or text[-1:].isspace()):
        return text
    text = _LINE_BREAKS.sub(" ", text).rstrip()
    text = _ALWAYS.sub(r"\\\1", text)
    text = _LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
    return _AUTOLINK.sub(lambda m: (m[1] or m[2]) + WORD_JOINER, text)
