from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from faq import KBError, load_kb, parse_kb


def _entry(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "shipping_time",
        "topic": "logistics",
        "questions": {"en": ["How long does delivery take?"], "zh": ["多久能到货"]},
        "answer": {"en": "3-5 days", "zh": "3-5天"},
    }
    base.update(over)
    return base


def test_valid_kb_loads() -> None:
    kb = parse_kb(
        {
            "entries": [_entry(), _entry(id="contact_human", topic="other", action="handoff")],
            "size_chart": {
                "clothing": [{"size": "S", "height_cm": [150, 160], "weight_kg": [40, 50]}],
                "shoes": [{"size": 36, "foot_cm": [22.5, 23.0]}],
            },
        }
    )
    assert [e.id for e in kb.entries] == ["shipping_time", "contact_human"]
    e = kb.get("shipping_time")
    assert e is not None and e.questions["zh"] == ("多久能到货",)
    assert kb.handoff_entry() is not None and kb.handoff_entry() == kb.get("contact_human")
    assert kb.size_chart is not None and kb.size_chart.shoes[0].size == "36"
    assert kb.get("nope") is None


def test_answer_for_falls_back() -> None:
    kb = parse_kb({"entries": [_entry(questions={"en": ["q"]}, answer={"en": "EN"})]})
    assert kb.entries[0].answer_for("zh") == "EN"
    assert kb.entries[0].answer_for("en") == "EN"


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        ([_entry(), _entry()], "entry 'shipping_time': duplicate id"),
        ([_entry(id="Bad-Id")], "'id' 'Bad-Id' must match"),
        ([_entry(id=None)], "entries[0]: field 'id' is missing"),
        ([_entry(topic="weather")], "entry 'shipping_time': field 'topic' has unknown value"),
        ([_entry(answer={"en": "x"})], "entry 'shipping_time': field 'answer.zh' is missing"),
        ([_entry(questions={"en": []})], "field 'questions.en': empty question list"),
        ([_entry(questions={"en": ["  "]})], "field 'questions.en[0]': empty string"),
        ([_entry(questions=None)], "field 'questions' is missing"),
        ([_entry(questions={})], "no questions at all"),
        ([_entry(answer={"en": "", "zh": "x"})], "field 'answer.en': empty string"),
        ([_entry(action="escalate")], "field 'action' has unknown value"),
        ([_entry(questions={"fr": ["q"]})], "'questions.fr': unknown language"),
        (["just a string"], "entries[0]: must be a mapping"),
    ],
)
def test_each_problem_is_reported(entries: list[Any], needle: str) -> None:
    with pytest.raises(KBError) as info:
        parse_kb({"entries": entries})
    assert any(needle in p for p in info.value.problems), info.value.problems
    assert needle in str(info.value)


def test_answer_language_without_questions_is_fine() -> None:
    kb = parse_kb({"entries": [_entry(questions={"en": ["q"]})]})
    assert kb.entries[0].answer["zh"] == "3-5天"


def test_several_problems_at_once() -> None:
    with pytest.raises(KBError) as info:
        parse_kb(
            {
                "entries": [
                    _entry(),
                    _entry(id="a", topic="nope"),
                    _entry(id="b", questions={"en": []}),
                    _entry(),
                ],
                "size_chart": {"clothing": [{"size": "S", "height_cm": [170, 160]}]},
            }
        )
    problems = info.value.problems
    assert len(problems) == 4
    joined = "\n".join(problems)
    for needle in ("entry 'a'", "entry 'b'", "duplicate id", "size_chart.clothing[0].height_cm"):
        assert needle in joined


@pytest.mark.parametrize(
    ("chart", "needle"),
    [
        ("big", "size_chart: must be a mapping"),
        ({"clothing": []}, "size_chart.clothing: must be a non-empty list"),
        ({"clothing": [{"height_cm": [1, 2]}]}, "size_chart.clothing[0]: field 'size'"),
        ({"clothing": [{"size": "S"}]}, "needs 'height_cm' and/or 'weight_kg'"),
        ({"clothing": [{"size": "S", "height_cm": "tall"}]}, "must be a [min, max] pair"),
        ({"shoes": [{"size": "36"}]}, "size_chart.shoes[0]: field 'foot_cm' is missing"),
        (
            {
                "shoes": [
                    {"size": "37", "foot_cm": [23, 23.5]},
                    {"size": "36", "foot_cm": [22, 23]},
                ]
            },
            "ordered smallest first",
        ),
        ({"hats": []}, "unknown section 'hats'"),
    ],
)
def test_bad_size_chart(chart: object, needle: str) -> None:
    with pytest.raises(KBError) as info:
        parse_kb({"entries": [_entry()], "size_chart": chart})
    assert any(needle in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("doc", "needle"),
    [(None, "top level must be a mapping"), ([1, 2], "top level"), ({}, "'entries' is missing")],
)
def test_bad_top_level(doc: object, needle: str) -> None:
    with pytest.raises(KBError, match="problem") as info:
        parse_kb(doc)
    assert any(needle in p for p in info.value.problems)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text("entries:\n  - id: a\n    topic: [unclosed\n", encoding="utf-8")
    with pytest.raises(KBError) as info:
        load_kb(path)
    assert "YAML syntax error at line" in info.value.problems[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KBError) as info:
        load_kb(tmp_path / "nope.yaml")
    assert "file not found" in info.value.problems[0]


def test_shipped_sample_kb_loads() -> None:
    path = Path(__file__).resolve().parents[2] / "faq/knowledge/shop.yaml"
    if not path.exists():
        pytest.skip("sample KB not written yet")
    kb = load_kb(path)
    for entry_id in ("size_guide", "size_recommendation", "contact_human"):
        assert kb.get(entry_id) is not None


def test_an_id_too_long_for_button_data_is_refused() -> None:
    from faq.kb import MAX_ID_CHARS

    long_id = "x" * (MAX_ID_CHARS + 1)
    data = {
        "entries": [
            {"id": long_id, "topic": "other", "questions": {"en": ["q"]}, "answer": {"en": "a"}}
        ]
    }
    with pytest.raises(KBError) as exc:
        parse_kb(data, source="t.yaml")
    assert any(long_id in p and "longer than" in p for p in exc.value.problems)
