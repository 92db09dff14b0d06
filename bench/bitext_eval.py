"""Bitext benchmark for the FAQ matcher (deterministic, no tuning on the held-out half).

Builds, with a fixed seed, from the 8k Bitext file:
  * a KB with 5 random phrasings per intent, for all intents except 4 held out entirely
    (no entry carries ``action: handoff``: Bitext separates contact_customer_service from
    contact_human_agent, which the human-request rule deliberately does not);
  * tuning.csv and heldout.csv: the remaining utterances of the KB intents split in two halves,
    plus the held-out intents' utterances (split the same way) with an empty ``expected``
    (out of scope: the right outcome is a handoff).
Writes them to --out (default: a temp dir), evaluates both through ``faq.evaluate`` and prints
the ``python main.py faq eval`` command lines to rerun them.

    python bench/bitext_eval.py [--out DIR] [--seed 0] [--per-intent 5] [--oos 4]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from faq.evaluate import evaluate, format_report, load_cases  # noqa: E402
from faq.kb import load_kb  # noqa: E402
from faq.matcher import Matcher  # noqa: E402

DATA = Path("/work/shared/datasets/bitext-customer-support/bitext_customer_service_8k.csv")
TOPIC = {
    "ORDER": "orders",
    "SHIPPING_ADDRESS": "logistics",
    "DELIVERY": "logistics",
    "CANCELLATION_FEE": "orders",
    "REFUND": "returns",
    "PAYMENT": "payment",
    "INVOICE": "payment",
    "CONTACT": "other",
    "FEEDBACK": "other",
    "ACCOUNT": "account",
    "NEWSLETTER": "other",
}


def build(out: Path, seed: int, per_intent: int, n_oos: int, data: Path = DATA) -> list[str]:
    """Write kb.yaml, tuning.csv, heldout.csv into ``out``; return the held-out intents."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    category: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    with data.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            utt, intent = row["utterance"].strip(), row["intent"].strip()
            key = (utt.lower(), intent)
            if not utt or key in seen:
                continue
            seen.add(key)
            by_intent[intent].append(utt)
            category[intent] = row["category"].strip()
    rng = random.Random(seed)
    intents = sorted(by_intent)
    oos = sorted(rng.sample(intents, n_oos))
    entries: list[dict[str, object]] = []
    tuning: list[tuple[str, str]] = []
    heldout: list[tuple[str, str]] = []
    for intent in intents:
        utts = list(by_intent[intent])
        rng.shuffle(utts)
        expected = "" if intent in oos else intent
        if intent not in oos:
            kb_q, utts = utts[:per_intent], utts[per_intent:]
            entry: dict[str, object] = {
                "id": intent,
                "topic": TOPIC.get(category[intent], "other"),
                "questions": {"en": kb_q},
                "answer": {"en": f"[Bitext intent {intent}]"},
            }
            entries.append(entry)
        half = len(utts) // 2
        tuning.extend((u, expected) for u in utts[:half])
        heldout.extend((u, expected) for u in utts[half:])
    rng.shuffle(tuning)
    rng.shuffle(heldout)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "kb.yaml").open("w", encoding="utf-8") as fh:
        yaml.safe_dump({"entries": entries}, fh, allow_unicode=True, sort_keys=False)
    for name, rows in (("tuning.csv", tuning), ("heldout.csv", heldout)):
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["question", "expected"])
            w.writerows(rows)
    return oos


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-intent", type=int, default=5)
    ap.add_argument("--oos", type=int, default=4)
    ap.add_argument("--only", choices=["tuning", "heldout", "both"], default="both")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bitext_eval_"))
    oos = build(out, args.seed, args.per_intent, args.oos)
    print(f"out dir: {out}")
    print(f"held-out (out-of-scope) intents: {', '.join(oos)}")
    kb = load_kb(out / "kb.yaml")
    matcher = Matcher(kb)
    names = ["tuning", "heldout"] if args.only == "both" else [args.only]
    for name in names:
        cases = load_cases(out / f"{name}.csv", kb)
        print(f"\n== {name} ({len(cases)} cases) ==")
        print(format_report(evaluate(matcher, cases), max_misses=8))
    print("\nrerun with:")
    for name in names:
        print(f"  python main.py faq eval --kb {out / 'kb.yaml'} --cases {out / name}.csv --json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
