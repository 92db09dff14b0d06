"""Which language a message is written in, judged only by its words.

`faq.normalize.detect_lang` answers "en" for anything without Chinese, which is right for
"where is my order" and wrong for a link, a date ("12-05 20:00"), an order number ("#A1234")
or a size ("XL") sent by a Chinese customer: those say nothing about the language.
`words_language` returns None for them, so the caller keeps the customer's language.
"""

from __future__ import annotations

import re

from faq.normalize import detect_lang, has_han

__all__ = ["words_language"]

# Links, e-mail addresses and bare domains with a path ("shop.com/item/12").
_LINK_RE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+|\S+@\S+\.\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.IGNORECASE
)
_TOKEN_RE = re.compile(r"[^\W_]+")
# Clothing sizes read the same in every language.
_SIZE_RE = re.compile(r"(?:x{0,3}[sml]|x{1,3}l|\d?xl)", re.IGNORECASE)


def _is_word(token: str) -> bool:
    """A word says something about the language: two letters or more, no digits (an order
    id "A1234" or "3pm" does not), and not a size."""
    if any(ch.isdigit() for ch in token):
        return False
    return len(token) >= 2 and _SIZE_RE.fullmatch(token) is None


def words_language(text: str) -> str | None:
    """ "zh" or "en" by the message's words, or None when it has none (links, dates, numbers,
    order ids, sizes, emoji)."""
    text = _LINK_RE.sub(" ", text[:4096])
    if has_han(text):
        return detect_lang(text)
    if any(_is_word(t) for t in _TOKEN_RE.findall(text)):
        return detect_lang(text)
    return None
