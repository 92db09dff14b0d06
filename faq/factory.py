"""Which matcher runs: the hybrid one when the embedding model is here, else the lexical.

Used by the bot at start-up and by `main.py faq eval|learn`, so both run the same matcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from faq import hybrid
from faq import matcher as lexical
from faq.embedding import Embedder, load_embedder
from faq.kb import KnowledgeBase
from faq.live import FaqMatcher

__all__ = ["MatcherChoice", "ModelRequired", "SemanticMode", "choose_matcher"]

SemanticMode = Literal["auto", "on", "off"]


class ModelRequired(Exception):
    """`on` was asked for and the model cannot run here; the message says why."""


@dataclass(frozen=True)
class MatcherChoice:
    kind: Literal["hybrid", "lexical"]
    why: str  # one line for the log and the README's "which one is running"
    build: Callable[[KnowledgeBase], FaqMatcher]
    embedder: Embedder | None = None


def choose_matcher(
    mode: SemanticMode = "auto",
    *,
    cache_dir: Path | str | None = None,
    answer_threshold: float | None = None,
    clarify_threshold: float | None = None,
    embedder: Embedder | None = None,
    on_model_error: Callable[[Exception], object] | None = None,
) -> MatcherChoice:
    """The matcher to build for `mode`. Thresholds left None take the chosen matcher's own
    defaults (they are calibrated differently). Raises ValueError for thresholds out of
    order and ModelRequired when `mode` is "on" and the model is not available."""
    reasons: list[str] = []
    if mode != "off" and embedder is None:
        embedder = load_embedder(on_unavailable=reasons.append)
    if mode == "on" and embedder is None:
        raise ModelRequired(reasons[0] if reasons else "the embedding model is not available")

    if mode != "off" and embedder is not None:
        model = embedder
        answer = hybrid.DEFAULT_ANSWER_THRESHOLD if answer_threshold is None else answer_threshold
        clarify = (
            hybrid.DEFAULT_CLARIFY_THRESHOLD if clarify_threshold is None else clarify_threshold
        )
        _check(answer, clarify)

        def build_hybrid(kb: KnowledgeBase) -> FaqMatcher:
            return hybrid.HybridMatcher(
                kb,
                model,
                cache_dir=cache_dir,
                answer_threshold=answer,
                clarify_threshold=clarify,
                on_model_error=on_model_error,
            )

        return MatcherChoice("hybrid", f"hybrid: lexical + {model.name}", build_hybrid, model)

    answer = lexical.DEFAULT_ANSWER_THRESHOLD if answer_threshold is None else answer_threshold
    clarify = lexical.DEFAULT_CLARIFY_THRESHOLD if clarify_threshold is None else clarify_threshold
    _check(answer, clarify)

    def build_lexical(kb: KnowledgeBase) -> FaqMatcher:
        return lexical.Matcher(kb, answer_threshold=answer, clarify_threshold=clarify)

    why = "lexical only: " + ("FAQ_SEMANTIC=off" if mode == "off" else reasons[0])
    return MatcherChoice("lexical", why, build_lexical)


def _check(answer: float, clarify: float) -> None:
    if not 0.0 <= clarify <= answer <= 1.0:
        raise ValueError(
            "thresholds must satisfy 0 <= clarify <= answer <= 1 "
            f"(got clarify={clarify}, answer={answer})"
        )
