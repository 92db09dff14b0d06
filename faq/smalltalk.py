"""Small talk in both languages: greetings, thanks, goodbyes and complaints (pure rules).

`small_talk(text)` says what a message is when it is *only* small talk ("hi", 您好在吗,
"thanks a lot!", 好的谢谢): after the known phrases and filler words are taken away, nothing
may be left, so "hi, where is my order" is a question for the matcher, not a greeting.
A complaint (投诉, 差评, "I want to complain", "terrible service") counts anywhere in the
message, however long ("衣服质量太差了我要投诉"), unless it is negated ("不是投诉",
"no complaints"). The text goes through `faq.normalize.normalize` first, so case, full-width
forms, 繁體, punctuation, emoji and chat abbreviations ("thx", "ty") do not matter; Latin
words are also compared with their repeated letters squeezed ("hiii", "helloo", "thankss").

The vocabulary is data (the tables below); the rules are the few functions at the end.
"""

from __future__ import annotations

import re
from enum import StrEnum

from faq.normalize import normalize

__all__ = ["Talk", "is_complaint", "small_talk"]


class Talk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"  # goodbyes and acknowledgements: bye, ok, got it, 好的, 收到
    COMPLAINT = "complaint"


# Longer messages are never *only* small talk (a complaint still counts in them).
MAX_SMALL_TALK_CHARS = 80
MAX_SMALL_TALK_TOKENS = 12

_EN: dict[Talk | None, tuple[str, ...]] = {
    Talk.GREETING: (
        "hi",
        "hello",
        "hellow",
        "hallo",
        "helo",
        "hey",
        "heya",
        "hiya",
        "howdy",
        "yo",
        "sup",
        "whats up",
        "what is up",
        "greetings",
        "good morning",
        "morning",
        "gm",
        "good afternoon",
        "afternoon",
        "good evening",
        "evening",
        "good day",
        "anyone there",
        "anybody there",
        "is anyone there",
        "is anybody there",
        "are you there",
        "how are you",
        "how is it going",
        "how are you doing",
        "nihao",
        "ni hao",
        "hola",
    ),
    Talk.THANKS: (
        "thanks",
        "thank you",
        "thank",
        "thankyou",
        "thanku",
        "thanx",
        "thnks",
        "thnx",
        "tnx",
        "tks",
        "tq",
        "tysm",
        "many thanks",
        "cheers",
        "appreciate it",
        "appreciated",
        "much appreciated",
        "xiexie",
        "xie xie",
        "3q",
    ),
    Talk.GOODBYE: (
        "ok",
        "okay",
        "okey",
        "okie",
        "k",
        "alright",
        "all right",
        "cool",
        "great",
        "nice",
        "perfect",
        "awesome",
        "fine",
        "sure",
        "noted",
        "got it",
        "i see",
        "understood",
        "no problem",
        "no worries",
        "no complaints",
        "bye",
        "goodbye",
        "good bye",
        "bye bye",
        "see you",
        "see ya",
        "cya",
        "later",
        "good night",
        "take care",
        "have a nice day",
        "have a good day",
        "have a great day",
    ),
    # Fillers (None) carry no meaning of their own: "hi there", "thanks so much", 谢谢亲,
    # 你好呀. They never make a message small talk by themselves ("you" is not a greeting).
    None: (
        "there",
        "all",
        "everyone",
        "everybody",
        "guys",
        "team",
        "bot",
        "sir",
        "madam",
        "maam",
        "dear",
        "friend",
        "again",
        "so",
        "much",
        "very",
        "a",
        "lot",
        "you",
        "and",
        "oh",
        "ah",
        "um",
        "well",
        "just",
        "really",
        "for",
        "the",
        "your",
        "help",
        "reply",
        "answer",
        "info",
        "information",
        "everything",
        "that",
        "then",
        "now",
        "yes",
        "yeah",
        "yep",
        "lol",
        "haha",
        "hehe",
    ),
}

_ZH: dict[Talk | None, tuple[str, ...]] = {
    Talk.GREETING: (
        "你好",
        "您好",
        "你们好",
        "您们好",
        "大家好",
        "哈喽",
        "哈罗",
        "嗨",
        "嘿",
        "早上好",
        "早安",
        "早",
        "上午好",
        "中午好",
        "下午好",
        "晚上好",
        "在吗",
        "在么",
        "在嘛",
        "在不在",
        "有人吗",
        "有人在吗",
    ),
    Talk.THANKS: (
        "谢谢",
        "谢了",
        "谢啦",
        "多谢",
        "感谢",
        "感恩",
        "感激",
        "辛苦了",
        "辛苦",
        "麻烦了",
        "麻烦你了",
        "麻烦您了",
    ),
    Talk.GOODBYE: (
        "好的",
        "好滴",
        "好嘞",
        "好吧",
        "好了",
        "好",
        "嗯",
        "恩",
        "行",
        "行吧",
        "可以",
        "知道了",
        "明白",
        "明白了",
        "了解",
        "收到",
        "懂了",
        "没问题",
        "没事了",
        "再见",
        "拜拜",
        "晚安",
        "回头见",
    ),
    # Fillers (None) carry no meaning of their own: "hi there", "thanks so much", 谢谢亲,
    # 你好呀. They never make a message small talk by themselves ("you" is not a greeting).
    None: (
        "啊",
        "呀",
        "哦",
        "噢",
        "喔",
        "呢",
        "啦",
        "哈",
        "嘛",
        "吧",
        "哇",
        "哟",
        "的",
        "了",
        "亲",
        "老板",
        "你",
        "您",
        "你们",
        "大家",
        "美女",
        "帅哥",
        "小姐姐",
        "非常",
        "很",
        "太",
        "真",
        "万分",
        "请问",
        "一下",
        "帮忙",
        "帮助",
        "耐心",
        "回复",
        "解答",
    ),
}

