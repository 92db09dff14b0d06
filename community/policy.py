"""The community's settings as the rules need them (built from `Settings` in bot/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from community.checkins import CheckinRules
from community.tiers import DEFAULT_TIERS, Tier


@dataclass(frozen=True, slots=True)
class CommunityPolicy:
    tz: ZoneInfo
    chat_id: int | None = None  # the community group
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    rules: CheckinRules = field(default_factory=CheckinRules)
