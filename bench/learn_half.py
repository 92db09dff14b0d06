"""What learning from labelled questions buys: learn one half of a test set, score the other.

For each FAQ, the test questions are split in two halves (every other row of each expected
entry, out-of-scope rows alternating too, so both halves hold every entry); the covered
questions of half A are added as phrasings of their entries (what `python main.py faq learn`
does, through the same `faq.live.merge_learned`), and the matcher built on the grown FAQ is
evaluated on half B, per language. Then the halves swap. The FAQ before learning is scored
on the same half B for comparison.

    python bench/learn_half.py [--semantic on|off] [FAQ.yaml CASES.csv ...]

Default sets: tests/data/faqs/cosmetics and electronics, and the shop FAQ cut to 3 phrasings
per language with tests/data/shop_holdout.csv.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.faqsets import trim  # noqa: E402
from faq.evaluate import EvalCase, by_language, load_cases  # noqa: E402
from faq.factory import choose_matcher  # noqa: E402
from faq.kb import load_kb  # noqa: E402
from faq.live import FaqMatcher, LearnedPhrasing, merge_learned  # noqa: E402
from faq.normalize import detect_lang  # noqa: E402

DEFAULT_SETS = (
    ("cosmetics", "tests/data/faqs/cosmetics.yaml", "tests/data/faqs/cosmetics.csv"),
    ("electronics", "tests/data/faqs/electronics.yaml", "tests/data/faqs/electronics.csv"),
    ("shop (3 phrasings)", "faq/knowledge/shop.yaml", "tests/data/shop_holdout.csv"),
)


def halves(cases: list[EvalCase]) -> tuple[list[EvalCase], list[EvalCase]]:
    seen: dict[str | None, int] = defaultdict(int)
    a: list[EvalCase] = []
    b: list[EvalCase] = []
    for c in cases:
        (a if seen[c.expected] % 2 == 0 else b).append(c)
        seen[c.expected] += 1
    return a, b


def line(label: str, cases: list[EvalCase], matcher: FaqMatcher) -> str:
    parts = [
        f"{lang} cov {r.coverage:.0%} prec {r.precision:.1%} self {r.self_service:.0%} "
        f"oos {r.out_of_scope_answered}/{r.out_of_scope}"
        for lang, r in by_language(matcher, cases).items()
    ]
    return f"  {label:22s} " + " | ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--semantic", choices=("auto", "on", "off"), default="auto")
    ap.add_argument("--embedding-cache", default="data/faq-embeddings")
    ap.add_argument("sets", nargs="*", help="pairs: FAQ.yaml CASES.csv")
    args = ap.parse_args()
    sets: tuple[tuple[str, str, str], ...] = DEFAULT_SETS
    if args.sets:
        pairs = list(zip(args.sets[::2], args.sets[1::2], strict=True))
        sets = tuple((kb, kb, cases) for kb, cases in pairs)
    choice = choose_matcher(args.semantic, cache_dir=args.embedding_cache)
    print(f"matcher: {choice.why}")
    for name, kb_path, cases_path in sets:
        kb = load_kb(ROOT / kb_path)
        if "3 phrasings" in name:
            kb = trim(kb, 3)
        cases = load_cases(ROOT / cases_path, kb)
        a, b = halves(cases)
        print(f"{name}: {len(cases)} questions, halves {len(a)} / {len(b)}")
        before = choice.build(kb)
        for learn, test, tag in ((a, b, "A->B"), (b, a, "B->A")):
            learned = [
                LearnedPhrasing(c.expected, detect_lang(c.question), c.question)
                for c in learn
                if c.expected is not None
            ]
            grown = choice.build(merge_learned(kb, learned))
            print(line(f"{tag} before", test, before))
            print(line(f"{tag} after {len(learned)}", test, grown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
