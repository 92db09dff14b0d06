"""Knowledge-base model and loader (YAML file format documented in the README / brief).

``parse_kb`` validates the whole document and reports every problem at once through a single
:class:`KBError`; no raw ``KeyError``/``TypeError`` ever escapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

__all__ = [
    "LANGS",
    "TOPICS",
    "ClothingSize",
    "Entry",
    "KBError",
    "KnowledgeBase",
    "ShoeSize",
    "SizeChart",
    "dump_kb",
    "load_kb",
    "parse_kb",
    "valid_id",
]

LANGS: tuple[str, ...] = ("zh", "en")
TOPICS: frozenset[str] = frozenset(
    {"size", "logistics", "returns", "orders", "payment", "account", "other"}
)
ACTIONS: frozenset[str] = frozenset({"handoff"})
_ID_RE = re.compile(r"^[a-z0-9_]+$")
# Ids travel in Telegram button data (64 bytes with a prefix and an interaction id).
MAX_ID_CHARS = 32


def valid_id(entry_id: str) -> bool:
    """An entry id the KB accepts: a-z, 0-9 and _, at most 32 characters."""
    return _ID_RE.fullmatch(entry_id) is not None and len(entry_id) <= MAX_ID_CHARS


class KBError(Exception):
    """The knowledge base could not be loaded; ``problems`` lists every issue found."""

    def __init__(self, problems: list[str], source: str = "<kb>") -> None:
        self.problems: list[str] = list(problems)
        self.source = source
        lines = [f"{source}: {len(self.problems)} problem(s) in the knowledge base:"]
        lines.extend(f"  - {p}" for p in self.problems)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    questions: Mapping[str, tuple[str, ...]]
    answer: Mapping[str, str]
    action: str | None = None

    def __hash__(self) -> int:
        return hash(self.id)

    def answer_for(self, lang: str) -> str:
        """The answer in ``lang``, falling back to the other language."""
        text = self.answer.get(lang)
        if text:
            return text
        for other in LANGS:
            text = self.answer.get(other)
            if text:
                return text
        return next(iter(self.answer.values()), "")

    def all_questions(self) -> list[tuple[str, str]]:
        """``(lang, question)`` pairs in file order."""
        return [(lang, q) for lang, qs in self.questions.items() for q in qs]


@dataclass(frozen=True)
class ClothingSize:
    size: str
    height_cm: tuple[float, float] | None
    weight_kg: tuple[float, float] | None


@dataclass(frozen=True)
class ShoeSize:
    size: str
    foot_cm: tuple[float, float]


@dataclass(frozen=True)
class SizeChart:
    clothing: tuple[ClothingSize, ...] = ()
    shoes: tuple[ShoeSize, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    size_chart: SizeChart | None = None

    def get(self, entry_id: str) -> Entry | None:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        return None

    def handoff_entry(self) -> Entry | None:
        """The entry flagged ``action: handoff`` (normally ``contact_human``), if any."""
        for entry in self.entries:
            if entry.action == "handoff":
                return entry
        return None


def load_kb(path: str | Path) -> KnowledgeBase:
    """Read and validate a KB YAML file. Raises :class:`KBError` on any problem."""
    p = Path(path)
    source = str(p)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise KBError([f"file not found: {source}"], source) from None
    except IsADirectoryError:
        raise KBError([f"not a file: {source}"], source) from None
    except UnicodeDecodeError as exc:
        raise KBError([f"file is not valid UTF-8: {exc}"], source) from None
    except OSError as exc:
        raise KBError([f"cannot read file: {exc}"], source) from None
    try:
        data = yaml.safe_load(raw)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "?"
        raise KBError([f"YAML syntax error at {where}: {exc.problem}"], source) from None
    except yaml.YAMLError as exc:
        raise KBError([f"YAML error: {exc}"], source) from None
    return parse_kb(data, source=source)


def _is_nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _parse_entry(idx: int, item: object, problems: list[str]) -> Entry | None:
    if not isinstance(item, Mapping):
        problems.append(f"entries[{idx}]: must be a mapping, got {type(item).__name__}")
        return None
    raw_id = item.get("id")
    label = f"entry '{raw_id}'" if _is_nonempty_str(raw_id) else f"entries[{idx}]"
    start = len(problems)
    entry_id = ""
    if raw_id is None:
        problems.append(f"{label}: field 'id' is missing")
    elif not isinstance(raw_id, str) or not _ID_RE.match(raw_id):
        problems.append(f"{label}: field 'id' {raw_id!r} must match [a-z0-9_]+")
    elif len(raw_id) > MAX_ID_CHARS:
        problems.append(f"{label}: field 'id' {raw_id!r} is longer than {MAX_ID_CHARS} characters")
    else:
        entry_id = raw_id

    known = {"id", "topic", "questions", "answer", "action"}
    problems.extend(f"{label}: unknown field {key!r}" for key in item if key not in known)

    topic = item.get("topic")
    if topic is None:
        problems.append(f"{label}: field 'topic' is missing")
    elif not isinstance(topic, str) or topic not in TOPICS:
        problems.append(
            f"{label}: field 'topic' has unknown value {topic!r} "
            f"(expected one of {', '.join(sorted(TOPICS))})"
        )

    action = item.get("action")
    if action is not None and (not isinstance(action, str) or action not in ACTIONS):
        problems.append(
            f"{label}: field 'action' has unknown value {action!r} (expected 'handoff')"
        )

    questions: dict[str, tuple[str, ...]] = {}
    raw_q = item.get("questions")
    if raw_q is None:
        problems.append(f"{label}: field 'questions' is missing (no questions at all)")
    elif not isinstance(raw_q, Mapping):
        problems.append(f"{label}: field 'questions' must map a language (zh/en) to a list")
    else:
        for lang, qs in raw_q.items():
            where = f"{label}: field 'questions.{lang}'"
            if lang not in LANGS:
                problems.append(f"{where}: unknown language (expected zh or en)")
                continue
            if isinstance(qs, str):
                qs = [qs]
            if not isinstance(qs, list):
                problems.append(f"{where}: must be a list of strings")
                continue
            if not qs:
                problems.append(f"{where}: empty question list")
                continue
            good: list[str] = []
            for j, q in enumerate(qs):
                at = f"{label}: field 'questions.{lang}[{j}]'"
                if not isinstance(q, str):
                    problems.append(f"{at}: must be a string, got {type(q).__name__}")
                elif not q.strip():
                    problems.append(f"{at}: empty string")
                else:
                    good.append(q.strip())
            if good:
                questions[str(lang)] = tuple(good)
        if not raw_q:
            problems.append(f"{label}: field 'questions' is empty (no questions at all)")

    answers: dict[str, str] = {}
    raw_a = item.get("answer")
    if raw_a is None:
        problems.append(f"{label}: field 'answer' is missing")
    elif not isinstance(raw_a, Mapping):
        problems.append(f"{label}: field 'answer' must map a language (zh/en) to a string")
    else:
        for lang, text in raw_a.items():
            where = f"{label}: field 'answer.{lang}'"
            if lang not in LANGS:
                problems.append(f"{where}: unknown language (expected zh or en)")
            elif not isinstance(text, str):
                problems.append(f"{where}: must be a string, got {type(text).__name__}")
            elif not text.strip():
                problems.append(f"{where}: empty string")
            else:
                answers[str(lang)] = text.strip()
    if isinstance(raw_q, Mapping) and isinstance(raw_a, Mapping):
        problems.extend(
            f"{label}: field 'answer.{lang}' is missing "
            f"(the entry has {lang} questions but no {lang} answer)"
            for lang in raw_q
            if lang in LANGS and lang not in raw_a
        )

    if len(problems) > start:
        return None
    return Entry(
        id=entry_id,
        topic=str(topic),
        questions=MappingProxyType(questions),
        answer=MappingProxyType(answers),
        action=action if isinstance(action, str) else None,
    )


def _parse_range(value: object, where: str, problems: list[str]) -> tuple[float, float] | None:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        problems.append(f"{where}: must be a [min, max] pair of numbers, got {value!r}")
        return None
    lo, hi = float(value[0]), float(value[1])
    if lo > hi:
        problems.append(f"{where}: min {lo:g} is greater than max {hi:g}")
        return None
    return (lo, hi)


def _check_order(
    ranges: list[tuple[float, float] | None], where: str, problems: list[str]
) -> None:
    previous: tuple[float, float] | None = None
    for i, rng in enumerate(ranges):
        if rng is None:
            continue
        if previous is not None and rng[0] < previous[0]:
            problems.append(f"{where}[{i}]: sizes must be ordered smallest first")
        previous = rng


def _parse_size_chart(raw: object, problems: list[str]) -> SizeChart | None:
    if not isinstance(raw, Mapping):
        problems.append("size_chart: must be a mapping with 'clothing' and/or 'shoes'")
        return None
    start = len(problems)
    problems.extend(
        f"size_chart: unknown section {key!r} (expected clothing, shoes)"
        for key in raw
        if key not in ("clothing", "shoes")
    )
    clothing: list[ClothingSize] = []
    shoes: list[ShoeSize] = []
    kinds: tuple[Literal["clothing"], Literal["shoes"]] = ("clothing", "shoes")
    for kind in kinds:
        rows = raw.get(kind)
        if rows is None:
            continue
        if not isinstance(rows, list) or not rows:
            problems.append(f"size_chart.{kind}: must be a non-empty list")
            continue
        heights: list[tuple[float, float] | None] = []
        weights: list[tuple[float, float] | None] = []
        feet: list[tuple[float, float] | None] = []
        seen: set[str] = set()
        for i, row in enumerate(rows):
            where = f"size_chart.{kind}[{i}]"
            if not isinstance(row, Mapping):
                problems.append(f"{where}: must be a mapping")
                continue
            size = row.get("size")
            if isinstance(size, int | float) and not isinstance(size, bool):
                size = f"{size:g}"
            if not _is_nonempty_str(size):
                problems.append(f"{where}: field 'size' is missing or empty")
                continue
            assert isinstance(size, str)
            if size in seen:
                problems.append(f"{where}: duplicate size {size!r}")
            seen.add(size)
            if kind == "clothing":
                allowed = {"size", "height_cm", "weight_kg"}
                h = w = None
                if "height_cm" in row:
                    h = _parse_range(row["height_cm"], f"{where}.height_cm", problems)
                if "weight_kg" in row:
                    w = _parse_range(row["weight_kg"], f"{where}.weight_kg", problems)
                if "height_cm" not in row and "weight_kg" not in row:
                    problems.append(f"{where}: needs 'height_cm' and/or 'weight_kg'")
                heights.append(h)
                weights.append(w)
                clothing.append(ClothingSize(size=size, height_cm=h, weight_kg=w))
            else:
                allowed = {"size", "foot_cm"}
                f = None
                if "foot_cm" not in row:
                    problems.append(f"{where}: field 'foot_cm' is missing")
                else:
                    f = _parse_range(row["foot_cm"], f"{where}.foot_cm", problems)
                feet.append(f)
                if f is not None:
                    shoes.append(ShoeSize(size=size, foot_cm=f))
            problems.extend(f"{where}: unknown field {key!r}" for key in row if key not in allowed)
        _check_order(heights, f"size_chart.{kind}", problems)
        _check_order(weights, f"size_chart.{kind}", problems)
        _check_order(feet, f"size_chart.{kind}", problems)
    if len(problems) > start:
        return None
    return SizeChart(clothing=tuple(clothing), shoes=tuple(shoes))


def parse_kb(data: object, *, source: str = "<kb>") -> KnowledgeBase:
    """Validate an already-parsed YAML document and build a :class:`KnowledgeBase`."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        kind = "empty document" if data is None else type(data).__name__
        raise KBError([f"top level must be a mapping with 'entries', got {kind}"], source)
    problems.extend(
        f"unknown top-level key {key!r} (expected entries, size_chart)"
        for key in data
        if key not in ("entries", "size_chart")
    )
    raw_entries: Any = data.get("entries")
    entries: list[Entry] = []
    if raw_entries is None:
        problems.append("'entries' is missing")
    elif not isinstance(raw_entries, list):
        problems.append("'entries' must be a list")
    elif not raw_entries:
        problems.append("'entries' is empty")
    else:
        first_index: dict[str, int] = {}
        for idx, item in enumerate(raw_entries):
            if isinstance(item, Mapping):
                raw_id = item.get("id")
                if isinstance(raw_id, str) and raw_id:
                    if raw_id in first_index:
                        problems.append(
                            f"entry '{raw_id}': duplicate id (entries[{first_index[raw_id]}] "
                            f"and entries[{idx}])"
                        )
                    else:
                        first_index[raw_id] = idx
            entry = _parse_entry(idx, item, problems)
            if entry is not None:
                entries.append(entry)
    size_chart: SizeChart | None = None
    if data.get("size_chart") is not None:
        size_chart = _parse_size_chart(data["size_chart"], problems)
    if problems:
        raise KBError(problems, source)
    return KnowledgeBase(entries=tuple(entries), size_chart=size_chart)


