"""FAQ matching with a sentence-embedding model beside the lexical matcher.

The decision, per question (docs/faq.md explains why):

1. **Rules** (the lexical matcher's): size numbers answer with a size, a request for a
   person goes to a person. No model.
2. **Lexical fast path**: when the lexical matcher's own confidence is at least
   ``FAST_THRESHOLD``, its answer stands and the model is not run. On the tuning FAQs
   these answers were right 98-99% of the time on a rich FAQ, and they are the cheap ones:
   the model costs 15-50 ms a question on one core, the lexical matcher about one.
3. **Fusion**: otherwise the question is embedded (at most ``QUERY_TOKENS`` tokens of it:
   for a long message, the run of sentences with the most words the FAQ knows) and every
   entry gets ``W_SQ * best phrasing cosine + W_SA * answer cosine + W_LEX * lexical
   score``. The entry with the highest wins; the confidence is a logistic function of
   features that mean the same on any FAQ (the margin to the runner-up, the cosines, whether
   the lexical matcher agrees and how sure it is, how much of the question the FAQ's words
   know, the question's length, how many of its words the entry never uses), fitted by
   ``bench/fit_semantic.py`` on some FAQs and reported on others.
4. **Refusal guard**: a question nearer to one of ``faq.offtopic``'s sentences (small talk,
   world knowledge, what a policy FAQ rarely answers) than to any phrasing of the winning
   entry is never answered (buttons at most).

The model, the KB's vectors (cached on disk by :class:`faq.embedding.EmbeddingCache`) and
this module are pure computation: no network, no database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from faq.embedding import CACHE_FILE, Embedder, EmbeddingCache, Kind, Vectors, embed_as
from faq.kb import Entry, KnowledgeBase
from faq.matcher import (
    Analysis,
    Candidate,
    Matcher,
    MatchResult,
    Outcome,
    decide,
    novelty,
)
from faq.offtopic import NEEDS_A_PERSON, OFF_TOPIC

__all__ = [
    "DEFAULT_ANSWER_THRESHOLD",
    "DEFAULT_CLARIFY_THRESHOLD",
    "FAST_THRESHOLD",
    "Evidence",
    "HybridMatcher",
    "SemanticFeatures",
    "fuse",
    "has_cache",
    "semantic_confidence",
]

# Lexical confidence at which the lexical answer stands without the model.
FAST_THRESHOLD = 0.90
# Entry score weights (bench/fit_semantic.py: best mean top-1 on the tuning FAQs).
W_SQ = 0.7  # best cosine between the question and one of the entry's phrasings
W_SA = 0.6  # cosine between the question and the entry's answer (as a passage)
W_LEX = 0.1  # the lexical matcher's entry score
# conf = sigmoid(SEM_COEFS . (1, margin, sq, sa, lex_agree, known, log_len, novel)); fitted by
# bench/fit_semantic.py (see SemanticFeatures for the terms).
SEM_COEFS: tuple[float, ...] = (-14.928, 54.597, 9.043, 8.935, 1.046, -0.077, 0.874, -4.156)
DEFAULT_ANSWER_THRESHOLD = 0.80
DEFAULT_CLARIFY_THRESHOLD = 0.10
# Confidence ceiling for a question nearer to small talk / world knowledge than to the FAQ.
OFF_TOPIC_CAP = 0.5
# Tokens of the question the model reads (its cost grows with them: about 18 ms for a short
# question, 35 ms at 24 tokens on one core here; docs/BENCHMARKS.md).
QUERY_TOKENS = 24
MAX_PIECES = 8  # sentences of a long message scored to choose the one the model reads

_SENTENCE_RE = re.compile(r"(?<=[。！？!?；;\n])|(?<=[.,，、])\s+")


@dataclass(frozen=True, slots=True)
class SemanticFeatures:
    """What the confidence is computed from, for the best entry by fused score."""

    margin: float  # fused score of the best entry minus the runner-up's
    sq: float  # best phrasing cosine of the best entry
    sa: float  # answer cosine of the best entry
    lex_agree: float  # the lexical confidence when its best entry is the same, else 0
    known: float  # share of the question's words the FAQ knows (lexical analysis)
    log_len: float  # log(1 + content words)
    novel: float  # idf-weighted share of the question's words the entry never uses

    def vector(self) -> tuple[float, ...]:
        return (
            1.0,
            self.margin,
            self.sq,
            self.sa,
            self.lex_agree,
            self.known,
            self.log_len,
            self.novel,
        )


def semantic_confidence(f: SemanticFeatures, coefs: Sequence[float] = SEM_COEFS) -> float:
    x = sum(c * v for c, v in zip(coefs, f.vector(), strict=True))
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the model and the lexical matcher say about every entry, for one question."""

    sq: Vectors  # per entry: best cosine with one of its phrasings
    sa: Vectors  # per entry: cosine with its answer
    lexical: Vectors  # per entry: the lexical matcher's score (0 when not a candidate)
    lexical_best: int  # the lexical matcher's best entry (-1: none)
    lexical_confidence: float
    known: float
    n_content: int
    off_topic: float  # best cosine with an OFF_TOPIC sentence
    units: tuple[tuple[str, float], ...]  # the question's content units and their idf
    vocabularies: Sequence[frozenset[str]]  # per entry: the units of its phrasings and answer


