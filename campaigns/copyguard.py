"""The copy guard: absolute claims that China's advertising law forbids, found before a text
is published (sale posts, drops, broadcasts, automations).

Advertising Law art. 9(3) forbids "国家级", "最高级", "最佳" and the like; the market regulator's
enforcement guide on absolute terms (市场监管总局《广告绝对化用语执法指南》, 2023) and the
platforms' "极限词" lists name the rest. `DEFAULT_WORDS` holds the common ones in Chinese and
their English counterparts; a shop adds its own with ``COPY_GUARD_WORDS``.

How the text is read:

- **Normalised first, offsets kept.** Each character goes through NFKC (full-width
  ``ＮＯ．１``, ``１００％`` become ``NO.1``, ``100%``; ``№`` becomes ``No``), curly apostrophes
  and dashes become ``'`` and ``-``, and zero-width characters are dropped. Matching runs on
  that copy, and each hit is mapped back to its offsets in the ORIGINAL text.
- **Chinese** has no word boundaries: a word matches anywhere it occurs (``最`` alone is
  forbidden, so any 最X compound is caught).
- **English** (and any word that starts or ends with a Latin letter or digit) must stand as a
  word: "cure" does not fire in "secure", "procure" or "curious", "No. 1" not in "No. 10",
  "#1" not in "#12". Case does not matter, and spacing and punctuation inside a word are
  flexible: "No. 1" also matches "No.1", "no 1", "NO1"; "risk-free" matches "risk free";
  "world's best" matches "worlds best". A hyphen separates words ("guaranteed-results" is
  caught), so "the best-selling" is a hit: claiming to be *the* best seller is a ranking
  claim (销量第一); "best-selling" and "bestseller" alone are not in the list.
- **Allowed words** are harmless words that contain a forbidden one. They are matched in the
  same pass: at each position the longest word, forbidden or allowed, wins, and text inside
  an allowed word is not searched again. So 最近 ("recently") passes while 最好 is a hit, and
  a longer forbidden word beats a shorter allowed one: 最新 ("latest") passes but 最新技术
  ("the latest technology") is a hit. A word that is both forbidden and allowed is allowed,
  which is how a shop switches a default word off.

Decisions on the defaults (each tested in tests/campaigns/test_copyguard.py):

- Allowed, because they state a time, an order or a condition, not a ranking: 最近, 最后,
  最终, 最初, 最早, 最晚, 最新 (newest; but 最新技术/最新科技/最新发明/最新科学 are hits),
  最多 and 最少 ("每人最多领1张", "最少买2件"; but 最多人 "most people" is a hit), 最低消费
  (minimum spend), 最高减/最高立减 ("up to ¥50 off"), and the consumption hints the 2023 guide
  exempts (最佳赏味期, 最佳食用期, 最佳饮用期).
- 第一 is a hit (销量第一, 全网第一), but an ordinal of the customer's own purchase or of
  time is not: 第一次 (第一次购买 = first purchase), 第一单, 第一件 (第一件半价), 第一天,
  第一周, 第一期, 第一批, 第一波, 第一轮, 第一步, 第一时间 (as soon as possible), and the
  same with 第1.
- 独家 ("exclusive") and bare "100%" (100%纯棉 is a fact) are not in the list; 100%有效,
  百分百 and 百分之百 are.
- English allowed: "best before" / "best-before" (also "the best before date"), "money-back
  guarantee(d)" (a service promise, which the guide exempts), and cured food ("cured ham",
  "cured meat", "dry-cured", "salt-cured").
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_WORDS: tuple[str, ...] = (
    # zh: 最 and its compounds (the longer ones are listed so the hit names the whole word)
    "最",
    "最佳",
    "最好",
    "最优",
    "最高级",
    "最低价",
    "最便宜",
    "最强",
    "最大",
    "最先进",
    "最受欢迎",
    "最新技术",
    "最新科技",
    "最新发明",
    "最新科学",
    "最多人",
    "全网最低",
    # rank and firsts
    "第一",
    "第1",
    "全网第一",
    "销量第一",
    "销量冠军",
    "第一品牌",
    "首个",
    "首家",
    "首选",
    "全国首家",
    "全球首发",
    "唯一",
    # levels
    "国家级",
    "世界级",
    "全球级",
    "宇宙级",
    "顶级",
    "顶尖",
    "极品",
    "极致",
    "终极",
    "世界领先",
    # uniqueness and absolutes
    "独一无二",
    "绝无仅有",
    "史无前例",
    "前无古人",
    "空前绝后",
    "万能",
    "绝对",
    "永久",
    "百分百",
    "百分之百",
    "100%有效",
    "填补国内空白",
    # health and risk claims
    "根治",
    "药到病除",
    "包治百病",
    "无副作用",
    "零风险",
    # en
    "the best",
    "the very best",
    "best ever",
    "world's best",
    "best in the world",
    "world-class",
    "No. 1",
    "number one",
    "#1",
    "top 1",
    "guarantee",
    "guaranteed",
    "guarantees",
    "cure",
    "cures",
    "cured",
    "cure-all",
    "100% effective",
    "100% safe",
    "miracle",
    "miraculous",
    "risk-free",
    "lowest price",
    "cheapest",
    "unbeatable",
    "unrivalled",
    "unrivaled",
    "unparalleled",
    "unprecedented",
    "first ever",
    "one of a kind",
)

DEFAULT_ALLOWED: tuple[str, ...] = (
    # zh: time, order and conditions
    "最近",
    "最后",
    "最终",
    "最初",
    "最早",
    "最晚",
    "最新",
    "最多",
    "最少",
    "最低消费",
    "最高减",
    "最高立减",
    "最佳赏味期",
    "最佳食用期",
    "最佳饮用期",
    "第一次",
    "第一单",
    "第一件",
    "第一天",
    "第一周",
    "第一期",
    "第一批",
    "第一波",
    "第一轮",
    "第一步",
    "第一时间",
    "第1次",
    "第1单",
    "第1件",
    "第1天",
    "第1周",
    "第1期",
    "第1批",
    "第1波",
    "第1轮",
    "第1步",
    # en
    "best before",
    "the best before",
    "money-back guarantee",
    "money-back guaranteed",
    "cured ham",
    "cured meat",
    "dry-cured",
    "salt-cured",
)

# Characters that NFKC leaves alone but that people type for the same thing.
_FOLD = str.maketrans(
    {
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u02bc": "'",  # ʼ
        "\u2032": "'",  # ′
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",  # –
        "\u2014": "-",  # —
        "\u2212": "-",  # −
        "\u00ad": "",  # soft hyphen
        "\u200b": "",  # zero-width space
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",  # word joiner
        "\ufeff": "",
    }
)
_SPLIT = re.compile(r"[,，、\n\r]+")
_LATIN = re.compile(r"[A-Za-z0-9]")
_BEFORE = r"(?<![A-Za-z0-9])"
_AFTER = r"(?![A-Za-z0-9])"
_SEPARATORS = ".-_'"


@dataclass(frozen=True)
class Hit:
    """A forbidden `word` (as configured) found at ``text[start:end]`` of the checked text."""

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class CopyGuard:
    words: tuple[str, ...] = DEFAULT_WORDS
    allowed: tuple[str, ...] = DEFAULT_ALLOWED

    def check(self, text: str) -> list[Hit]:
        """The forbidden words in `text`, in order, not overlapping; offsets into `text`."""
        matcher = _matcher(self.words, self.allowed)
        if matcher is None or not text:
            return []
        pattern, terms = matcher
        norm, origin = _normalise(text)
        hits: list[Hit] = []
        for m in pattern.finditer(norm):
            word, allowed = terms[(m.lastindex or 0) - 1]
            if allowed or m.end() == m.start():
                continue
            start = origin[m.start()]
            end = origin[m.end() - 1] + 1
            if hits and start < hits[-1].end:  # two hits inside one expanded character
                continue
            hits.append(Hit(word, start, end))
        return hits

    def mark(self, text: str) -> str:
        """`text` escaped for HTML, each hit wrapped in ``<u><b>…</b></u>``."""
        parts: list[str] = []
        done = 0
        for hit in self.check(text):
            parts.append(html.escape(text[done : hit.start]))
            parts.append(f"<u><b>{html.escape(text[hit.start : hit.end])}</b></u>")
            done = hit.end
        parts.append(html.escape(text[done:]))
        return "".join(parts)


def build_guard(extra_words: str = "", extra_allowed: str = "") -> CopyGuard:
    """The default guard plus a shop's own words (``COPY_GUARD_WORDS``) and harmless words
    (``COPY_GUARD_ALLOW``), each a list separated by commas (, or ，), 、 or new lines."""
    return CopyGuard(
        words=_merge(DEFAULT_WORDS, _split(extra_words)),
        allowed=_merge(DEFAULT_ALLOWED, _split(extra_allowed)),
    )


def _split(spec: str) -> list[str]:
    return [w.strip() for w in _SPLIT.split(spec) if w.strip()]


def _merge(base: Iterable[str], extra: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for word in (*base, *extra):
        seen.setdefault(_fold(word).casefold(), word)
    return tuple(seen.values())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


def _normalise(text: str) -> tuple[str, list[int]]:
    """The text to match on, and for each of its characters the offset it came from."""
    if text.isascii():
        return text, list(range(len(text)))
    chars = [_fold_char(ch) for ch in text]
    norm = "".join(chars)
    if len(norm) == len(text) and all(len(c) == 1 for c in chars):
        return norm, list(range(len(text)))
    origin: list[int] = []
    for i, folded in enumerate(chars):
        origin.extend([i] * len(folded))
    return norm, origin


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return ch if ch.isascii() else _fold(ch)


def _term_pattern(word: str) -> str:
    """A word as a regex: separators inside it flexible, Latin edges on word boundaries."""
    folded = _fold(word).strip()
    out: list[str] = []
    i = 0
    while i < len(folded):
        ch = folded[i]
        if ch.isspace() or ch in _SEPARATORS:
            j = i
            while j < len(folded) and (folded[j].isspace() or folded[j] in _SEPARATORS):
                j += 1
            run = folded[i:j]
            if "." in run:
                out.append(r"\.?")
            if "'" in run:
                out.append("'?")
            out.append(r"[\s\-_]*")
            i = j
        elif ch.isalnum():
            out.append(re.escape(ch))
            i += 1
        else:  # a symbol such as % or #: spaces around it are fine
            out.append(rf"\s*{re.escape(ch)}\s*")
            i += 1
    body = "".join(out)
    if body.startswith(r"\s*"):
        body = body[3:]
    if body.endswith(r"\s*"):
        body = body[:-3]
    before = _BEFORE if _LATIN.match(folded[:1]) else ""
    after = _AFTER if _LATIN.match(folded[-1:]) else ""
    return f"{before}{body}{after}"


def _usable(word: str) -> bool:
    """Not blank and not separators only (which would match nothing or everywhere)."""
    return any(not (c.isspace() or c in _SEPARATORS) for c in _fold(word))


@functools.lru_cache(maxsize=32)
def _matcher(
    words: tuple[str, ...], allowed: tuple[str, ...]
) -> tuple[re.Pattern[str], list[tuple[str, bool]]] | None:
    """One regex for all the words, longest first (allowed before forbidden on a tie), each
    in its own group; and for group n, (word, allowed)."""
    entries: dict[str, tuple[str, bool, int]] = {}
    for word in words:
        if _usable(word):
            entries.setdefault(_term_pattern(word), (word, False, len(_fold(word).strip())))
    for word in allowed:
        if _usable(word):
            length = len(_fold(word).strip())
            entries[_term_pattern(word)] = (word, True, length)  # allowed wins a tie
    if not any(not allowed_ for _, allowed_, _ in entries.values()):
        return None
    ordered = sorted(entries.items(), key=lambda e: (-e[1][2], not e[1][1]))
    terms = [(word, allowed_) for _, (word, allowed_, _) in ordered]
    # A cheap test before the alternatives: the position can start one of the words (a
    # Latin one only at the start of a word).
    firsts = {_fold(w).strip()[0] for w, _ in terms}
    latin = "".join(re.escape(c) for c in sorted(c for c in firsts if _LATIN.match(c)))
    other = "".join(re.escape(c) for c in sorted(c for c in firsts if not _LATIN.match(c)))
    starts = [f"(?=[{other}])"] if other else []
    if latin:
        starts.append(f"{_BEFORE}(?=[{latin}])")
    body = "|".join(f"({pattern})" for pattern, _ in ordered)
    return re.compile(f"(?:{'|'.join(starts)})(?:{body})", re.IGNORECASE), terms