# --- writing -------------------------------------------------------------------------------


class _Range(tuple[float, ...]):
    """A [min, max] pair, written on one line."""


class _Dumper(yaml.SafeDumper):
    """Safe YAML, readable: lists indented under their key, multi-line answers as literal
    blocks, ranges as [min, max]."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _range(dumper: yaml.SafeDumper, value: _Range) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _pair(value: tuple[float, float]) -> _Range:
    return _Range((_number(value[0]), _number(value[1])))


_Dumper.add_representer(str, _text)
_Dumper.add_representer(_Range, _range)


def _entry_doc(entry: Entry) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entry.id, "topic": entry.topic}
    if entry.action is not None:
        doc["action"] = entry.action
    doc["questions"] = {lang: list(qs) for lang, qs in entry.questions.items()}
    doc["answer"] = dict(entry.answer)
    return doc


def _size_chart_doc(chart: SizeChart) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if chart.clothing:
        rows: list[dict[str, Any]] = []
        for c in chart.clothing:
            row: dict[str, Any] = {"size": c.size}
            if c.height_cm is not None:
                row["height_cm"] = _pair(c.height_cm)
            if c.weight_kg is not None:
                row["weight_kg"] = _pair(c.weight_kg)
            rows.append(row)
        doc["clothing"] = rows
    if chart.shoes:
        doc["shoes"] = [{"size": s.size, "foot_cm": _pair(s.foot_cm)} for s in chart.shoes]
    return doc


def dump_kb(kb: KnowledgeBase, *, header: str = "") -> str:
    """`kb` as YAML in the contract `load_kb` reads (`parse_kb(yaml.safe_load(dump_kb(kb)))`
    equals `kb`), Chinese kept as it is; `header` becomes comment lines at the top."""
    doc: dict[str, Any] = {"entries": [_entry_doc(e) for e in kb.entries]}
    if kb.size_chart is not None and (kb.size_chart.clothing or kb.size_chart.shoes):
        doc["size_chart"] = _size_chart_doc(kb.size_chart)
    body = yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100, indent=2)
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comments + body
