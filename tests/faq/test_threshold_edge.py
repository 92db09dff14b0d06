"""Confidence exactly at a threshold: the decision is made on the confidence the matcher
reports (rounded to 4 places), so a question shown at 0.70 against 0.70 is answered."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_FAQ_PATH
from faq import KnowledgeBase, Matcher, Outcome, load_kb

# Questions whose unrounded confidence sat just below the 4-place value the matcher reports.
QUESTIONS = (
    "where can i find the size chart please",
    "how do i know which size to get please",
    "有尺码表吗 please",
    "不知道该选什么码 please",
)


@pytest.fixture(scope="module")
def shop_kb() -> KnowledgeBase:
    return load_kb(DEFAULT_FAQ_PATH)


@pytest.mark.parametrize("question", QUESTIONS)
def test_confidence_at_the_answer_threshold_answers(shop_kb: KnowledgeBase, question: str) -> None:
    shown = Matcher(shop_kb).match(question).confidence
    at = Matcher(shop_kb, answer_threshold=shown, clarify_threshold=0.0).match(question)
    assert at.confidence == shown
    assert at.outcome is Outcome.ANSWER


@pytest.mark.parametrize("question", QUESTIONS)
def test_confidence_at_the_clarify_threshold_clarifies(
    shop_kb: KnowledgeBase, question: str
) -> None:
    shown = Matcher(shop_kb).match(question).confidence
    at = Matcher(shop_kb, answer_threshold=1.0, clarify_threshold=shown).match(question)
    assert at.confidence == shown
    assert at.outcome is Outcome.CLARIFY
