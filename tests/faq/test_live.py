"""faq.live: what was learned merges with the YAML FAQ, and the live matcher swaps whole;
faq.kb.dump_kb writes a KB that loads back equal."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from faq import (
    KnowledgeBase,
    Learned,
    LearnedEntry,
    LearnedPhrasing,
    LiveMatcher,
    Matcher,
    Outcome,
    dump_kb,
    load_kb,
    merge_learned,
    parse_kb,
    valid_id,
)

STORE = LearnedEntry(
    id="learned_store_paris",
    topic="other",
    lang="en",
    question="do you have a physical store in Paris",
    answer="No shop in Paris: we sell online only.",
)


def test_nothing_learned_is_the_base_itself(kb: KnowledgeBase) -> None:
    assert merge_learned(kb, Learned()) is kb
    assert merge_learned(kb, []) is kb


def test_phrasings_join_their_entry_once(kb: KnowledgeBase) -> None:
    before = kb.get("shipping_time")
    assert before is not None
    learned = [
        LearnedPhrasing("shipping_time", "en", "when does my parcel show up"),
        LearnedPhrasing("shipping_time", "en", "  When does my   PARCEL show up "),  # same
        LearnedPhrasing("gone_entry", "en", "an entry the YAML lost"),
        LearnedPhrasing("shipping_time", "fr", "quand"),
    ]
    merged = merge_learned(kb, learned)
    after = merged.get("shipping_time")
    assert after is not None
    assert after.questions["en"] == (*before.questions["en"], "when does my parcel show up")
    assert after.questions["zh"] == before.questions["zh"]
    assert len(merged.entries) == len(kb.entries)


def test_learned_entries_are_appended_and_take_phrasings(kb: KnowledgeBase) -> None:
    learned = Learned(
        phrasings=(
            LearnedPhrasing(STORE.id, "en", "is there a shop in paris"),
            LearnedPhrasing(STORE.id, "zh", "巴黎有门店吗"),  # no zh answer: dropped
        ),
        entries=(STORE,),
    )
    merged = merge_learned(kb, learned)
    entry = merged.entries[-1]
    assert entry.id == STORE.id and entry.topic == "other"
    assert entry.questions == {"en": (STORE.question, "is there a shop in paris")}
    assert entry.answer_for("zh") == STORE.answer  # falls back to the only answer
    # The merged FAQ still obeys the YAML contract.
    assert parse_kb(yaml.safe_load(dump_kb(merged))) == merged


@pytest.mark.parametrize(
    "entry",
    [
        LearnedEntry("shipping_time", "other", "en", "q", "a"),  # a YAML id: the YAML wins
        LearnedEntry("Bad-Id", "other", "en", "q", "a"),
        LearnedEntry("x" * 33, "other", "en", "q", "a"),
        LearnedEntry("fine_id", "gossip", "en", "q", "a"),
        LearnedEntry("fine_id", "other", "fr", "q", "a"),
        LearnedEntry("fine_id", "other", "en", " ", "a"),
        LearnedEntry("fine_id", "other", "en", "q", ""),
    ],
)
def test_unusable_learned_entries_are_dropped(kb: KnowledgeBase, entry: LearnedEntry) -> None:
    merged = merge_learned(kb, Learned(entries=(entry,)))
    assert [e.id for e in merged.entries] == [e.id for e in kb.entries]
    assert merged.get("shipping_time") == kb.get("shipping_time")


def test_valid_id_follows_the_kb_rule() -> None:
    assert valid_id("a_1") and valid_id("x" * 32)
    assert (
        not valid_id("x" * 33) and not valid_id("abc\n") and not valid_id("") and not valid_id("A")
    )


def test_relearn_swaps_the_matcher_and_the_next_question_is_answered(kb: KnowledgeBase) -> None:
    builds: list[KnowledgeBase] = []

    def build(merged: KnowledgeBase) -> Matcher:
        builds.append(merged)
        return Matcher(merged)

    live = LiveMatcher(kb, build)
    question = "do you have a physical store in Paris"
    assert live.match(question).outcome is not Outcome.ANSWER
    first = live.current
    assert live.relearn(Learned(entries=(STORE,))) is True
    assert live.current is not first
    result = live.match(question)
    assert result.outcome is Outcome.ANSWER and result.entry is not None
    assert result.entry.id == STORE.id
    assert live.kb.get(STORE.id) is not None
    # The same again: nothing rebuilt.
    assert live.relearn(Learned(entries=(STORE,))) is False
    assert len(builds) == 2


def test_a_failed_build_keeps_the_matcher_in_use(kb: KnowledgeBase) -> None:
    def build(merged: KnowledgeBase) -> Matcher:
        if merged is not kb:
            raise RuntimeError("model crashed")
        return Matcher(merged)

    live = LiveMatcher(kb, build)
    before = live.current
    with pytest.raises(RuntimeError):
        live.relearn(Learned(entries=(STORE,)))
    assert live.current is before and live.learned == Learned()


def test_dump_kb_round_trips_the_shipped_faq(kb: KnowledgeBase, tmp_path: Path) -> None:
    out = tmp_path / "faq.yaml"
    out.write_text(dump_kb(kb, header="written by a test"), encoding="utf-8")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# written by a test\n")
    assert "尺码怎么选" in text  # Chinese kept readable, not \u escapes
    assert "foot_cm: [22, 22.5]" in text
    assert load_kb(out) == kb
