"""Membership tiers: names, thresholds and benefits, computed from points earned.

Pure: no database. A member's tier is the highest whose threshold their lifetime earned
points reach (or, when a shop spend figure is imported, the higher of earned points and
that spend converted to points). Tiers are referred to by their index in the ladder, so
`tier:N` coupon audiences and `members.tier` stay valid when names are renamed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tier:
    name_zh: str
    name_en: str
    threshold: int  # lifetime earned points that reach this tier
    multiplier: float = 1.0  # applied to check-in base points

    def label(self, lang: str | None) -> str:
        """The tier's name in the member's language (Chinese for zh-*, else English)."""
        return self.name_zh if (lang or "").lower().startswith("zh") else self.name_en


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("普通", "Regular", 0, 1.0),
    Tier("银卡", "Silver", 500, 1.2),
    Tier("金卡", "Gold", 2000, 1.5),
    Tier("钻石", "Diamond", 5000, 2.0),
)


def parse_tiers(spec: str) -> tuple[Tier, ...]:
    """Parse `"普通/Regular:0, 银卡/Silver:500:1.2, ..."`; an empty spec gives the defaults.

    Each tier is `zh/en:threshold[:multiplier]` (one name serves both languages); tiers are
    separated by commas. The first threshold must be 0, thresholds strictly increase and
    multipliers are positive. Errors raise ValueError naming the bad part.
    """
    parts = [p.strip() for p in spec.replace("，", ",").split(",")]
    parts = [p for p in parts if p]
    if not parts:
        return DEFAULT_TIERS
    tiers = tuple(_parse_tier(p) for p in parts)
    if tiers[0].threshold != 0:
        raise ValueError(
            f"tier {parts[0]!r}: the first tier's threshold must be 0, not {tiers[0].threshold}"
        )
    for i in range(1, len(tiers)):
        if tiers[i].threshold <= tiers[i - 1].threshold:
            raise ValueError(
                f"tier {parts[i]!r}: thresholds must increase "
                f"({tiers[i].threshold} is not above {tiers[i - 1].threshold})"
            )
    return tiers


def _parse_tier(part: str) -> Tier:
    fields = [f.strip() for f in part.replace("：", ":").split(":")]
    if len(fields) not in (2, 3):
        raise ValueError(f"tier {part!r}: expected name_zh/name_en:threshold[:multiplier]")
    names = [n.strip() for n in fields[0].split("/")]
    if len(names) == 1:
        names = names * 2
    if len(names) != 2 or not all(names):
        raise ValueError(f"tier {part!r}: expected a name, or two as name_zh/name_en")
    try:
        threshold = int(fields[1])
    except ValueError:
        raise ValueError(f"tier {part!r}: threshold {fields[1]!r} is not a whole number") from None
    if threshold < 0:
        raise ValueError(f"tier {part!r}: threshold {threshold} is negative")
    multiplier = 1.0
    if len(fields) == 3:
        try:
            multiplier = float(fields[2])
        except ValueError:
            raise ValueError(f"tier {part!r}: multiplier {fields[2]!r} is not a number") from None
        if not math.isfinite(multiplier) or multiplier <= 0:
            raise ValueError(f"tier {part!r}: multiplier {fields[2]!r} must be above 0")
    return Tier(names[0], names[1], threshold, multiplier)


def tier_score(earned: int, spend: int = 0, *, spend_per_point: float | None = None) -> int:
    """The points a tier is judged on: earned points, or the higher of those and the
    imported spend converted (`spend_per_point` units of spend count as one point; None:
    spend does not count)."""
    if spend_per_point is None or spend <= 0:
        return earned
    if spend_per_point <= 0:
        raise ValueError("spend_per_point must be above 0")
    return max(earned, int(spend / spend_per_point))


def tier_for(
    tiers: Sequence[Tier],
    earned: int,
    spend: int = 0,
    *,
    spend_per_point: float | None = None,
) -> int:
    """The index of the highest tier reached."""
    score = tier_score(earned, spend, spend_per_point=spend_per_point)
    index = 0
    for i, tier in enumerate(tiers):
        if score >= tier.threshold:
            index = i
    return index


def next_tier(tiers: Sequence[Tier], index: int) -> Tier | None:
    """The tier after `index`; None at the top."""
    return tiers[index + 1] if 0 <= index + 1 < len(tiers) else None


def points_to_next(
    tiers: Sequence[Tier],
    earned: int,
    spend: int = 0,
    *,
    spend_per_point: float | None = None,
) -> int | None:
    """Points still to earn for the next tier; None at the top."""
    score = tier_score(earned, spend, spend_per_point=spend_per_point)
    following = next_tier(tiers, tier_for(tiers, score))
    return None if following is None else following.threshold - score


def multiplier_for(tiers: Sequence[Tier], index: int) -> float:
    """The check-in multiplier of tier `index` (clamped into the ladder, should the ladder
    have been shortened since the member's tier was stored)."""
    if not tiers:
        return 1.0
    return tiers[max(0, min(index, len(tiers) - 1))].multiplier


def find_tier(tiers: tuple[Tier, ...], name: str) -> int:
    """The index of the tier called `name` (its Chinese or English name, any case, or its
    number counted from 0); ValueError naming the known tiers when there is none."""
    wanted = name.strip()
    if wanted.isdigit() and int(wanted) < len(tiers):
        return int(wanted)
    for i, tier in enumerate(tiers):
        if wanted.casefold() in (tier.name_zh.casefold(), tier.name_en.casefold()):
            return i
    known = ", ".join(f"{t.name_zh}/{t.name_en}" for t in tiers)
    raise ValueError(f"no tier called {wanted!r} (the tiers are {known})")


def parse_tier_agents(spec: str, tiers: tuple[Tier, ...]) -> tuple[tuple[int, int], ...]:
    """Parse `"金卡=123456789, Diamond=987654321"`: (tier index, agent's Telegram id) pairs,
    one agent per tier. Empty: none."""
    pairs: dict[int, int] = {}
    for part in (p.strip() for p in spec.replace("，", ",").split(",")):
        if not part:
            continue
        name, sep, agent = (x.strip() for x in part.replace("＝", "=").partition("="))
        if not sep or not agent.lstrip("-").isdigit():
            raise ValueError(f"{part!r}: expected tier=agent's Telegram id")
        index = find_tier(tiers, name)
        if index in pairs:
            raise ValueError(f"{part!r}: tier {name!r} has an agent already")
        pairs[index] = int(agent)
    return tuple(sorted(pairs.items()))
