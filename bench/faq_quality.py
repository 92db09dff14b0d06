"""FAQ answer quality per FAQ and language, lexical and hybrid, as Markdown tables.

The same numbers as `python main.py faq eval` (faq.evaluate), split by the question's
language (faq.normalize.detect_lang):
  coverage      answered / covered questions
  precision     right answers / answers
  self-service  (right answers + clarifications whose buttons hold the right entry) / covered
  oos answered  out-of-scope questions answered / out-of-scope questions

    python bench/faq_quality.py [--matchers lexical hybrid]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faqsets import trim  # noqa: E402
from faq.evaluate import by_language, load_cases  # noqa: E402
from faq.factory import choose_matcher  # noqa: E402
from faq.kb import load_kb  # noqa: E402

SHOP_DEV = "tests/data/shop_dev.csv"
SETS = (
    (
        "shop (14 phrasings), dev",
        "faq/knowledge/shop.yaml",
        0,
        "tests/data/shop_dev.csv",
        "tuning",
    ),
    (
        "shop (14 phrasings), holdout",
        "faq/knowledge/shop.yaml",
        0,
        "tests/data/shop_holdout.csv",
        "reported",
    ),
    (
        "shop cut to 3 phrasings, dev",
        "faq/knowledge/shop.yaml",
        3,
        "tests/data/shop_dev.csv",
        "tuning",
    ),
    (
        "shop cut to 3 phrasings, holdout",
        "faq/knowledge/shop.yaml",
        3,
        "tests/data/shop_holdout.csv",
        "reported",
    ),
    (
        "cosmetics (3 phrasings)",
        "tests/data/faqs/cosmetics.yaml",
        0,
        "tests/data/faqs/cosmetics.csv",
        "tuning",
    ),
    (
        "home (3 phrasings)",
        "tests/data/faqs/home.yaml",
        0,
        "tests/data/faqs/home.csv",
        "tuning",
    ),
    (
        "pets (3 phrasings)",
        "tests/data/faqs/pets.yaml",
        0,
        "tests/data/faqs/pets.csv",
        "reported",
    ),
    (
        "electronics (3 phrasings)",
        "tests/data/faqs/electronics.yaml",
        0,
        "tests/data/faqs/electronics.csv",
        "reported",
    ),
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--matchers", nargs="+", default=["lexical", "hybrid"])
    ap.add_argument("--embedding-cache", default="data/faq-embeddings")
    args = ap.parse_args()
    choices = {
        name: choose_matcher("off" if name == "lexical" else "on", cache_dir=args.embedding_cache)
        for name in args.matchers
    }
    print(
        "| FAQ | used for | matcher | lang | questions | top-1 | coverage | precision "
        "| self-service | oos answered |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, kb_path, cut, cases_path, use in SETS:
        kb = trim(load_kb(ROOT / kb_path), cut)
        cases = load_cases(ROOT / cases_path, kb)
        for name, choice in choices.items():
            matcher = choice.build(kb)
            for lang, r in by_language(matcher, cases).items():
                print(
                    f"| {label} | {use} | {name} | {lang} | {r.cases} | {r.accuracy:.1%} "
                    f"| {r.coverage:.1%} | {r.precision:.1%} | {r.self_service:.1%} "
                    f"| {r.out_of_scope_answer_rate:.1%} ({r.out_of_scope_answered}/"
                    f"{r.out_of_scope}) |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
