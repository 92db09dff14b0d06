"""The campaigns' settings as the rules need them (built from `Settings` in bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from campaigns.copyguard import CopyGuard
from campaigns.schedule import MarketingRules
from orders.rfm import RfmRules


@dataclass(frozen=True)
class AutomationRules:
    welcome: bool = False
    welcome_coupon: str = ""
    winback: bool = False
    winback_coupon: str = ""
    coupon_days: int = 14
    at: time = time(10, 0)  # shop time
    new_days: int = 7  # "new": first contact within this many days
    dormant_days: int = 30  # "dormant": no interaction for this many days


@dataclass(frozen=True)
class CampaignPolicy:
    tz: ZoneInfo
    group_chat_id: int | None = None  # the community group
    channel_id: int | None = None
    group_language: str = "zh"
    teaser_offsets: tuple[int, ...] = (24 * 60, 60)  # minutes before the start
    ending_soon_minutes: int = 10
    grace: timedelta = timedelta(minutes=30)
    marketing: MarketingRules = field(default_factory=lambda: MarketingRules(ZoneInfo("UTC")))
    guard: CopyGuard = field(default_factory=CopyGuard)
    automations: AutomationRules = field(default_factory=AutomationRules)
    rfm: RfmRules = field(default_factory=RfmRules)  # the order groups of segments
    admin_ids: tuple[int, ...] = ()

    @property
    def targets(self) -> tuple[int, ...]:
        """The chats a sale can be posted to, the group first."""
        return tuple(c for c in (self.group_chat_id, self.channel_id) if c is not None)
