"""`faq learn` and `faq export` as a shop uses them: real processes, real files; what they
write loads with load_kb and evaluates with `faq eval`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from faq import KnowledgeBase, Learned, LearnedEntry, LearnedPhrasing, load_kb, merge_learned
from faq.evaluate import EvalCase
from faq.learn import learn_cases
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import FaqLearnedEntry, FaqLearnedPhrasing
from support.learning import text_key
from tests.conftest import T0
from tests.test_cli import KB, _main

NEIGHBOUR = "will the courier leave it with my neighbour"
NEIGHBOUR_ZH = "快递能放邻居家吗"


def write_cases(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "expected"])
        w.writerows(rows)
    return path


def test_learn_adds_labelled_questions_and_eval_runs_on_the_result(tmp_path: Path) -> None:
    cases = write_cases(
        tmp_path / "cases.csv",
        [
            (NEIGHBOUR, "carriers"),
            (NEIGHBOUR_ZH, "carriers"),
            ("How do I choose the right size?", "size_guide"),  # in the FAQ already
            ("can I bring my dog to the office party", ""),  # out of scope
            ("what is the meaning of life", "no_such_entry"),
        ],
    )
    out = tmp_path / "kb2.yaml"
    proc = _main(
        "faq", "learn", "--kb", str(KB), "--cases", str(cases), "--out", str(out), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    [summary] = proc.stdout.strip().splitlines()
    assert summary == (
        "added 2 phrasing(s) to 1 entries; skipped 3 (2 without an entry id of the FAQ, "
        f"1 already in their entry); wrote {out}"
    )
    before, after = load_kb(KB), load_kb(out)
    carriers_before, carriers = before.get("carriers"), after.get("carriers")
    assert carriers_before is not None and carriers is not None
    assert carriers.questions["en"] == (*carriers_before.questions["en"], NEIGHBOUR)
    assert carriers.questions["zh"] == (*carriers_before.questions["zh"], NEIGHBOUR_ZH)
    assert after.size_chart == before.size_chart
    assert [e.id for e in after.entries] == [e.id for e in before.entries]

    # `faq eval` runs on the result (it refuses ids the FAQ lacks: those rows left out).
    known = write_cases(
        tmp_path / "known.csv",
        [(NEIGHBOUR, "carriers"), (NEIGHBOUR_ZH, "carriers"), ("can I bring my dog", "")],
    )
    ev = _main("faq", "eval", "--kb", str(out), "--cases", str(known), "--json", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    report = json.loads(ev.stdout.strip().splitlines()[-1])
    assert report["cases"] == 3 and report["correct"] == 2

    # Learning the same again adds nothing.
    again = _main(
        "faq", "learn", "--kb", str(out), "--cases", str(cases), "--out", str(out), cwd=tmp_path
    )
    assert again.returncode == 0 and again.stdout.startswith("added 0 phrasing(s)")
    assert load_kb(out) == after


def test_learn_skips_a_language_the_entry_does_not_answer(kb: KnowledgeBase) -> None:
    only_en = merge_learned(kb, Learned(entries=(LearnedEntry("t1", "other", "en", "q", "a"),)))
    learned, summary = learn_cases(
        only_en, [EvalCase("巴黎有门店吗", "t1"), EvalCase("is there a shop in paris", "t1")]
    )
    assert (summary.added, summary.no_answer) == (1, 1)
    entry = learned.get("t1")
    assert entry is not None and entry.questions == {"en": ("q", "is there a shop in paris")}


def test_learn_bad_inputs_are_one_clear_error(tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "c.csv", [(NEIGHBOUR, "carriers")])
    out = str(tmp_path / "out.yaml")
    bad_kb = tmp_path / "bad.yaml"
    bad_kb.write_text("entries:\n  - id: Bad Id\n    topic: nowhere\n", encoding="utf-8")
    no_column = tmp_path / "nocol.csv"
    no_column.write_text("question\nhi\n", encoding="utf-8")
    runs = {
        "nope.csv": ("--kb", str(KB), "--cases", "nope.csv", "--out", out),
        "topic": ("--kb", str(bad_kb), "--cases", str(cases), "--out", out),
        "expected": ("--kb", str(KB), "--cases", str(no_column), "--out", out),
        "cannot write": ("--kb", str(KB), "--cases", str(cases), "--out", str(tmp_path)),
    }
    for said, args in runs.items():
        proc = _main("faq", "learn", *args, cwd=tmp_path)
        assert proc.returncode == 2, said
        assert "Traceback" not in proc.stderr and said in proc.stderr, proc.stderr
        assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert not Path(out).exists()


async def _teach(url: str) -> Learned:
    """A database where the desk taught the FAQ a phrasing and a new entry."""
    engine = create_engine(url)
    await upgrade(engine)
    async with create_session_factory(engine)() as s:
        s.add(
            FaqLearnedPhrasing(
                entry_id="carriers",
                lang="en",
                text=NEIGHBOUR,
                text_key=text_key(NEIGHBOUR),
                source="ticket",
                source_id=1,
                created_by=7001,
                created_at=T0,
            )
        )
        s.add(
            FaqLearnedEntry(
                id="t2_do_you_have_a_store",
                topic="other",
                lang="en",
                question="do you have a physical store in Paris",
                answer="No shop in Paris:\nwe sell online only.",
                source="ticket",
                source_id=2,
                created_by=7001,
                created_at=T0,
            )
        )
        await s.commit()
    await engine.dispose()
    return Learned(
        phrasings=(LearnedPhrasing("carriers", "en", NEIGHBOUR),),
        entries=(
            LearnedEntry(
                "t2_do_you_have_a_store",
                "other",
                "en",
                "do you have a physical store in Paris",
                "No shop in Paris:\nwe sell online only.",
            ),
        ),
    )


async def test_export_writes_the_merged_faq_in_the_yaml_contract(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    learned = await _teach(url)
    out = tmp_path / "merged.yaml"
    proc = _main("faq", "export", "--out", str(out), cwd=tmp_path, DATABASE_URL=url)
    assert proc.returncode == 0, proc.stderr
    assert "(1 learned entries, 1 learned phrasings)" in proc.stderr
    merged = load_kb(out)
    assert merged == merge_learned(load_kb(KB), learned)
    assert merged.size_chart == load_kb(KB).size_chart
    assert "answer:\n      en: |-\n        No shop in Paris:\n" in out.read_text(encoding="utf-8")

    # The export is a FAQ like any other: `faq eval` runs on it.
    cases = write_cases(
        tmp_path / "c.csv", [("do you have a physical store in Paris", "t2_do_you_have_a_store")]
    )
    ev = _main("faq", "eval", "--kb", str(out), "--cases", str(cases), "--json", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout.strip().splitlines()[-1])["correct"] == 1

    bad = _main("faq", "export", "--out", str(tmp_path), cwd=tmp_path, DATABASE_URL=url)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: cannot write")
