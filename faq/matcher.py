"""FAQ matcher: bilingual lexical retrieval with a calibrated confidence.

Design (index built once in ``Matcher.__init__``, per query only the query is processed):

* Text -> :func:`faq.normalize.normalize` -> two sparse feature groups
  - "word" group: light-stemmed English content words, English stem bigrams, Chinese
    character unigrams (minus function characters) and bigrams, and *concept* features from a
    small bilingual synonym map (退货/return, 快递/物流/shipping/delivery, 发票/invoice ...)
    so that "我的order到哪了" meets "where is my order" and "我的订单到哪了".
  - "char" group: character 3-5-grams inside English words (typos, morphology), Chinese
    unigrams + bigrams.
* Unknown English words are corrected against the KB vocabulary (rapidfuzz, cached).
* Weights are TF-IDF with the document frequency counted over *entries* (a word used by every
  entry says nothing about which entry is meant), sublinear tf, L2 normalised.
* Per entry four similarities: best phrasing (word), best phrasing (char), entry centroid
  (word), entry centroid (char); combined linearly into an entry score. Candidates come from an
  inverted index over the word group; char similarities are computed only for candidates.
* Confidence = logistic(log score, log margin to the second entry, share of query words known
  to the KB, log share of the query the best entry covers, whether the two best entries are
  siblings (same topic), query length, script); see ``confidence_features``. The coefficients
  are fitted offline by ``bench/fit_confidence.py`` on the Bitext tuning half (+ the shop dev
  set when present) and shipped as constants below.
* The ``action: handoff`` entry is answered only by the explicit-request rule; a question
  that merely resembles it ("are you a bot?") is at most clarified.
* Numeric size questions are answered with ``size_recommendation`` and a SizeAdvice; explicit
  requests for a human are answered with the KB's ``action: handoff`` entry.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import repeat
from operator import add, itemgetter, mul, truediv

from rapidfuzz import fuzz, process

from faq.human import wants_human
from faq.kb import Entry, KnowledgeBase
from faq.normalize import detect_lang, normalize
from faq.sizing import SizeAdvice, advise
from faq.smalltalk import small_talk

__all__ = [
    "DEFAULT_ANSWER_THRESHOLD",
    "DEFAULT_CLARIFY_THRESHOLD",
    "Candidate",
    "MatchResult",
    "Matcher",
    "Outcome",
    "ScoredEntry",
]

# Thresholds on the calibrated confidence. At 0.70 bench/fit_confidence.py shows precision
# >= 97% on both tuning sets (Bitext tuning half, shop dev) for the scored path; lower
# thresholds buy shop coverage with wrong answers (out-of-scope questions answered).
DEFAULT_ANSWER_THRESHOLD = 0.70
DEFAULT_CLARIFY_THRESHOLD = 0.40

# Entry score = W_PW*phrase_word + W_PC*phrase_char + W_EW*entry_word + W_EC*entry_char.
# Grid-searched by bench/fit_confidence.py (best mean top-1 over the Bitext tuning half and
# the shop dev set, each weight >= 0.05).
W_PW = 0.10
W_PC = 0.05
W_EW = 0.75
W_EC = 0.10
# Logistic calibration, fitted by bench/fit_confidence.py (Newton's method, L2 1e-3, label =
# "top entry is the expected one", out-of-scope questions negative, both sets weighted equally):
# conf = sigmoid(sum(C[i] * confidence_features(...)[i])); see confidence_features for the terms.
CONF_COEFS: tuple[float, ...] = (3.890, 0.157, 0.522, -0.193, 1.973, 0.361, 0.868, 1.509, -0.245)

MAX_QUERY_CHARS = 1000  # longer messages are matched on their first 1000 characters
SIZE_ENTRY_ID = "size_recommendation"
RULE_CONFIDENCE = 0.97

_STOPWORDS = frozenset(
    """a an the i me my mine myself we us our you your yours it its this that these those
    is am are was were be been being do does did doing to of for in on at by with from and or
    but if so as than then there here some any please pls hi hello hey thanks thank dear
    can could would will shall should may might must just also too very really ok okay
    im ive id have has had he she they them their his her him one kind sir madam
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_ZH_STOP_CHARS = frozenset(
    "的了吗呢啊呀吧么嘛哦哈我你您他她它们是在有个这那就都也还请问想要能可以会怎么"
)
_HAN_RUN_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+$")
_LATIN_RE = re.compile(r"^[a-z][a-z0-9]*$")

