"""Tiers: parsing the ladder and placing a member on it (pure, no database)."""

from __future__ import annotations

import re

import pytest

from community.tiers import (
    DEFAULT_TIERS,
    Tier,
    multiplier_for,
    next_tier,
    parse_tiers,
    points_to_next,
    tier_for,
)


def test_the_default_ladder() -> None:
    assert [(t.name_zh, t.name_en, t.threshold, t.multiplier) for t in DEFAULT_TIERS] == [
        ("普通", "Regular", 0, 1.0),
        ("银卡", "Silver", 500, 1.2),
        ("金卡", "Gold", 2000, 1.5),
        ("钻石", "Diamond", 5000, 2.0),
    ]
    assert DEFAULT_TIERS[1].label("zh-hans") == "银卡"
    assert DEFAULT_TIERS[1].label("en") == DEFAULT_TIERS[1].label(None) == "Silver"


def test_parse_tiers_reads_names_thresholds_and_multipliers() -> None:
    tiers = parse_tiers(" 普通/Regular:0, 银卡/Silver:500:1.2，VIP:3000:3 ")
    assert tiers == (
        Tier("普通", "Regular", 0, 1.0),
        Tier("银卡", "Silver", 500, 1.2),
        Tier("VIP", "VIP", 3000, 3.0),  # one name serves both languages
    )
    assert parse_tiers("") == parse_tiers("  ") == DEFAULT_TIERS
    assert parse_tiers("Only:0") == (Tier("Only", "Only", 0),)
    assert parse_tiers("A:0,") == (Tier("A", "A", 0),)  # a trailing comma is harmless


@pytest.mark.parametrize(
    ("spec", "bad_part", "problem"),
    [
        ("Regular:10, Silver:500", "Regular:10", "first tier's threshold must be 0"),
        ("A:0, B:500, C:500", "C:500", "thresholds must increase"),
        ("A:0, B:500, C:100", "C:100", "thresholds must increase"),
        ("A:0, B:abc", "B:abc", "is not a whole number"),
        ("A:0, B:1.5", "B:1.5", "is not a whole number"),
        ("A:0, B:-5", "B:-5", "is negative"),
        ("A:0, B:100:0", "B:100:0", "must be above 0"),
        ("A:0, B:100:-1", "B:100:-1", "must be above 0"),
        ("A:0, B:100:inf", "B:100:inf", "must be above 0"),
        ("A:0, B:100:x", "B:100:x", "is not a number"),
        ("A:0, B", "B", "expected name_zh/name_en:threshold"),
        ("A:0, B:1:2:3", "B:1:2:3", "expected name_zh/name_en:threshold"),
        ("A:0, /Silver:10", "/Silver:10", "expected a name"),
        ("A:0, a/b/c:10", "a/b/c:10", "expected a name"),
    ],
)
def test_parse_tiers_names_the_bad_part(spec: str, bad_part: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"tier {bad_part!r}")) as raised:
        parse_tiers(spec)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("earned", "index"),
    [(0, 0), (499, 0), (500, 1), (1999, 1), (2000, 2), (4999, 2), (5000, 3), (10**9, 3)],
)
def test_tier_for_earned_points(earned: int, index: int) -> None:
    assert tier_for(DEFAULT_TIERS, earned) == index


def test_imported_spend_counts_only_when_configured() -> None:
    assert tier_for(DEFAULT_TIERS, 100, 600) == 0  # spend ignored by default
    assert tier_for(DEFAULT_TIERS, 100, 600, spend_per_point=1.0) == 1
    assert tier_for(DEFAULT_TIERS, 100, 600, spend_per_point=2.0) == 0  # 300 points
    assert tier_for(DEFAULT_TIERS, 2500, 600, spend_per_point=1.0) == 2  # the higher counts
    assert points_to_next(DEFAULT_TIERS, 100, 600, spend_per_point=1.0) == 1400
    with pytest.raises(ValueError, match="spend_per_point"):
        tier_for(DEFAULT_TIERS, 0, 10, spend_per_point=0)


def test_next_tier_and_points_to_it() -> None:
    assert next_tier(DEFAULT_TIERS, 0) == DEFAULT_TIERS[1]
    assert next_tier(DEFAULT_TIERS, 3) is None
    assert points_to_next(DEFAULT_TIERS, 0) == 500
    assert points_to_next(DEFAULT_TIERS, 450) == 50
    assert points_to_next(DEFAULT_TIERS, 500) == 1500
    assert points_to_next(DEFAULT_TIERS, 5000) is None


def test_multiplier_for_clamps_into_the_ladder() -> None:
    assert [multiplier_for(DEFAULT_TIERS, i) for i in range(4)] == [1.0, 1.2, 1.5, 2.0]
    assert multiplier_for(DEFAULT_TIERS[:2], 3) == 1.2  # a tier stored before a shorter ladder
    assert multiplier_for((), 0) == 1.0
