"""Text normalisation shared by the KB index and the query side.

``normalize`` is deliberately cheap and deterministic: the matcher runs it once per phrasing
when the index is built and once per incoming message.

Steps: Unicode NFKC (this also folds full-width ASCII to half-width), case folding,
Traditional -> Simplified Chinese (OpenCC ``t2s``, only when the text contains Han
characters), apostrophes inside words dropped ("don't" -> "dont"), every other non-word
character turned into a space, Han runs separated from Latin/digit runs ("我的order" ->
"我的 order"), and a small curated map of chat abbreviations and frequent typos applied
token by token.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Protocol

__all__ = ["detect_lang", "has_han", "normalize", "prenormalize", "split_tokens"]


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@lru_cache(maxsize=1)
def _t2s() -> _Converter:
    from opencc import OpenCC

    converter: _Converter = OpenCC("t2s")
    return converter


_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_APOSTROPHE_RE = re.compile(r"(?<=[a-z])['\u2019\u2018`](?=[a-z])")
# Anything that is not a Latin letter/digit, a Han character or a decimal point between
# digits becomes a separator.
_NON_WORD_RE = re.compile(
    r"(?:(?<!\d)\.|\.(?!\d)|[^0-9a-z.\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])+"
)
_SCRIPT_SPLIT_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
_SPACES_RE = re.compile(r"\s+")
_ACRONYM_RE = re.compile(r"(?<![a-z0-9])(?:[a-z]\.){2,}")

# Chat abbreviations and frequent misspellings seen in customer messages. Kept small and
# curated on purpose; the matcher additionally corrects unknown words against the KB vocabulary.
ABBREVIATIONS: dict[str, str] = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "plss": "please",
    "thx": "thanks",
    "thnx": "thanks",
    "ty": "thanks",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "have to",
    "wat": "what",
    "wht": "what",
    "hw": "how",
    "whats": "what is",
    "wheres": "where is",
    "hows": "how is",
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "can not",
    "cannot": "can not",
    "wont": "will not",
    "isnt": "is not",
    "havent": "have not",
    "hasnt": "has not",
    "idk": "i do not know",
    "asap": "as soon as possible",
    "b4": "before",
    "2day": "today",
    "tmrw": "tomorrow",
    "msg": "message",
    "acct": "account",
    "acc": "account",
    "pw": "password",
    "pwd": "password",
    "passwd": "password",
    "addr": "address",
    "adress": "address",
    "addres": "address",
    "adddress": "address",
    "recieve": "receive",
    "recieved": "received",
    "recive": "receive",
    "shiping": "shipping",
    "shippment": "shipment",
    "delivary": "delivery",
    "delievery": "delivery",
    "refnd": "refund",
    "refun": "refund",
    "cancell": "cancel",
    "cancle": "cancel",
    "cancelation": "cancellation",
    "oder": "order",
    "ordr": "order",
    "invoce": "invoice",
    "invioce": "invoice",
    "paymnt": "payment",
    "payement": "payment",
    "acount": "account",
    "accout": "account",
    "pasword": "password",
    "passowrd": "password",
    "sz": "size",
    "qty": "quantity",
    "info": "information",
    "pic": "picture",
    "pics": "pictures",
    "ppl": "people",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "tho": "though",
    "rn": "right now",
    "abt": "about",
}


def has_han(text: str) -> bool:
    """True when ``text`` contains at least one Chinese (Han) character."""
    return _HAN_RE.search(text) is not None


def prenormalize(text: str) -> str:
    """NFKC + lower case + Traditional->Simplified, keeping punctuation and units intact.

    Used by the size parser, which needs apostrophes, dots and quotes (5'9").
    """
    out = unicodedata.normalize("NFKC", text).lower()
    out = out.replace("\u2019", "'").replace("\u2018", "'").replace("\u2032", "'")
    out = out.replace("\u201d", '"').replace("\u201c", '"').replace("\u2033", '"')
    if has_han(out):
        out = _t2s().convert(out)
    return out


def split_tokens(normalized: str) -> list[str]:
    """Split a normalised string into tokens (Latin words, numbers, Han runs)."""
    return normalized.split()


def normalize(text: str) -> str:
    """Return the canonical form of ``text`` used for matching (see module docstring)."""
    out = prenormalize(text)
    out = _APOSTROPHE_RE.sub("", out)
    out = _ACRONYM_RE.sub(lambda m: m.group(0).replace(".", ""), out)  # "u.s." -> "us"
    out = _NON_WORD_RE.sub(" ", out)
    if has_han(out):
        out = _SCRIPT_SPLIT_RE.sub(r" \1 ", out)
    tokens: list[str] = []
    for token in _SPACES_RE.split(out):
        if not token:
            continue
        replacement = ABBREVIATIONS.get(token)
        if replacement is None:
            tokens.append(token)
        else:
            tokens.extend(replacement.split())
    return " ".join(tokens)


def detect_lang(text: str) -> str:
    """``"zh"`` when the text is mainly Chinese (Han characters present and at least as
    many of them as Latin words), otherwise ``"en"``."""
    han = len(_HAN_RE.findall(text))
    if han == 0:
        return "en"
    latin_words = len(re.findall(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]+", text))
    return "zh" if han >= latin_words else "en"
