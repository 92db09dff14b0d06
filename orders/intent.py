"""Is a customer's message about THEIR order's status or whereabouts? Pure rules, no I/O.

"where is my order", "has my parcel shipped", "order 880123 status", "#880123",
"我的订单到哪了", "查一下订单880123", "还没收到货" are; "how long does shipping take",
"运费多少", "发什么快递" are not (the FAQ answers those for everyone). Returns, refunds,
exchanges and cancellations are not either (they have their own answers), nor complaints
and requests for a person (the assistant opens a ticket for those).

Typos are tolerated where it is cheap: an English word one edit (or one swap of neighbours)
away from a keyword counts as the keyword ("were is my pakage", "track my ordr").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from faq.human import wants_human
from faq.language import words_language
from faq.normalize import prenormalize
from faq.smalltalk import is_complaint

# Longer messages are left to the FAQ assistant (it answers rambling and "too long").
MAX_CHARS = 300
MAX_CANDIDATES = 3
MIN_ORDER_DIGITS = 5

# An order number: letters (a prefix like "SO"), digits, dashes and underscores, with at
# least MIN_ORDER_DIGITS digits; bounded by anything that is not a Latin letter or digit,
# so "订单880123" and "#880123" give "880123".
_ORDER_TOKEN_RE = re.compile(
    r"(?<![a-z0-9])#?([a-z]{0,6}[-_]?[0-9][a-z0-9_-]{0,62})(?![a-z0-9])", re.IGNORECASE
)
_DIGIT_RE = re.compile(r"\d")
# After "order" / "订单" a shorter number counts too ("order P100", "订单号：A123").
MIN_MARKED_DIGITS = 3
_MARKED_TOKEN_RE = re.compile(
    r"(?:\border|订单|单号)\s*(?:no\.?|number|num|id|号)?\s*[:：#]?\s*"
    r"([a-z0-9][a-z0-9_-]{0,63})(?![a-z0-9])",
    re.IGNORECASE,
)

# --- English --------------------------------------------------------------------------

_KEYWORDS = (
    "order",
    "orders",
    "package",
    "packages",
    "parcel",
    "parcels",
    "shipment",
    "delivery",
    "track",
    "tracking",
    "where",
    "shipped",
    "delivered",
    "arrived",
    "received",
    "status",
    "dispatched",
)
_KEYWORD_SET = frozenset(_KEYWORDS)
# Real words one edit away from a keyword that must stay themselves.
_NOT_TYPOS = frozenset({"there", "here", "ordered", "border", "states", "state", "stats"})

_THING = r"(?:order|orders|package|packages|parcel|parcels|shipment|delivery|stuff|item|items)"
_EN_POSITIVE = [
    re.compile(p)
    for p in (
        rf"\b(?:where|were|wher|whr)\b(?:'s|s)?\s+(?:is\s+|are\s+)?(?:my|our)\s+{_THING}\b",
        rf"\btrack(?:ing)?\s+(?:my\s+|our\s+|the\s+)?{_THING}\b",
        rf"\b(?:my|our)\s+{_THING}\s+(?:status|tracking|number)\b",
        rf"\b{_THING}\s+(?:status|tracking)\b",
        rf"\bstatus\s+of\s+(?:my|our)\s+{_THING}\b",
        rf"\b(?:has|have|did|is|was)\s+(?:my|our)\s+{_THING}\b.*\b(?:ship|shipped|arrive|arrived|"
        r"deliver|delivered|sent|dispatched|left|been)\b",
        rf"\bwhen\s+(?:will|does|is|do)\s+(?:my|our)\s+{_THING}\b",
        rf"\b(?:my|our)\s+{_THING}\b.*\b(?:has not|hasn't|hasnt|have not|haven't|havent|did not|"
        r"didn't|didnt|not yet|still not|never|not)\s+(?:yet\s+)?(?:arrive|arrived|come|came|"
        r"shipped|ship|delivered|received)\b",
        r"\b(?:have not|haven't|havent|did not|didn't|didnt|not yet|never|still not|"
        r"still haven't)"
        rf"\s+(?:yet\s+)?(?:received|got|gotten|get|receive)\s+(?:my|our|the)\s+{_THING}\b",
        rf"\b(?:check|see|find)\s+(?:on\s+)?(?:my|our)\s+{_THING}\b",
        r"\btracking\s+(?:number|info|information|status)\b.*\b(?:my|our)\b",
        r"\b(?:my|our)\b.*\btracking\s+(?:number|info|information|status)\b",
    )
]
# "order 880123", "order #880123 status", "order no. 880123".
_EN_ORDER_NUMBER = re.compile(r"\border\s*(?:no\.?|number|num|#|id)?\s*#?\s*[a-z]{0,6}\d{3}")

# --- Chinese --------------------------------------------------------------------------

_ZH_THING = r"(?:订单|包裹|快递|物流|货物|单子)"
_ZH_WHERE = (
    r"(?:到哪|在哪|哪里了|到了吗|到了没|到没到|怎么还没|为什么还没|什么时候到|何时到|几时到|"
    r"多久到|状态|进度|信息|动态|跟踪|追踪|查询|更新|发出|发了吗|发货了吗|发了没)"
)
_ZH_POSITIVE = [
    re.compile(p)
    for p in (
        rf"{_ZH_THING}.{{0,6}}{_ZH_WHERE}",
        # 货 / 东西 / 宝贝 alone mean "the product" too ("这个宝贝什么时候到货" is about stock):
        # only right before a whereabouts word.
        r"(?:我的|我)?(?:货|东西|宝贝)(?:到哪|到了吗|到了没|怎么还没到|还没到|发了吗|发货了吗|发了没)",
        rf"(?:查|查查|查一下|查询|帮我查|看一下|看看|跟踪|追踪).{{0,4}}{_ZH_THING}",
        r"(?:物流|快递)(?:信息|单号|号|状态|进度|动态|更新)",
        r"运单号|单号是多少|快递单号",
        r"还没(?:有)?(?:收到|到|发货|发)",
        r"没(?:有)?收到(?:货|包裹|快递|东西|宝贝)",
        r"(?:发货|发出|寄出|发)了(?:吗|没|没有)",
        r"(?:什么时候|啥时候|几时|何时)(?:能)?(?:送到|收到)",
    )
]
# "我的订单", "我的包裹？": the whole message (a longer one says what it wants about it).
_ZH_MINE_ALONE = re.compile(rf"(?:我的)?{_ZH_THING}|我的(?:货|东西|宝贝)")
# A number with a status word: "SO-880123 status?", "880123 到哪了".
_NUMBER_AND_STATUS = re.compile(
    r"\b(?:status|tracking|track|where|shipped|delivered)\b|到哪|在哪|状态|物流"
)
_ZH_ORDER_NUMBER = re.compile(r"(?:订单|单号|订单号)[号:：\s#]*[a-z]{0,6}\d{3}")

# Not "where is my order": returns, refunds, exchanges, cancellations, changes, invoices.
_OTHER_TOPIC = re.compile(
    r"\b(?:return|returns|returning|refund|refunds|refunded|exchange|cancel|cancell?ed|"
    r"cancellation|invoice|change|modify|edit)\b|退|换货|换个|换一|取消|改地址|修改|发票"
)


@dataclass(frozen=True, slots=True)
class OrderQuestion:
    """A customer asking about their order: the order numbers they wrote (maybe none), and
    the language of their words (None when they wrote only a number)."""

    numbers: tuple[str, ...]
    lang: str | None


def _near(word: str, keyword: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours apart."""
    if word == keyword:
        return True
    lw, lk = len(word), len(keyword)
    if abs(lw - lk) > 1:
        return False
    if lw == lk:
        diff = [i for i in range(lw) if word[i] != keyword[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and word[diff[0]] == keyword[diff[1]]
            and word[diff[1]] == keyword[diff[0]]
        )
    short, long_ = (word, keyword) if lw < lk else (keyword, word)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _fix_word(word: str) -> str:
    if len(word) < 4 or word in _KEYWORD_SET or word in _NOT_TYPOS:
        return word
    for keyword in _KEYWORDS:
        if _near(word, keyword):
            return keyword
    return word


def _fix_typos(text: str) -> str:
    return re.sub(r"[a-z]+", lambda m: _fix_word(m.group(0)), text)


def order_numbers(text: str) -> tuple[str, ...]:
    """Order-number candidates in the message, in order, without repeats (case kept;
    full-width digits and letters read as ASCII)."""
    wide = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    hits = [(m.start(1), m.group(1), MIN_MARKED_DIGITS) for m in _MARKED_TOKEN_RE.finditer(wide)]
    hits += [(m.start(1), m.group(1), MIN_ORDER_DIGITS) for m in _ORDER_TOKEN_RE.finditer(wide)]
    found: list[str] = []
    for _, raw, digits in sorted(hits):
        token = raw.strip("-_")
        if len(_DIGIT_RE.findall(token)) < digits or token in found:
            continue
        found.append(token)
        if len(found) == MAX_CANDIDATES:
            break
    return tuple(found)


def _only_a_number(lowered: str, numbers: tuple[str, ...]) -> bool:
    """The message is an order number and nothing else ("#880123", "880123?")."""
    if len(numbers) != 1:
        return False
    rest = _ORDER_TOKEN_RE.sub(" ", lowered)
    return not re.search(r"[a-z\u4e00-\u9fff]", rest)


def detect(text: str) -> OrderQuestion | None:
    """An OrderQuestion when the message asks about the customer's own order, else None."""
    if not text or len(text) > MAX_CHARS:
        return None
    lowered = prenormalize(text)
    numbers = order_numbers(text)
    if _OTHER_TOPIC.search(lowered):
        return None
    fixed = _fix_typos(lowered)
    compact = re.sub(r"\s+", "", lowered)
    asked = (
        _only_a_number(lowered, numbers)
        or any(p.search(fixed) for p in _EN_POSITIVE)
        or any(p.search(compact) for p in _ZH_POSITIVE)
        or _ZH_MINE_ALONE.fullmatch(re.sub(r"[\W_]+", "", compact).removesuffix("呢")) is not None
        or bool(
            numbers
            and (
                _EN_ORDER_NUMBER.search(fixed)
                or _ZH_ORDER_NUMBER.search(compact)
                or _NUMBER_AND_STATUS.search(fixed)
            )
        )
    )
    if not asked or is_complaint(text) or wants_human(text):
        return None
    return OrderQuestion(numbers=numbers, lang=words_language(text))