# Bilingual concept map: surface form -> concept. English keys are matched on stems, Chinese
# keys as substrings of Chinese runs.
_CONCEPTS_EN: dict[str, tuple[str, ...]] = {
    "refund": ("refund", "reimburse", "reimbursement", "reimbursed", "repay", "repayment"),
    "return": ("return", "returning", "returned", "send back"),
    "exchange": ("exchange", "swap", "replace", "replacement"),
    "cancel": ("cancel", "cancellation", "cancelling", "canceling", "cancelled", "canceled"),
    "order": ("order", "purchase", "bought", "buy", "item", "package", "parcel"),
    "track": ("track", "tracking", "where", "status", "locate", "trace"),
    "ship": (
        "ship",
        "shipping",
        "shipped",
        "shipment",
        "delivery",
        "deliver",
        "delivered",
        "courier",
        "dispatch",
        "dispatched",
        "arrive",
        "arrival",
        "post",
        "mail",
    ),
    "fee": ("fee", "fees", "cost", "charge", "charges", "price", "postage", "penalty"),
    "time": ("long", "when", "days", "time", "soon", "fast", "quick", "period", "eta"),
    "invoice": ("invoice", "invoices", "bill", "bills", "billing", "receipt", "receipts"),
    "size": ("size", "sizes", "sizing", "fit", "fits", "measurements", "chart"),
    "pay": ("pay", "payment", "payments", "paid", "paying", "card", "paypal", "checkout"),
    "account": ("account", "profile", "accounts"),
    "password": ("password", "passcode", "pin", "login", "log", "signin"),
    "address": ("address", "addresses"),
    "human": (
        "human",
        "agent",
        "person",
        "representative",
        "operator",
        "someone",
        "somebody",
        "staff",
    ),
    "contact": ("contact", "reach", "call", "speak", "talk", "phone", "email"),
    "complaint": ("complaint", "complain", "dissatisfied", "unhappy", "claim"),
    "newsletter": ("newsletter", "subscribe", "subscription", "unsubscribe"),
    "review": ("review", "feedback", "opinion", "rate", "rating", "comment"),
    "discount": ("discount", "coupon", "promo", "voucher", "code", "sale"),
    "register": ("register", "registration", "signup", "create", "open", "sign"),
    "delete": ("delete", "remove", "close", "terminate", "deactivate"),
    "change": ("change", "modify", "edit", "update", "correct", "alter", "switch"),
    "damaged": ("broken", "damaged", "defective", "faulty", "torn"),
    "stock": ("stock", "available", "availability", "restock", "sold"),
    "stuck": ("stuck", "moving", "moved", "frozen", "late", "delayed", "overdue"),
    "shoe": (
        "shoe",
        "shoes",
        "sneaker",
        "sneakers",
        "boot",
        "boots",
        "trainers",
        "sandals",
        "heels",
    ),
    "sizesys": ("eu", "european", "uk", "conversion", "convert"),
    "overseas": (
        "international",
        "internationally",
        "overseas",
        "abroad",
        "country",
        "countries",
        "singapore",
        "malaysia",
        "japan",
        "korea",
        "taiwan",
        "macau",
        "australia",
        "canada",
        "europe",
        "usa",
        "america",
    ),
    "wash": ("wash", "washing", "washed", "clean", "iron", "dry", "shrink", "laundry"),
    "bot": ("bot", "robot", "chatbot", "ai"),
}
_CONCEPTS_ZH: dict[str, tuple[str, ...]] = {
    "refund": ("退款", "退钱", "返款", "钱退", "退费"),
    "return": ("退货", "退回", "寄回", "退换", "退"),
    "exchange": ("换货", "调换", "换"),
    "cancel": ("取消", "撤销", "不要了"),
    "order": ("订单", "下单", "买的", "购买", "包裹", "单号", "东西"),
    "track": ("到哪", "在哪", "查询", "追踪", "跟踪", "状态", "物流信息"),
    "ship": ("快递", "物流", "发货", "配送", "送货", "运输", "寄", "到货", "收到", "送到", "邮寄"),
    "fee": ("运费", "邮费", "费用", "多少钱", "收费", "手续费", "价格"),
    "time": ("多久", "几天", "什么时候", "多长时间", "时间", "多快", "几号"),
    "invoice": ("发票", "收据", "账单", "开票"),
    "size": ("尺码", "尺寸", "码数", "大小", "穿多大", "合身", "码"),
    "pay": ("付款", "支付", "付钱", "微信", "支付宝", "信用卡", "刷卡"),
    "account": ("账户", "账号", "帐号", "帐户"),
    "address": ("地址",),
    "human": ("人工", "真人", "客服", "活人"),
    "contact": ("联系", "电话", "邮箱"),
    "complaint": ("投诉", "不满", "差评"),
    "newsletter": ("订阅", "邮件列表"),
    "review": ("评价", "反馈", "评论", "意见"),
    "discount": ("优惠", "折扣", "优惠券", "优惠码", "折扣码", "打折", "促销", "券"),
    "register": ("注册", "开户"),
    "delete": ("删除", "注销"),
    "change": ("修改", "更改", "改", "更换", "变更"),
    "damaged": ("坏", "破损", "损坏", "质量问题", "瑕疵"),
    "stock": ("有货", "库存", "缺货", "补货", "没货", "断货", "断码", "售罄"),
    "stuck": ("卡住", "卡在", "卡着", "不动", "没动", "停在", "没更新", "不更新", "延误", "超时"),
    "shoe": ("鞋", "靴"),
    "sizesys": ("欧码", "美码", "英码", "国际码", "欧洲码", "换算"),
    "overseas": (
        "海外",
        "国外",
        "国际",
        "境外",
        "出国",
        "香港",
        "澳门",
        "台湾",
        "日本",
        "韩国",
        "新加坡",
        "马来西亚",
        "美国",
        "加拿大",
        "澳洲",
        "澳大利亚",
        "英国",
        "欧洲",
        "泰国",
    ),
    "wash": ("洗", "熨", "烘干", "缩水", "掉色", "褪色", "晾"),
    "bot": ("机器人", "机器"),
    "phone": ("手机号", "电话号码", "号码"),
    "password": ("密码", "登录", "登陆", "验证码"),
}


