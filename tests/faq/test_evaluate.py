from __future__ import annotations

import json
from pathlib import Path

import pytest

from faq import Matcher, parse_kb
from faq.evaluate import EvalCase, evaluate, run_eval_cli

KB_DATA = {
    "entries": [
        {
            "id": "shipping_time",
            "topic": "logistics",
            "questions": {"en": ["how long does delivery take"], "zh": ["几天发货"]},
            "answer": {"en": "3 days", "zh": "3天"},
        },
        {
            "id": "order_tracking",
            "topic": "orders",
            "questions": {"en": ["where is my order"], "zh": ["我的订单到哪了"]},
            "answer": {"en": "...", "zh": "..."},
        },
    ]
}
KB_YAML = """entries:
  - id: shipping_time
    topic: logistics
    questions: {en: ["how long does delivery take"], zh: ["几天发货"]}
    answer: {en: "3 days", zh: "3天"}
  - id: order_tracking
    topic: orders
    questions: {en: ["where is my order"], zh: ["我的订单到哪了"]}
    answer: {en: "...", zh: "..."}
"""


def test_evaluate_hand_computed() -> None:
    # Thresholds 0/0: every non-empty question is answered with its best entry.
    matcher = Matcher(parse_kb(KB_DATA), answer_threshold=0.0, clarify_threshold=0.0)
    cases = [
        EvalCase("where is my order", "order_tracking"),  # answered, right
        EvalCase("几天发货", "shipping_time"),  # answered, right
        EvalCase("where is my order", "shipping_time"),  # answered, wrong
        EvalCase("", "shipping_time"),  # handoff (empty): not answered, not top-1
        EvalCase("how long does delivery take", None),  # out of scope, answered
        EvalCase("😀", None),  # out of scope, handoff
    ]
    r = evaluate(matcher, cases)
    assert (r.cases, r.covered, r.answered, r.correct, r.top1_correct) == (6, 4, 3, 2, 2)
    assert (r.out_of_scope, r.out_of_scope_answered) == (2, 1)
    assert r.accuracy == 0.5  # 2 / 4
    assert r.coverage == 0.75  # 3 / 4
    assert r.precision == pytest.approx(0.6667)  # 2 / 3
    assert r.p50_ms >= 0.0 and r.p99_ms >= r.p50_ms


def test_evaluate_clarify_is_not_answered() -> None:
    matcher = Matcher(parse_kb(KB_DATA), answer_threshold=1.0, clarify_threshold=0.0)
    r = evaluate(matcher, [EvalCase("where is my order", "order_tracking")])
    assert (r.answered, r.clarified, r.clarify_hit, r.top1_correct) == (0, 1, 1, 1)
    assert r.precision == 0.0 and r.coverage == 0.0 and r.accuracy == 1.0


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(KB_YAML, encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "question,expected\nwhere is my order,order_tracking\nwhat's the weather,\n",
        encoding="utf-8",
    )
    assert run_eval_cli(str(kb), str(cases), as_json=True) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    data = json.loads(last)
    for key in (
        "cases", "answered", "correct", "out_of_scope", "out_of_scope_answered",
        "p50_ms", "p99_ms", "accuracy", "coverage", "precision",
    ):  # fmt: skip
        assert key in data
    assert data["cases"] == 2 and data["out_of_scope"] == 1 and data["correct"] == 1


@pytest.mark.parametrize(
    ("kb_text", "csv_text", "needle"),
    [
        (None, "question,expected\nq,shipping_time\n", "bad knowledge base"),
        (KB_YAML, None, "file not found"),
        (KB_YAML, "text,label\nq,x\n", "missing column"),
        (KB_YAML, "question,expected\nq,nope\n", "not in the KB"),
        ("entries: [unclosed\n", "question,expected\nq,\n", "YAML syntax error"),
    ],
)
def test_cli_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kb_text: str | None,
    csv_text: str | None,
    needle: str,
) -> None:
    kb = tmp_path / "kb.yaml"
    if kb_text is not None:
        kb.write_text(kb_text, encoding="utf-8")
    cases = tmp_path / "cases.csv"
    if csv_text is not None:
        cases.write_text(csv_text, encoding="utf-8")
    assert run_eval_cli(str(kb), str(cases), as_json=True) == 2
    out = capsys.readouterr().err.strip().splitlines()
    assert len(out) == 1 and needle in out[0]
