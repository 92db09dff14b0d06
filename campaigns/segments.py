"""Who a broadcast reaches: the subscribers, narrowed by combinable filters.

Subscribers are users who started the bot in private (`started_at`), did not /unsubscribe
and have not blocked it. Every filter chosen narrows the audience further (AND): a segment
of `new` and `language="zh"` is the new users who read Chinese. The empty segment is "all".
The order groups `high_value`, `at_risk` and `sleeping` are `orders.rfm`'s, with the
thresholds of the `RfmRules` given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from orders import rfm
from orders.rfm import RfmRules
from storage.models import Member, User
from storage.numbers import NumberError, read_int

LANGUAGES = ("zh", "en")
STREAKS = (7, 30)  # the check-in streaks a manager can pick
FLAGS = ("new", "active", "dormant", *rfm.GROUPS)  # the on/off filters


@dataclass(frozen=True)
class Segment:
    new: bool = False  # joined the group, or first seen anywhere, within `new_days`
    active: bool = False  # seen within `active_days`
    dormant: bool = False  # not seen for `dormant_days`
    tier_min: int | None = None  # members.tier >= this
    streak_min: int | None = None  # members.streak >= this
    language: str | None = None  # the user's effective language
    # Customers by their orders (orders.rfm); a segment stored before these existed reads
    # them as off.
    high_value: bool = False  # recent, frequent, big
    at_risk: bool = False  # frequent and big, but not recent
    sleeping: bool = False  # long ago, rare, small

    @property
    def is_all(self) -> bool:
        return self == Segment()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Segment:
        """Read a stored (or forged) segment: unknown keys and wrong types are ignored."""
        if not isinstance(data, dict):
            return cls()

        def flag(name: str) -> bool:
            return data.get(name) is True

        def number(name: str) -> int | None:
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return None
            return value

        language = data.get("language")
        return cls(
            new=flag("new"),
            active=flag("active"),
            dormant=flag("dormant"),
            tier_min=number("tier_min"),
            streak_min=number("streak_min"),
            language=language if language in LANGUAGES else None,
            high_value=flag("high_value"),
            at_risk=flag("at_risk"),
            sleeping=flag("sleeping"),
        )


def toggled(segment: Segment, value: str, *, tiers: int) -> Segment | None:
    """The segment after a tap on a filter button (`value`: one of FLAGS, ``all``,
    ``lang=zh``, ``tier=N`` with N in 1..tiers-1, ``streak=N`` with N in STREAKS); None for
    a value no button carries (forged)."""
    name, _, arg = value.partition("=")
    current = segment.to_json()
    if name in FLAGS and not arg:
        current[name] = not current[name]
    elif name == "all" and not arg:
        return Segment()
    elif name == "lang" and arg in LANGUAGES:
        current["language"] = None if segment.language == arg else arg
    elif name in ("tier", "streak"):
        try:
            n = read_int(arg, low=1, high=tiers - 1 if name == "tier" else max(STREAKS))
        except NumberError:
            return None
        if name == "streak" and n not in STREAKS:
            return None
        key = f"{name}_min"
        current[key] = None if current[key] == n else n
    else:
        return None
    return Segment.from_json(current)


def subscribed() -> Any:
    """The users a marketing message may reach at all."""
    return and_(
        User.started_at.is_not(None),
        User.marketing_opt_out.is_(False),
        User.blocked.is_(False),
    )


def audience(
    segment: Segment,
    *,
    now: datetime,
    new_days: int = 7,
    active_days: int = 7,
    dormant_days: int = 30,
    rfm_rules: RfmRules | None = None,
) -> Select[tuple[int]]:
    """`SELECT users.id` of the segment's members (no ORDER BY: for counts and INSERTs).
    The order groups use `rfm_rules` (None: the defaults)."""
    query = select(User.id).where(subscribed())
    if segment.new:
        # New to the shop (the group, or any chat with the bot), not merely to the private
        # chat: a long-known member who opens the bot today is not new.
        since = now - timedelta(days=new_days)
        group = aliased(Member)  # its own name: the tier and streak filters join Member too
        joined = exists().where(group.user_id == User.id, group.joined_group_at >= since)
        query = query.where(or_(User.first_seen >= since, joined))
    if segment.active:
        query = query.where(User.last_seen >= now - timedelta(days=active_days))
    if segment.dormant:
        query = query.where(User.last_seen <= now - timedelta(days=dormant_days))
    if segment.tier_min is not None or segment.streak_min is not None:
        query = query.join(Member, Member.user_id == User.id)
        if segment.tier_min is not None:
            query = query.where(Member.tier >= segment.tier_min)
        if segment.streak_min is not None:
            query = query.where(Member.streak >= segment.streak_min)
    if segment.language is not None:
        lang = segment.language
        code = func.lower(User.language_code)
        query = query.where(
            or_(
                User.language == lang,
                and_(User.language.is_(None), or_(code == lang, code.like(f"{lang}-%"))),
            )
        )
    for name in rfm.GROUPS:
        if getattr(segment, name):
            query = query.where(rfm.in_group(name, User.id, rfm_rules or RfmRules(), now=now))
    # SQLAlchemy 2.1 spells a one-column select Select[int]; the API keeps the 2.0 spelling.
    return cast("Select[tuple[int]]", query)


async def count(
    session: AsyncSession, segment: Segment, *, now: datetime, rfm_rules: RfmRules | None = None
) -> int:
    """How many users the segment reaches now. Leaves the transaction to the caller."""
    members = audience(segment, now=now, rfm_rules=rfm_rules).subquery()
    n = await session.scalar(select(func.count()).select_from(members))
    return int(n or 0)