def stem(word: str) -> str:
    """A deliberately light English suffix stripper (consistent, not linguistic)."""
    w = word
    if len(w) > 4:
        for suf, rep in (
            ("ations", ""), ("ation", ""), ("ements", ""), ("ement", ""), ("ments", ""),
            ("ment", ""), ("ings", ""), ("ing", ""), ("ied", "y"), ("ies", "y"), ("edly", ""),
            ("ed", ""), ("es", ""), ("s", ""),
        ):  # fmt: skip
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                if suf == "s" and w.endswith(("ss", "us", "is")):
                    break
                if suf == "es" and not w.endswith(("sses", "xes", "ches", "shes", "zes")):
                    w = w[:-1]
                    break
                w = w[: -len(suf)] + rep
                break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeious":
        w = w[:-1]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


_EN_CONCEPT_BY_STEM: dict[str, str] = {}
_EN_CONCEPT_BIGRAMS: dict[tuple[str, str], str] = {}
for _concept, _words in _CONCEPTS_EN.items():
    for _w in _words:
        _parts = _w.split()
        if len(_parts) == 1:
            _EN_CONCEPT_BY_STEM.setdefault(stem(_w), _concept)
        else:
            _EN_CONCEPT_BIGRAMS[(stem(_parts[0]), stem(_parts[1]))] = _concept
_ZH_CONCEPT_BY_TERM: dict[str, str] = {}
for _concept, _terms in _CONCEPTS_ZH.items():
    for _t in _terms:
        _ZH_CONCEPT_BY_TERM.setdefault(_t, _concept)
_ZH_TERM_LENS: tuple[int, ...] = tuple(sorted({len(t) for t in _ZH_CONCEPT_BY_TERM}, reverse=True))


def _zh_concepts(run: str) -> list[str]:
    """Concepts in a Chinese run, longest term first, left to right, without overlaps.

    "密码" is a password, not a size (码); "优惠码" a discount code.
    """
    out: list[str] = []
    i, n = 0, len(run)
    get = _ZH_CONCEPT_BY_TERM.get
    while i < n:
        for ln in _ZH_TERM_LENS:
            if i + ln <= n:
                concept = get(run[i : i + ln])
                if concept is not None:
                    out.append(concept)
                    i += ln
                    break
        else:
            i += 1
    return out


_ALL_CONCEPT_WORDS: frozenset[str] = frozenset(
    w for words in _CONCEPTS_EN.values() for phrase in words for w in phrase.split()
)


