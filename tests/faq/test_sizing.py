from __future__ import annotations

import pytest

from faq.kb import ClothingSize, ShoeSize, SizeChart
from faq.sizing import Measurements, parse_measurements, recommend

CHART = SizeChart(
    clothing=(
        ClothingSize("S", (150, 160), (40, 50)),
        ClothingSize("M", (160, 170), (50, 60)),
        ClothingSize("L", (170, 180), (60, 70)),
    ),
    shoes=(
        ShoeSize("36", (22.5, 23.0)),
        ShoeSize("37", (23.0, 23.5)),
        ShoeSize("38", (23.5, 24.0)),
    ),
)


@pytest.mark.parametrize(
    ("text", "height", "weight", "foot"),
    [
        ("170cm 65kg what size?", 170.0, 65.0, None),
        ("身高165 体重50公斤", 165.0, 50.0, None),
        ("1米7 130斤", 170.0, 65.0, None),
        ("1米75 七十公斤", 175.0, 70.0, None),
        ("一米七五 七十公斤", 175.0, 70.0, None),
        ("一米六 一百三十斤", 160.0, 65.0, None),
        ("身高一米七 体重六十五公斤", 170.0, 65.0, None),
        ("1.68m 55kg", 168.0, 55.0, None),
        ("5'9 150lbs", 175.3, 68.0, None),
        ("5 ft 2 in, 110 pounds", 157.5, 49.9, None),
        ("foot 26cm", None, None, 26.0),
        ("脚长24.5", None, None, 24.5),
        ("my feet are 245mm, which shoe size", None, None, 24.5),
        ("170 65 what size", 170.0, 65.0, None),
        ("身高170cm", 170.0, None, None),
        ("我160 100斤穿多大", 160.0, 50.0, None),  # bare 160 next to a size word + 斤
        ("what size should I get", None, None, None),
        ("my order 12345 weighs 2kg", None, None, None),
        ("the box is 30cm long", None, None, None),
    ],
)
def test_parse(text: str, height: float | None, weight: float | None, foot: float | None) -> None:
    m = parse_measurements(text)
    assert m.height_cm == (pytest.approx(height, abs=0.2) if height else None)
    assert m.weight_kg == (pytest.approx(weight, abs=0.2) if weight else None)
    assert m.foot_cm == (pytest.approx(foot) if foot else None)


@pytest.mark.parametrize(
    ("m", "kind", "size", "note"),
    [
        (Measurements(165, 55), "clothing", "M", "fits"),
        (Measurements(165, 68), "clothing", "L", "between"),  # height M, weight L -> larger
        (Measurements(160, None), "clothing", "M", "fits"),  # boundary tie -> larger
        (Measurements(None, 45), "clothing", "S", "fits"),
        (Measurements(195, 90), "clothing", "L", "above_range"),
        (Measurements(140, 35), "clothing", "S", "below_range"),
        (Measurements(None, None, 23.7), "shoes", "38", "fits"),
        (Measurements(None, None, 26.0), "shoes", "38", "above_range"),
        (Measurements(None, None, 21.0), "shoes", "36", "below_range"),
    ],
)
def test_recommend(m: Measurements, kind: str, size: str, note: str) -> None:
    advice = recommend(m, CHART)
    assert advice is not None
    assert (advice.kind, advice.size, advice.note) == (kind, size, note)


def test_recommend_nothing() -> None:
    assert recommend(Measurements(), CHART) is None
    assert recommend(Measurements(None, None, 24.0), SizeChart(clothing=CHART.clothing)) is None