# Complaints: a word that names one (Chinese, anywhere in the text), or an English phrase.
_ZH_COMPLAINT_RE = re.compile(
    r"投诉|差评|举报|维权|12315|消协|消费者协会|工商局|市场监管|曝光你们|骗子|黑店"
    r"|(?:服务|态度)(?:也|真|太|很|非常|超|极其|特别)?(?:差|烂|恶劣|垃圾)"
)
# "不是投诉", "没有差评", "不会给差评", "别投诉" are not complaints.
_ZH_NEGATED_RE = re.compile(
    r"(?:不|没|别|无)(?:是|想|会|要|用|打算|有)?(?:给|打|去|要|想|会|再)?$"
)
_EN_COMPLAINT_RE = re.compile(
    r"\b(?:"
    r"compl(?:ai|a)n(?:t|ts|ing|ed|s)?|"
    r"(?:a|file|make|lodge|raise|submit|my) compliant|"
    r"unacceptable|unaceptable|not acceptable|"
    r"scam(?:med|mer|mers)?|fraud|rip ?off|ripped off|cheated|"
    r"(?:terrible|horrible|awful|worst|bad|poor|disgusting|pathetic|lousy|rude|shitty|crappy|"
    r"appalling|useless) (?:customer )?(?:service|support|experience|shop|store|seller|staff|"
    r"attitude)|"
    r"(?:bad|negative|1 star|one star) (?:review|rating|feedback)|"
    r"report (?:you|this shop|your shop|this store|your store)|"
    r"consumer (?:protection|council|rights|association)"
    r")\b"
)
_EN_NEGATED_RE = re.compile(r"\b(?:no|not|never|nothing|without|none)(?: [a-z]+){0,2} $")

_SQUEEZE_RE = re.compile(r"([a-z])\1+")
_HAN_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _squeeze(token: str) -> str:
    """ "hiii" -> "hi", "helloo" -> "helo", "thankss" -> "thanks" (both sides squeezed)."""
    return _SQUEEZE_RE.sub(r"\1", token)


def _phrase_table(
    table: dict[Talk | None, tuple[str, ...]], *, latin: bool
) -> dict[str, Talk | None]:
    out: dict[str, Talk | None] = {}
    for talk, phrases in table.items():
        for phrase in phrases:
            key = " ".join(_squeeze(w) for w in normalize(phrase).split()) if latin else phrase
            out.setdefault(key, talk)
    return out


_EN_PHRASES = _phrase_table(_EN, latin=True)
_EN_LONGEST = max(len(p.split()) for p in _EN_PHRASES)
_ZH_PHRASES = _phrase_table(_ZH, latin=False)
_ZH_LONGEST = max(len(p) for p in _ZH_PHRASES)


def _negated(before: str, negation: re.Pattern[str]) -> bool:
    return negation.search(before) is not None


def _complaint_in(norm: str) -> bool:
    compact = norm.replace(" ", "")
    for m in _ZH_COMPLAINT_RE.finditer(compact):
        if not _negated(compact[max(0, m.start() - 4) : m.start()], _ZH_NEGATED_RE):
            return True
    for m in _EN_COMPLAINT_RE.finditer(norm):
        if not _negated(norm[: m.start()], _EN_NEGATED_RE):
            return True
    return False


def is_complaint(text: str) -> bool:
    """True when the message complains (anywhere in it, either language), not negated."""
    return _complaint_in(normalize(text[:2000]))


def _consume(
    units: list[str],
    table: dict[str, Talk | None],
    longest: int,
    sep: str,
    found: set[Talk | None],
) -> bool:
    """Cover `units` (Latin words, or the characters of a Han run) with phrases of `table`,
    longest first, adding what each phrase is to `found`; False when something is left."""
    i = 0
    while i < len(units):
        for size in range(min(longest, len(units) - i), 0, -1):
            phrase = sep.join(units[i : i + size])
            if phrase in table:
                found.add(table[phrase])
                i += size
                break
        else:
            return False
    return True


def small_talk(text: str) -> Talk | None:
    """What the message is when it is small talk, else None (a question for the matcher).

    A complaint anywhere wins; otherwise thanks beat a greeting ("hi, thanks!") and a
    greeting beats a goodbye ("ok hello")."""
    norm = normalize(text[:2000])
    if not norm:
        return None
    if _complaint_in(norm):
        return Talk.COMPLAINT
    tokens = norm.split()
    if len(text.strip()) > MAX_SMALL_TALK_CHARS or len(tokens) > MAX_SMALL_TALK_TOKENS:
        return None
    found: set[Talk | None] = set()
    latin: list[str] = []
    for token in tokens + [""]:  # "" flushes the last Latin run
        if token and not _HAN_RUN_RE.match(token):
            latin.append(_squeeze(token))
            continue
        if latin and not _consume(latin, _EN_PHRASES, _EN_LONGEST, " ", found):
            return None
        latin = []
        if token and not _consume(list(token), _ZH_PHRASES, _ZH_LONGEST, "", found):
            return None
    for talk in (Talk.THANKS, Talk.GREETING, Talk.GOODBYE):
        if talk in found:
            return talk
    return None