@dataclass(frozen=True, slots=True)
class Scored:
    order: tuple[int, ...]  # the three best entry indexes, best first
    fused: Vectors  # per entry
    features: SemanticFeatures


def fuse(ev: Evidence, weights: tuple[float, float, float] = (W_SQ, W_SA, W_LEX)) -> Scored:
    """Fused entry scores and the best entry's features (the matcher's and the fit's)."""
    w_sq, w_sa, w_lex = weights
    fused = w_sq * ev.sq + w_sa * ev.sa + w_lex * ev.lexical
    order = tuple(int(i) for i in np.argsort(-fused, kind="stable")[:3])
    top = order[0]
    second = float(fused[order[1]]) if len(order) > 1 else 0.0
    features = SemanticFeatures(
        margin=float(fused[top]) - second,
        sq=float(ev.sq[top]),
        sa=float(ev.sa[top]),
        lex_agree=ev.lexical_confidence if ev.lexical_best == top else 0.0,
        known=ev.known,
        log_len=math.log1p(ev.n_content),
        novel=novelty(ev.units, ev.vocabularies[top]),
    )
    return Scored(order, fused, features)


class HybridMatcher:
    """The lexical matcher, with an embedding model for what it is not sure of."""

    def __init__(
        self,
        kb: KnowledgeBase,
        embedder: Embedder,
        *,
        cache_dir: Path | str | None = None,
        lexical: Matcher | None = None,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
        clarify_threshold: float = DEFAULT_CLARIFY_THRESHOLD,
        fast_threshold: float = FAST_THRESHOLD,
        query_tokens: int = QUERY_TOKENS,
        on_model_error: Callable[[Exception], object] | None = None,
    ) -> None:
        if not 0.0 <= clarify_threshold <= answer_threshold <= 1.0:
            raise ValueError(
                "thresholds must satisfy 0 <= clarify <= answer <= 1 "
                f"(got clarify={clarify_threshold}, answer={answer_threshold})"
            )
        self.kb = kb
        self.embedder = embedder
        self.lexical = lexical if lexical is not None else Matcher(kb)
        self.answer_threshold = answer_threshold
        self.clarify_threshold = clarify_threshold
        self.fast_threshold = fast_threshold
        self.query_tokens = query_tokens
        self.on_model_error = on_model_error
        self._entries: tuple[Entry, ...] = kb.entries
        self._handoff = kb.handoff_entry()
        self._index = {e.id: i for i, e in enumerate(kb.entries)}
        self._vocabularies = tuple(
            self.lexical.vocabulary([*(q for _l, q in e.all_questions()), *e.answer.values()])
            for e in kb.entries
        )

        phrasings: list[str] = []
        starts: list[int] = []
        for entry in kb.entries:
            starts.append(len(phrasings))
            phrasings.extend(q for _lang, q in entry.all_questions())
        answers: list[str] = []
        answer_starts: list[int] = []
        for entry in kb.entries:
            answer_starts.append(len(answers))
            answers.extend(a for a in entry.answer.values() if a)
        root = Path(cache_dir) if cache_dir is not None else None
        self._phrasings = _embed(embedder, phrasings, "query", root, "phrasings")
        self._answers = _embed(embedder, answers, "passage", root, "answers")
        self._off_topic = _embed(
            embedder, [*OFF_TOPIC, *NEEDS_A_PERSON], "query", root, "off-topic"
        )
        # Every entry has at least one phrasing and one answer (faq.kb checks it), so the
        # segment starts are strictly increasing and `np.maximum.reduceat` is exact.
        self._starts = np.asarray(starts, dtype=np.intp)
        self._answer_starts = np.asarray(answer_starts, dtype=np.intp)

    @property
    def uses_model(self) -> bool:
        return True

    # ------------------------------------------------------------------ scoring
    def model_text(self, text: str) -> str:
        """What the model reads of `text`: all of it when short enough; else the run of
        consecutive sentences (within `query_tokens`) with the most words the FAQ knows, the
        earliest on a tie, cut to `query_tokens` tokens."""
        bound = self.query_tokens
        prepared = self.embedder.prepare(text, "query", max_tokens=bound)
        if len(prepared) >= len(text.strip()):
            return prepared
        pieces = [p.strip() for p in _SENTENCE_RE.split(text) if p and p.strip()][:MAX_PIECES]
        if len(pieces) < 2:
            return prepared
        # Token counts per sentence (the prefix and specials counted once), and how many
        # known words each holds: a window's are the sums.
        overhead = self.embedder.token_count("")
        sizes = [max(1, self.embedder.token_count(p) - overhead) for p in pieces]
        known = [self.lexical.known_words(p) for p in pieces]
        best, best_score = prepared, -1.0
        for i in range(len(pieces)):
            j, used = i + 1, overhead + sizes[i]
            while j < len(pieces) and used + sizes[j] <= bound:
                used += sizes[j]
                j += 1
            score = sum(known[i:j])
            if score > best_score:
                best, best_score = " ".join(pieces[i:j]), score
        return self.embedder.prepare(best, "query", max_tokens=bound)

    def evidence(self, text: str, lexical: MatchResult, analysis: Analysis | None) -> Evidence:
        """Embed `text` (what `model_text` keeps of it) and compare it with every entry."""
        vec = self.embedder.embed_queries([self.model_text(text)])[0]
        sq = np.maximum.reduceat(self._phrasings @ vec, self._starts)
        sa = np.maximum.reduceat(self._answers @ vec, self._answer_starts)
        lex = np.zeros(len(self._entries), dtype=np.float32)
        if analysis is not None:
            for r in analysis.ranked:
                lex[r.entry_index] = r.score
        best = -1
        if lexical.entry is not None:
            best = self._index.get(lexical.entry.id, -1)
        return Evidence(
            sq=sq,
            sa=sa,
            lexical=lex,
            lexical_best=best,
            lexical_confidence=float(lexical.confidence),
            known=float(analysis.known) if analysis is not None else 0.0,
            n_content=analysis.n_content if analysis is not None else 0,
            off_topic=float(np.max(self._off_topic @ vec)) if len(self._off_topic) else -1.0,
            units=analysis.units if analysis is not None else (),
            vocabularies=self._vocabularies,
        )

    def match(self, text: str) -> MatchResult:
        lexical, analysis = self.lexical.match_detailed(text)
        if lexical.route == "rule":
            return lexical
        if lexical.outcome is Outcome.ANSWER and lexical.confidence >= self.fast_threshold:
            return lexical
        try:
            ev = self.evidence(text, lexical, analysis)
        except Exception as exc:  # noqa: BLE001 (any failure of the model's engine)
            # The model failed on this question: the lexical decision still stands (its own
            # thresholds), rather than no answer at all. The caller is told, to log it.
            if self.on_model_error is not None:
                self.on_model_error(exc)
            return lexical
        scored = fuse(ev)
        conf = semantic_confidence(scored.features)
        if ev.off_topic >= scored.features.sq:
            conf = min(conf, OFF_TOPIC_CAP)
        conf = round(conf, 4)
        entries = self._entries
        best = entries[scored.order[0]]
        top_score = float(scored.fused[scored.order[0]])
        cands = [Candidate(best, conf)]
        for i in scored.order[1:]:
            share = float(scored.fused[i]) / top_score if top_score > 0 else 0.0
            cands.append(Candidate(entries[i], round(min(conf, conf * share), 4)))
        outcome = decide(
            conf,
            handoff=best is self._handoff,
            answer_threshold=self.answer_threshold,
            clarify_threshold=self.clarify_threshold,
        )
        return replace(
            lexical,
            outcome=outcome,
            confidence=conf,
            entry=best,
            candidates=tuple(cands),
            route="semantic",
        )


def has_cache(cache_dir: Path | str) -> bool:
    """Whether `cache_dir` holds the phrasings' vectors of an earlier start (a start
    without them embeds the whole FAQ first)."""
    return (Path(cache_dir) / "phrasings" / CACHE_FILE).exists()


def _embed(
    embedder: Embedder, texts: list[str], kind: Kind, root: Path | None, name: str
) -> Vectors:
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    if root is None:
        return embed_as(embedder, texts, kind)
    return EmbeddingCache(root / name).embed(embedder, texts, kind=kind)
