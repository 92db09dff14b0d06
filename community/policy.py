"""The community's settings as the rules need them (built from `Settings` in bot/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from community.checkins import CheckinRules
from community.tiers import DEFAULT_TIERS, Tier


@dataclass(frozen=True, slots=True)
class CommunityPolicy:
    tz: ZoneInfo
    chat_id: int | None = None  # the community group
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    rules: CheckinRules = field(default_factory=CheckinRules)
    welcome_lifetime: timedelta = timedelta(minutes=5)
    antispam_hours: int = 24  # links and forwards of members newer than this are held
    admin_ids: tuple[int, ...] = ()