class Outcome(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    confidence: float


@dataclass(frozen=True)
class MatchResult:
    outcome: Outcome
    lang: str
    confidence: float
    entry: Entry | None
    candidates: tuple[Candidate, ...]
    size_advice: SizeAdvice | None = None
    # How it was decided: "rule" (size numbers, a request for a person), "lexical" (word
    # overlap only) or "semantic" (the embedding model took part).
    route: str = "lexical"


@dataclass(frozen=True)
class ScoredEntry:
    """Diagnostics for one entry (used by the calibration script and tests)."""

    entry_index: int
    score: float
    phrase_word: float
    phrase_char: float
    entry_word: float
    entry_char: float
    coverage: float = 0.0  # share of the query's word-group weight (squared) the entry knows


@dataclass(frozen=True)
class Analysis:
    """Ranked entries plus the calibration features for one query."""

    ranked: tuple[ScoredEntry, ...]
    known: float  # share of query content words known to the KB (0..1)
    has_features: bool
    n_content: int = 0  # content tokens in the query (English words + Chinese runs' chars)
    zh_share: float = 0.0  # share of those that are Chinese characters
    # The query's content units (English stems, Chinese bigrams; typos corrected) with
    # their idf: what `Matcher.novelty` weighs against an entry's words.
    units: tuple[tuple[str, float], ...] = ()

    @property
    def score(self) -> float:
        return self.ranked[0].score if self.ranked else 0.0

    @property
    def margin(self) -> float:
        if not self.ranked:
            return 0.0
        second = self.ranked[1].score if len(self.ranked) > 1 else 0.0
        return self.ranked[0].score - second


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def confidence_features(
    score: float,
    margin: float,
    known: float,
    coverage: float,
    siblings: bool,
    n_content: int,
    zh_share: float,
) -> tuple[float, ...]:
    """Calibration inputs, comparable across KBs of very different shapes.

    Logs of the score, the margin to the runner-up and the query coverage (a KB with many
    varied phrasings per entry gives lower raw scores than one with five near-identical ones,
    but the ratios behave alike); the share of query words the KB knows (and a penalty below
    0.6); whether the two best entries share a topic (close siblings such as return_policy /
    how_to_return: prefer to clarify); query length and script.
    """
    return (
        1.0,
        math.log(max(score, 1e-3)),
        math.log(max(margin, 5e-3)),
        known,
        math.log(max(coverage, 0.02)),
        1.0 if siblings else 0.0,
        min(n_content, 12) / 12.0,
        zh_share,
        max(0.0, 0.6 - known),
    )


def calibrate(features: tuple[float, ...]) -> float:
    """The shipped logistic calibration (coefficients fitted by bench/fit_confidence.py)."""
    return _sigmoid(sum(c * f for c, f in zip(CONF_COEFS, features, strict=True)))


Vector = dict[str, float]


def _tf_features(
    tokens: list[str],
) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Raw term counts for the word and char groups, plus the English content words."""
    word: dict[str, int] = defaultdict(int)
    char: dict[str, int] = defaultdict(int)
    content: list[str] = []
    prev_stem: str | None = None
    for tok in tokens:
        if _HAN_RUN_RE.match(tok):
            prev_stem = None
            for concept in _zh_concepts(tok):
                word["c:" + concept] += 1
            n = len(tok)
            for i, ch in enumerate(tok):
                if ch not in _ZH_STOP_CHARS:
                    word["z:" + ch] += 1
                    char["z:" + ch] += 1
                if i + 1 < n:
                    bg = tok[i : i + 2]
                    word["z:" + bg] += 1
                    char["z:" + bg] += 1
            continue
        if not _LATIN_RE.match(tok) or tok in _STOPWORDS:
            if tok in _STOPWORDS:
                prev_stem = None
            continue
        content.append(tok)
        s = stem(tok)
        word["w:" + s] += 1
        w_concept = _EN_CONCEPT_BY_STEM.get(s)
        if w_concept is not None:
            word["c:" + w_concept] += 1
        if prev_stem is not None:
            word["b:" + prev_stem + "_" + s] += 1
            bconcept = _EN_CONCEPT_BIGRAMS.get((prev_stem, s))
            if bconcept is not None:
                word["c:" + bconcept] += 1
        prev_stem = s
        padded = f" {tok} "
        m = len(padded)
        for size in (3, 4, 5):
            for i in range(m - size + 1):
                char[padded[i : i + size]] += 1
    return word, char, content


def _weigh(counts: dict[str, int], idf: dict[str, float], default_idf: float) -> Vector:
    vec: Vector = {}
    for f, c in counts.items():
        w = (1.0 + math.log(c)) * idf.get(f, default_idf)
        if w > 0:
            vec[f] = w
    values = vec.values()
    norm = math.sqrt(sum(map(mul, values, values)))
    if norm == 0:
        return {}
    return dict(zip(vec, map(truediv, values, repeat(norm)), strict=True))


def _dot(q: Vector, d: Vector) -> float:
    if len(q) > len(d):
        q, d = d, q
    # Same terms, same order as ``sum(v * d.get(f, 0.0) for f, v in q.items())`` (so the
    # result is bit-identical), without a generator frame per term.
    total: float = sum(map(mul, q.values(), map(d.get, q, repeat(0.0))))
    return total


_SECOND = itemgetter(1)


def _split_postings(
    postings: list[tuple[int, float]],
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    return tuple(i for i, _ in postings), tuple(w for _, w in postings)


def _accumulate(
    scores: dict[int, float], postings: tuple[tuple[int, ...], tuple[float, ...]], v: float
) -> None:
    """``scores[i] = scores.get(i, 0.0) + v * w`` for every posting, in posting order.

    Same operations in the same order as the plain loop (so bit-identical sums and the same
    key insertion order), but run by C iterators: ids are unique within one posting list, so
    each read sees the value from before this list.
    """
    ids, weights = postings
    if not scores:  # the plain loop would add each product to 0.0, and 0.0 + x == x
        scores.update(zip(ids, map(mul, repeat(v), weights), strict=True))
        return
    scores.update(
        zip(
            ids,
            map(add, map(scores.get, ids, repeat(0.0)), map(mul, repeat(v), weights)),
            strict=True,
        )
    )


def decide(
    confidence: float, *, handoff: bool, answer_threshold: float, clarify_threshold: float
) -> Outcome:
    """Answer, buttons or a person for a (rounded) confidence. The handoff entry is never
    answered by resemblance (only the explicit-request rule answers it): a message that
    merely resembles it ("are you a bot?") gets buttons, not a transfer."""
    if confidence >= answer_threshold and not handoff:
        return Outcome.ANSWER
    if confidence >= clarify_threshold:
        return Outcome.CLARIFY
    return Outcome.HANDOFF


def _is_unit(feature: str) -> bool:
    """An English stem or a Chinese bigram (not a concept, a bigram of stems or one Han
    character): a word the question asks about."""
    return feature.startswith("w:") or (feature.startswith("z:") and len(feature) == 4)


def novelty(units: Iterable[tuple[str, float]], vocabulary: frozenset[str]) -> float:
    """The idf-weighted share of a question's content units that an entry's vocabulary
    lacks: near 0 when the entry talks about everything asked, 1 when about none of it."""
    total = missing = 0.0
    for unit, weight in units:
        total += weight
        if unit not in vocabulary:
            missing += weight
    return missing / total if total else 0.0


def _centroid(vectors: Iterable[Vector]) -> Vector:
    acc: dict[str, float] = defaultdict(float)
    for vec in vectors:
        for f, v in vec.items():
            acc[f] += v
    norm = math.sqrt(sum(v * v for v in acc.values()))
    return {f: v / norm for f, v in acc.items()} if norm else {}


class Matcher:
    """Match customer questions to KB entries. Thread-safe for concurrent ``match`` calls."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
        clarify_threshold: float = DEFAULT_CLARIFY_THRESHOLD,
        candidate_entries: int = 8,
        posting_limit: int = 256,
    ) -> None:
        if not 0.0 <= clarify_threshold <= answer_threshold <= 1.0:
            raise ValueError("need 0 <= clarify_threshold <= answer_threshold <= 1")
        self.kb = kb
        self.answer_threshold = answer_threshold
        self.clarify_threshold = clarify_threshold
        self._k = candidate_entries
        self._entries: tuple[Entry, ...] = kb.entries
        self._size_entry = kb.get(SIZE_ENTRY_ID)
        self._handoff_entry = kb.handoff_entry()

        # Pass 1: raw features of every phrasing.
        phrase_entry: list[int] = []
        raw_word: list[dict[str, int]] = []
        raw_char: list[dict[str, int]] = []
        vocab: set[str] = set(_ALL_CONCEPT_WORDS)
        for ei, entry in enumerate(self._entries):
            for _lang, question in entry.all_questions():
                tokens = normalize(question).split()
                w, c, content = _tf_features(tokens)
                if not w and not c:
                    continue
                vocab.update(content)
                phrase_entry.append(ei)
                raw_word.append(w)
                raw_char.append(c)
        self._vocab: frozenset[str] = frozenset(vocab)
        self._vocab_list: list[str] = sorted(v for v in vocab if len(v) >= 4)
        self._correction_cache: dict[str, str | None] = {}

        # Document frequency over entries.
        n_entries = max(1, len(self._entries))
        df_word: dict[str, set[int]] = defaultdict(set)
        df_char: dict[str, set[int]] = defaultdict(set)
        for ei, w, c in zip(phrase_entry, raw_word, raw_char, strict=True):
            for f in w:
                df_word[f].add(ei)
            for f in c:
                df_char[f].add(ei)
        self._idf_word = {f: math.log(1.0 + n_entries / len(s)) for f, s in df_word.items()}
        self._idf_char = {f: math.log(1.0 + n_entries / len(s)) for f, s in df_char.items()}
        # Query features the KB never uses get the highest idf: they match nothing but keep
        # their share of the query norm, so "what is the meaning of life" is not a perfect
        # match for "what size should I get".
        self._default_idf = math.log(1.0 + n_entries)

        self._phrase_entry = phrase_entry
        self._p_word = [_weigh(w, self._idf_word, 0.0) for w in raw_word]
        self._p_char = [_weigh(c, self._idf_char, 0.0) for c in raw_char]
        by_entry: dict[int, list[int]] = defaultdict(list)
        for pi, ei in enumerate(phrase_entry):
            by_entry[ei].append(pi)
        self._entry_phrases: dict[int, list[int]] = dict(by_entry)
        self._e_word: dict[int, Vector] = {
            ei: _centroid(self._p_word[p] for p in ps) for ei, ps in by_entry.items()
        }
        self._e_char: dict[int, Vector] = {
            ei: _centroid(self._p_char[p] for p in ps) for ei, ps in by_entry.items()
        }
        # Inverted indexes over the word group (phrasings and entry centroids).
        post_p: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for pi, vec in enumerate(self._p_word):
            for f, v in vec.items():
                post_p[f].append((pi, v))
        post_e: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for ei, vec in self._e_word.items():
            for f, v in vec.items():
                post_e[f].append((ei, v))
        # Impact-ordered and truncated: stage 1 only walks the strongest postings of each
        # feature (a frequent feature has a low, nearly uniform weight anyway); candidates are
        # then re-scored exactly. Small KBs are never truncated.
        # Stored as parallel (ids, weights) tuples so the query side can multiply and insert
        # them at C speed.
        self._post_phrase: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
            f: _split_postings(sorted(lst, key=lambda t: -t[1])[:posting_limit])
            for f, lst in post_p.items()
        }
        self._post_entry: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
            f: _split_postings(sorted(lst, key=lambda t: -t[1])[:posting_limit])
            for f, lst in post_e.items()
        }

    # ------------------------------------------------------------------ query side
    def _correct(self, token: str) -> str | None:
        if token in self._correction_cache:
            return self._correction_cache[token]
        fixed: str | None = None
        if len(token) >= 5 and self._vocab_list:
            cutoff = 80.0 if len(token) >= 6 else 84.0
            best = process.extractOne(
                token, self._vocab_list, scorer=fuzz.ratio, score_cutoff=cutoff
            )
            if best is not None:
                fixed = str(best[0])
        if len(self._correction_cache) < 50_000:
            self._correction_cache[token] = fixed
        return fixed

    def _query_tokens(self, norm: str) -> tuple[list[str], float, int, float]:
        """Tokens (typos corrected), share of content known to the KB, content size, zh share.

        English content words count 1 each; a Chinese non-function character counts 1/2 (a
        Chinese word is about two characters) and is known when one of its bigrams (or the
        character itself, in a one-character run) occurs in the KB.
        """
        tokens = norm.split()
        out: list[str] = []
        n_en = known_en = 0
        n_zh = known_zh = 0
        idf = self._idf_word
        for tok in tokens:
            if _LATIN_RE.match(tok) and tok not in _STOPWORDS and not tok.isdigit():
                n_en += 1
                if tok in self._vocab:
                    known_en += 1
                else:
                    fixed = self._correct(tok)
                    if fixed is not None:
                        known_en += 1
                        tok = fixed
            elif _HAN_RUN_RE.match(tok):
                n = len(tok)
                for i, ch in enumerate(tok):
                    if ch in _ZH_STOP_CHARS:
                        continue
                    n_zh += 1
                    if (
                        (i > 0 and ("z:" + tok[i - 1 : i + 1]) in idf)
                        or (i + 1 < n and ("z:" + tok[i : i + 2]) in idf)
                        or (n == 1 and ("z:" + ch) in idf)
                    ):
                        known_zh += 1
            out.append(tok)
        size = n_en + 0.5 * n_zh
        known = (known_en + 0.5 * known_zh) / size if size else 0.0
        zh_share = 0.5 * n_zh / size if size else 0.0
        return out, known, n_en + (n_zh + 1) // 2, zh_share

    def analyze(self, text: str) -> Analysis:
        """Score the entries for ``text`` (no thresholds applied)."""
        norm = normalize(text[:MAX_QUERY_CHARS])
        tokens, known, n_content, zh_share = self._query_tokens(norm)
        w_counts, c_counts, _ = _tf_features(tokens)
        qw = _weigh(w_counts, self._idf_word, self._default_idf)
        qc = _weigh(c_counts, self._idf_char, self._default_idf)
        units = tuple(
            (f, self._idf_word.get(f, self._default_idf)) for f in w_counts if _is_unit(f)
        )
        if not qw and not qc:
            return Analysis(
                ranked=(), known=known, has_features=False, n_content=n_content, units=units
            )
        # Stage 1: word-group scores through the inverted indexes.
        p_scores: dict[int, float] = {}
        e_scores: dict[int, float] = {}
        post_p, post_e = self._post_phrase, self._post_entry
        for f, v in qw.items():
            postings = post_p.get(f)
            if postings is not None:
                _accumulate(p_scores, postings, v)
            postings = post_e.get(f)
            if postings is not None:
                _accumulate(e_scores, postings, v)
        # Candidate phrasings: the best approximate phrase scores; candidate entries: the best
        # approximate entry scores plus the entries of the best phrasings.
        pe = self._phrase_entry
        top_phrases = heapq.nlargest(4 * self._k, p_scores.items(), key=_SECOND)
        phrases_for: dict[int, list[int]] = defaultdict(list)
        for pi, _s in top_phrases:
            phrases_for[pe[pi]].append(pi)
        prelim: dict[int, float] = dict(
            zip(e_scores, map(mul, repeat(W_EW), e_scores.values()), strict=True)
        )
        for ei, pis in phrases_for.items():
            prelim[ei] = prelim.get(ei, 0.0) + (W_PW + W_PC) * p_scores[pis[0]]
        if qc and len(prelim) < self._k:
            # Nothing (or little) in the word group matched: fall back to char centroids.
            for ei, vec in self._e_char.items():
                if ei not in prelim:
                    s = _dot(qc, vec)
                    if s > 0:
                        prelim[ei] = W_EC * s
        cands = heapq.nlargest(self._k, prelim.items(), key=_SECOND)
        # Stage 2: exact similarities for the candidates.
        p_word, p_char, e_word, e_char = self._p_word, self._p_char, self._e_word, self._e_char
        ranked: list[ScoredEntry] = []
        for ei, _pre in cands:
            own = self._entry_phrases.get(ei, [])
            plist = own if len(own) <= 32 else list(dict.fromkeys(phrases_for[ei] + own[:32]))
            if qw:
                by_word = sorted([(_dot(qw, p_word[p]), p) for p in plist], reverse=True)
                pw = by_word[0][0]
                plist = [p for _s, p in by_word[:3]]
            else:
                pw = 0.0
            pc = max([_dot(qc, p_char[p]) for p in plist]) if qc else 0.0
            ew = _dot(qw, e_word[ei]) if qw else 0.0
            ec = _dot(qc, e_char[ei]) if qc else 0.0
            ew_vec = e_word[ei]
            cov = sum(v * v for f, v in qw.items() if f in ew_vec)
            score = W_PW * pw + W_PC * pc + W_EW * ew + W_EC * ec
            ranked.append(
                ScoredEntry(
                    entry_index=ei,
                    score=score,
                    phrase_word=pw,
                    phrase_char=pc,
                    entry_word=ew,
                    entry_char=ec,
                    coverage=cov,
                )
            )
        ranked.sort(key=lambda r: -r.score)
        return Analysis(
            ranked=tuple(ranked),
            known=known,
            has_features=True,
            n_content=n_content,
            zh_share=zh_share,
            units=units,
        )

    def known_words(self, text: str) -> float:
        """How many of the content words of `text` the FAQ knows (a Chinese character counts
        half); cheaper than `analyze` (no scoring)."""
        _tokens, known, n_content, _zh = self._query_tokens(normalize(text[:MAX_QUERY_CHARS]))
        return known * n_content

    def vocabulary(self, texts: Iterable[str]) -> frozenset[str]:
        """The content units (English stems, Chinese bigrams) of `texts`, uncorrected: what
        an entry's phrasings and answer talk about."""
        out: set[str] = set()
        for text in texts:
            w_counts, _c, _content = _tf_features(normalize(text[:MAX_QUERY_CHARS]).split())
            out.update(f for f in w_counts if _is_unit(f))
        return frozenset(out)

    @property
    def uses_model(self) -> bool:
        """The lexical matcher runs no model: cheap enough for the event loop."""
        return False

    def match(self, text: str) -> MatchResult:
        """Match one customer message."""
        return self.match_detailed(text)[0]

    def match_detailed(self, text: str) -> tuple[MatchResult, Analysis | None]:
        """`match`, with the entry scores behind it (None when a rule decided)."""
        lang = detect_lang(text[:MAX_QUERY_CHARS])
        advice = advise(text, self.kb.size_chart) if self.kb.size_chart is not None else None
        if advice is not None and self._size_entry is not None:
            return MatchResult(
                outcome=Outcome.ANSWER,
                lang=lang,
                confidence=RULE_CONFIDENCE,
                entry=self._size_entry,
                candidates=(Candidate(self._size_entry, RULE_CONFIDENCE),),
                size_advice=advice,
                route="rule",
            ), None
        if self._handoff_entry is not None and wants_human(text):
            return MatchResult(
                outcome=Outcome.ANSWER,
                lang=lang,
                confidence=RULE_CONFIDENCE,
                entry=self._handoff_entry,
                candidates=(Candidate(self._handoff_entry, RULE_CONFIDENCE),),
                route="rule",
            ), None
        if small_talk(text) is not None:
            # Greetings, thanks and complaints are not FAQ questions: the bot answers them
            # before matching (support/assistant.py); here they are never an FAQ answer.
            return MatchResult(Outcome.HANDOFF, lang, 0.0, None, (), advice, route="rule"), None
        analysis = self.analyze(text)
        if not analysis.ranked:
            return MatchResult(Outcome.HANDOFF, lang, 0.0, None, (), advice), analysis
        top = analysis.ranked[0]
        ranked = analysis.ranked
        entries = self._entries
        second_topic = entries[ranked[1].entry_index].topic if len(ranked) > 1 else None
        conf = calibrate(
            confidence_features(
                top.score,
                analysis.margin,
                analysis.known,
                top.coverage,
                entries[top.entry_index].topic == second_topic,
                analysis.n_content,
                analysis.zh_share,
            )
        )
        cands: list[Candidate] = []
        for i, r in enumerate(ranked[:3]):
            if i > 0 and r.score < 0.5 * top.score:
                break
            # Runner-up confidence: same calibration with a zero margin, capped by the best.
            c = conf
            if i > 0:
                c = min(
                    conf,
                    calibrate(
                        confidence_features(
                            r.score,
                            0.0,
                            analysis.known,
                            r.coverage,
                            True,
                            analysis.n_content,
                            analysis.zh_share,
                        )
                    ),
                )
            cands.append(Candidate(entries[r.entry_index], round(c, 4)))
        best = self._entries[top.entry_index]
        # Decide on the confidence that is reported: shown at 0.70 against 0.70 answers.
        conf = round(conf, 4)
        outcome = decide(
            conf,
            handoff=best is self._handoff_entry,
            answer_threshold=self.answer_threshold,
            clarify_threshold=self.clarify_threshold,
        )
        return MatchResult(
            outcome=outcome,
            lang=lang,
            confidence=round(conf, 4),
            entry=best,
            candidates=tuple(cands),
            size_advice=advice,
        ), analysis
