"""Rule that detects a customer explicitly asking for a human agent (both languages)."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from faq.normalize import normalize

__all__ = ["wants_human"]

# Words that on their own mean "a person, not the bot".
_EN_HUMAN_WORDS = ("human", "agent", "representative", "operator", "person", "somebody", "someone")
_EN_STRONG_RE = re.compile(
    r"\b(?:"
    r"human(?: being| agent| support| help)?|"
    r"real (?:person|people|human|agent|someone)|live (?:person|agent|chat|support)|"
    r"actual (?:person|human)|representative|rep|operator|"
    r"(?:talk|speak|chat) (?:to|with) (?:someone|somebody|anyone|a person|a real|a human|"
    r"an agent|an actual|staff|people|a rep)|"
    r"(?:transfer|connect|put) me (?:to|through)|escalate"
    r")\b"
)
_EN_AGENT_RE = re.compile(r"\bagents?\b")
_EN_SERVICE_RE = re.compile(
    r"\b(?:customer (?:service|support|care)|support team|staff|manager)\b"
)
_EN_REQUEST_RE = re.compile(
    r"\b(?:talk|speak|contact|connect|transfer|reach|call|get|want|need|chat|give|let|"
    r"put|escalate|request|wanna)\b"
)
_EN_NOT_REQUEST_RE = re.compile(
    r"\b(?:hours?|open|opening|closed?|schedule|time|(?:what|which|opening) times|when|"
    r"weekend|holiday|"
    r"hair|resources|rights|nature|body|travel|user agent|shipping agent)\b"
)
_EN_NEGATED_RE = re.compile(r"\b(?:do not|dont|no need|not) (?:want|need)\b")

_ZH_STRONG = ("人工", "真人", "活人", "找个人", "找人工", "来个人", "人来", "真的人", "人类客服")
_ZH_NOT_STRONG = ("人工智能", "人工费", "人工合成")
_ZH_SERVICE = ("客服", "售后", "工作人员", "店长", "掌柜", "小二")
_ZH_REQUEST = (
    "找",
    "要",
    "转",
    "联系",
    "接",
    "叫",
    "呼叫",
    "让",
    "给我",
    "在吗",
    "在不在",
    "有没有",
    "能不能",
    "跟",
    "和",
    "请",
    "帮我",
)
_ZH_NOT_REQUEST = (
    "时间",
    "几点",
    "上班",
    "下班",
    "营业",
    "什么时候",
    "多久",
    "周末",
    "节假日",
    "工作日",
    "电话是",
)
_ZH_NEGATED = (
    "不要人工",
    "不用人工",
    "不需要人工",
    "不要客服",
    "不用客服",
    "不需要客服",
    "不用转",
)


def _fuzzy_human_word(tokens: list[str]) -> bool:
    """Typo-tolerant match of the strong English words ("humna", "agnet", "reprsentative")."""
    for tok in tokens:
        if len(tok) < 5:
            continue
        for word in ("human", "representative", "operator"):
            if abs(len(tok) - len(word)) <= 2 and fuzz.ratio(tok, word) >= 80:
                return True
    return False


def wants_human(text: str) -> bool:
    """True when the message asks to talk to a human (agent / 人工 / 真人 / 客服 ...).

    Questions *about* customer service ("customer service hours?", "客服几点上班") do not
    count, nor do negated requests ("不用转人工").
    """
    norm = normalize(text[:1000])
    if not norm:
        return False
    compact = norm.replace(" ", "")
    # Chinese
    if any(neg in compact for neg in _ZH_NEGATED):
        return False
    strong_zh = any(w in compact for w in _ZH_STRONG) and not any(
        w in compact for w in _ZH_NOT_STRONG
    )
    if strong_zh and not any(w in compact for w in ("时间", "几点", "上班")):
        return True
    if any(w in compact for w in _ZH_SERVICE):
        if any(w in compact for w in _ZH_NOT_REQUEST):
            return False
        stripped = compact
        for w in ("吗", "呢", "啊", "呀", "哦", "我", "的", "了", "你好", "您好"):
            stripped = stripped.replace(w, "")
        if stripped in _ZH_SERVICE or any(w in compact for w in _ZH_REQUEST):
            return True
    # English
    if _EN_NEGATED_RE.search(norm) and not re.search(r"\bbut\b", norm):
        return False
    not_request = _EN_NOT_REQUEST_RE.search(norm) is not None
    if _EN_STRONG_RE.search(norm) and not not_request:
        return True
    if _EN_AGENT_RE.search(norm) and not not_request:
        return True
    if _EN_SERVICE_RE.search(norm) and _EN_REQUEST_RE.search(norm) and not not_request:
        return True
    tokens = norm.split()
    if not not_request and _fuzzy_human_word(tokens):
        return True
    # "human" / "agent" alone or with filler ("human pls", "AGENT!!")
    return bool(tokens) and len(tokens) <= 3 and any(t in _EN_HUMAN_WORDS for t in tokens)
