"""Size recommendations from body measurements found in a message.

``parse_measurements`` understands (after NFKC / lower case / Traditional->Simplified):
  * height: ``170cm``, ``170 厘米/公分``, ``1.75m``, ``1.7米``, ``1米7`` (170 cm), ``1米75``,
    ``身高165`` / ``身高1.65``, ``5'9"`` / ``5 ft 9`` / ``5 foot 9 in`` / ``69 inches``
  * weight: ``65kg``, ``65公斤/千克``, ``130斤`` (1 斤 = 0.5 kg),
    Chinese numerals (``一米七五``, ``七十公斤``, ``一百三十斤``), ``150lbs/pounds``,
    ``体重50`` (no unit: kg, or 斤 when above 120)
  * foot length: ``foot 26cm``, ``脚长24.5``, ``24.5cm`` alone (15-35 cm can only be a foot),
    ``245mm``
  * two bare numbers next to a size word ("170 65 what size") as height + weight.
``recommend`` maps them onto the KB size chart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from faq.kb import SizeChart
from faq.normalize import prenormalize

__all__ = ["Measurements", "SizeAdvice", "parse_measurements", "recommend", "advise"]

Note = Literal["fits", "between", "above_range", "below_range"]

_LB_KG = 0.45359237
_IN_CM = 2.54
_NUM = r"(\d{1,3}(?:\.\d+)?)"
_END = r"(?![a-z])"

_HEIGHT_CM_RE = re.compile(_NUM + r"\s*(?:cm|厘米|公分|centimet(?:er|re)s?)" + _END)
_HEIGHT_M_RE = re.compile(r"(?<![\d.])([12](?:\.\d{1,2})?)\s*(?:m|米|meters?|metres?)" + _END)
_HEIGHT_MI_RE = re.compile(r"(?<![\d.])([12])\s*米\s*(\d{1,2})(?!\d)")
_HEIGHT_CN_RE = re.compile(r"(?:身高|个子|高)\s*(?:是|有|大概|约)?\s*" + _NUM)
_HEIGHT_FTIN_RE = re.compile(
    r"(?<![\d.])([4-7])\s*(?:'|ft|feet|foot|英尺)\s*(?:(\d{1,2}(?:\.\d)?)\s*"
    r"(?:\"|''|in|inch|inches|英寸)?" + _END + ")?"
)
_HEIGHT_IN_RE = re.compile(r"(?<![\d.])(\d{2})\s*(?:\"|in|inch|inches|英寸)" + _END)
_WEIGHT_KG_RE = re.compile(_NUM + r"\s*(?:kg|kgs|公斤|千克|kilos?|kilograms?)" + _END)
_WEIGHT_JIN_RE = re.compile(_NUM + r"\s*斤")
_WEIGHT_LB_RE = re.compile(_NUM + r"\s*(?:lbs?|pounds?|磅)" + _END)
_WEIGHT_CN_RE = re.compile(r"(?:体重|重|weigh|weight)\s*(?:是|有|大概|约|is|of|about)?\s*" + _NUM)
_FOOT_KW_RE = re.compile(
    r"(?:脚长|脚|足长|foot|feet)\s*(?:长|length|is|of|about|约|大概|是|有)?\s*"
    r"(\d{2}(?:\.\d+)?)\s*(mm|cm|厘米|公分)?"
)
_FOOT_MM_RE = re.compile(r"(\d{3})\s*mm" + _END)
_BARE_NUM_RE = re.compile(
    r"(?<![\d.'])(\d{2,3}(?:\.\d)?)(?![\d.])(?!\s*(?:斤|kg|公斤|千克|lb|cm|mm|厘米|公分|码|号|'|\"|块|元))"
)
_SIZE_WORD_RE = re.compile(r"size|尺码|尺寸|码|穿|fit")
_SHOE_CONTEXT_RE = re.compile(r"size|尺码|尺寸|码|穿|fit|shoe|sneaker|boot|鞋|靴")
_WEIGHT_CONTEXT_RE = re.compile(
    r"size|尺码|尺寸|码|穿|fit|wear|体重|weigh|身材|衣服|裤|裙|shirt|dress|pant|jacket|coat"
)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_NUM_RE = re.compile(r"[零〇一二两三四五六七八九十百]+")


def _cn_number(run: str) -> str:
    """Chinese numeral run to digits: "七十" -> "70", "一百三十" -> "130".

    Without 十/百 the digits are read one by one ("七五" -> "75", as in 一米七五).
    """
    if "十" not in run and "百" not in run:
        return "".join(str(_CN_DIGITS[c]) for c in run)
    total = section = 0
    for c in run:
        if c == "百":
            total += (section or 1) * 100
            section = 0
        elif c == "十":
            total += (section or 1) * 10
            section = 0
        else:
            section = _CN_DIGITS[c]
    return str(total + section)


def _cn_numerals(text: str) -> str:
    """Chinese numerals to digits ("一米七五 七十公斤" -> "1米75 70公斤")."""
    return _CN_NUM_RE.sub(lambda m: _cn_number(m.group(0)), text)


@dataclass(frozen=True)
class Measurements:
    height_cm: float | None = None
    weight_kg: float | None = None
    foot_cm: float | None = None

    @property
    def empty(self) -> bool:
        return self.height_cm is None and self.weight_kg is None and self.foot_cm is None


@dataclass(frozen=True)
class SizeAdvice:
    kind: Literal["clothing", "shoes"]
    size: str
    height_cm: float | None
    weight_kg: float | None
    foot_cm: float | None
    note: Note
    # Sizes each measurement points to (e.g. {"height": "M", "weight": "L"}).
    by_measure: tuple[tuple[str, str], ...] = ()


def _plausible_height(v: float) -> bool:
    return 50.0 <= v <= 250.0


def _plausible_weight(v: float) -> bool:
    return 2.0 <= v <= 300.0


def _plausible_foot(v: float) -> bool:
    return 8.0 <= v <= 40.0


def _height(text: str) -> float | None:
    m = _HEIGHT_MI_RE.search(text)
    if m:
        metres, rest = int(m.group(1)), m.group(2)
        cm = metres * 100 + (int(rest) * 10 if len(rest) == 1 else int(rest))
        return float(cm)
    for m in _HEIGHT_CM_RE.finditer(text):
        v = float(m.group(1))
        if _plausible_height(v):
            return v
    m = _HEIGHT_FTIN_RE.search(text)
    if m:
        inches = float(m.group(2)) if m.group(2) else 0.0
        if inches < 12:
            return round(int(m.group(1)) * 12 * _IN_CM + inches * _IN_CM, 1)
    for m in _HEIGHT_M_RE.finditer(text):
        v = float(m.group(1)) * 100
        if _plausible_height(v):
            return round(v, 1)
    m = _HEIGHT_CN_RE.search(text)
    if m:
        v = float(m.group(1))
        if v < 2.5:
            v *= 100
        if _plausible_height(v):
            return round(v, 1)
    for m in _HEIGHT_IN_RE.finditer(text):
        v = float(m.group(1))
        if 48 <= v <= 90:
            return round(v * _IN_CM, 1)
    return None


def _weight(text: str) -> float | None:
    for regex, factor in ((_WEIGHT_KG_RE, 1.0), (_WEIGHT_JIN_RE, 0.5), (_WEIGHT_LB_RE, _LB_KG)):
        for m in regex.finditer(text):
            v = float(m.group(1)) * factor
            if _plausible_weight(v):
                return round(v, 1)
    cn = _WEIGHT_CN_RE.search(text)
    if cn:
        v = float(cn.group(1))
        if v > 120:  # nobody asking for clothes weighs 130 kg as often as 130 斤 / lbs
            v = v * (0.5 if re.search(r"[\u4e00-\u9fff]", text) else _LB_KG)
        if _plausible_weight(v):
            return round(v, 1)
    return None


def _foot(text: str) -> float | None:
    for m in _FOOT_KW_RE.finditer(text):
        if re.search(r"\d\s*$", text[: m.start()]):  # "5 feet 10" is a height
            continue
        v = float(m.group(1))
        if m.group(2) == "mm" or v > 100:
            v /= 10
        if _plausible_foot(v):
            return v
    if not _SHOE_CONTEXT_RE.search(text):
        return None
    for m in _HEIGHT_CM_RE.finditer(text):  # "24.5cm" + a shoe/size word: a foot length
        v = float(m.group(1))
        if 15.0 <= v <= 35.0:
            return v
    for m in _FOOT_MM_RE.finditer(text):
        v = float(m.group(1)) / 10
        if 15.0 <= v <= 35.0:
            return v
    return None


def parse_measurements(text: str) -> Measurements:
    """Extract height (cm), weight (kg) and foot length (cm) from free text."""
    t = _cn_numerals(prenormalize(text[:1000]))
    foot = _foot(t)
    height = _height(t)
    weight = _weight(t)
    if foot is None and (height is None or weight is None) and _SIZE_WORD_RE.search(t):
        # Bare numbers next to a size word: "170 65 what size", "我160 100斤穿多大".
        nums = [float(n) for n in _BARE_NUM_RE.findall(t)]
        if height is None:
            tall = [n for n in nums if 130 <= n <= 220]
            if len(tall) == 1:
                height = tall[0]
                nums.remove(height)
        if weight is None and height is not None:
            heavy = [n for n in nums if 30 <= n <= 150]
            if len(heavy) == 1:
                weight = heavy[0]
    if (
        height is None
        and foot is None
        and weight is not None
        and (weight < 25 or not _WEIGHT_CONTEXT_RE.search(t))
    ):
        weight = None  # "the parcel weighs 2kg" is not a sizing question
    return Measurements(height_cm=height, weight_kg=weight, foot_cm=foot)


def _place(value: float, ranges: list[tuple[float, float]]) -> tuple[int, Note]:
    """Index of the size for ``value``.

    Among the ranges that contain the value, the one whose centre is closest (charts often
    overlap: 170 cm is both L 165-173 and XL 170-178 -> L); on a tie, or in a gap between
    ranges, the larger size.
    """
    if value < min(lo for lo, _ in ranges):
        return 0, "below_range"
    if value > max(hi for _, hi in ranges):
        return len(ranges) - 1, "above_range"
    best_i, best_key = 0, (float("inf"), float("inf"))
    for i, (lo, hi) in enumerate(ranges):
        outside = 0.0 if lo <= value <= hi else min(abs(value - lo), abs(value - hi))
        key = (outside, abs(value - (lo + hi) / 2))
        if key <= best_key:
            best_i, best_key = i, key
    return best_i, "fits"


def recommend(m: Measurements, chart: SizeChart) -> SizeAdvice | None:
    """Recommend a size; ``None`` when the chart cannot answer these measurements."""
    if m.foot_cm is not None and chart.shoes:
        idx, note = _place(m.foot_cm, [s.foot_cm for s in chart.shoes])
        size = chart.shoes[idx].size
        return SizeAdvice(
            kind="shoes",
            size=size,
            height_cm=None,
            weight_kg=None,
            foot_cm=m.foot_cm,
            note=note,
            by_measure=(("foot", size),),
        )
    if (m.height_cm is None and m.weight_kg is None) or not chart.clothing:
        return None
    picks: list[tuple[str, int, Note]] = []
    for name, value, attr in (
        ("height", m.height_cm, "height_cm"),
        ("weight", m.weight_kg, "weight_kg"),
    ):
        if value is None:
            continue
        rows = [(i, getattr(c, attr)) for i, c in enumerate(chart.clothing)]
        rows = [(i, r) for i, r in rows if r is not None]
        if not rows:
            continue
        j, note = _place(value, [r for _, r in rows])
        picks.append((name, rows[j][0], note))
    if not picks:
        return None
    best = max(i for _, i, _ in picks)
    notes = {n for _, _, n in picks}
    final: Note
    if "above_range" in notes:
        final = "above_range"
    elif "below_range" in notes and len({i for _, i, _ in picks}) == 1:
        final = "below_range"
    elif len({i for _, i, _ in picks}) > 1:
        final = "between"
    else:
        final = "fits"
    return SizeAdvice(
        kind="clothing",
        size=chart.clothing[best].size,
        height_cm=m.height_cm,
        weight_kg=m.weight_kg,
        foot_cm=None,
        note=final,
        by_measure=tuple((name, chart.clothing[i].size) for name, i, _ in picks),
    )


def advise(text: str, chart: SizeChart | None) -> SizeAdvice | None:
    """Parse ``text`` and recommend from ``chart`` in one step."""
    if chart is None:
        return None
    m = parse_measurements(text)
    if m.empty:
        return None
    return recommend(m, chart)
