"""Format checks for the held-out FAQs of other shops (tests/data/faqs/).

Only the format is checked here; matcher scores on these sets are reported, never asserted.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from faq.kb import LANGS, load_kb

DATA = Path(__file__).resolve().parents[1] / "data" / "faqs"
SHOPS = ("cosmetics", "electronics", "home", "pets")


@pytest.mark.parametrize("shop", SHOPS)
def test_kb_loads_with_three_phrasings_per_language(shop: str) -> None:
    kb = load_kb(DATA / f"{shop}.yaml")
    assert 20 <= len(kb.entries) <= 24
    for entry in kb.entries:
        for lang in LANGS:
            assert len(entry.questions.get(lang, ())) == 3, (entry.id, lang)
    assert kb.handoff_entry() is not None


@pytest.mark.parametrize("shop", SHOPS)
def test_questions_name_entries_and_out_of_scope_share(shop: str) -> None:
    ids = {entry.id for entry in load_kb(DATA / f"{shop}.yaml").entries}
    with (DATA / f"{shop}.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["question", "expected"]
        rows = list(reader)
    assert len(rows) >= 170
    assert all(row["question"].strip() for row in rows)
    unknown = {row["expected"] for row in rows} - ids - {""}
    assert not unknown
    out_of_scope = sum(1 for row in rows if not row["expected"])
    assert 0.15 <= out_of_scope / len(rows) <= 0.20
