"""The manager's /drop command, read into what a drop is made of.

    /drop 100 Title | discount text | limit=1 days=7 audience=all start=2026-11-23 20:00

The quantity and the title come first, then the discount text after a `|`, then options as
key=value pairs (`start=` and `until=` may hold a date and a time). The title and discount
together are what the group post says in the manager's words (`drop_copy`): the copy guard
checks that text before anything is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from community import drops
from community.drops import DropError, drop_copy
from community.tiers import Tier
from storage.models import CouponDrop
from storage.numbers import NumberError, read_int


class DropSpecError(ValueError):
    """The command cannot be read. `problem`: "usage" (its shape is wrong), "unknown" (an
    option not understood), "quantity" or "number" (not a whole number from `low` to
    `high`), "tier" (audience=tier:N beyond the ladder's `high`); `option` is the part at
    fault as typed."""

    def __init__(self, problem: str, option: str = "", low: int = 0, high: int = 0) -> None:
        super().__init__(f"{problem}: {option}" if option else problem)
        self.problem = problem
        self.option = option
        self.low = low
        self.high = high


# What each numeric option may be: (field, lowest, highest).
NUMBER_OPTIONS = {
    "limit": ("per_user_limit", 1, drops.MAX_PER_USER_LIMIT),
    "days": ("valid_days", 1, drops.MAX_VALID_DAYS),
    "cost": ("cost_points", 0, drops.MAX_COST_POINTS),  # 0: free
}


@dataclass(frozen=True, slots=True)
class DropSpec:
    quantity: int
    title: str
    discount: str
    starts_at: datetime
    per_user_limit: int = 1
    valid_days: int | None = None
    valid_until: datetime | None = None
    audience: str = "all"
    cost_points: int | None = None

    @property
    def copy(self) -> str:
        return drop_copy(self.title, self.discount)


def parse_drop_spec(args: str, tz_now: datetime, tiers: Sequence[Tier]) -> DropSpec:
    """`100 Title | discount | key=value ...`, read in the shop's time zone (`tz_now`);
    numbers through storage.numbers within the drops' bounds, `audience=tier:N` within
    `tiers`. Raises DropSpecError."""
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise DropSpecError("usage")
    head = parts[0].split(maxsplit=1)
    if len(head) < 2:
        raise DropSpecError("usage")
    try:
        quantity = read_int(head[0], low=1, high=drops.MAX_QUANTITY)
    except NumberError as exc:
        if exc.problem == "not_a_number":
            raise DropSpecError("usage") from None
        raise DropSpecError("quantity", head[0], 1, drops.MAX_QUANTITY) from None
    spec = DropSpec(quantity=quantity, title=head[1], discount=parts[1], starts_at=tz_now)
    changes: dict[str, Any] = {}
    # key=value pairs; start= and until= may hold a date and a time
    tokens = " ".join(parts[2:]).split()
    i = 0
    while i < len(tokens):
        key, _, value = tokens[i].partition("=")
        joined = i + 1 < len(tokens) and "=" not in tokens[i + 1] and ":" in tokens[i + 1]
        if key in ("start", "until") and joined:
            value = f"{value} {tokens[i + 1]}"
            i += 1
        i += 1
        if key in NUMBER_OPTIONS:
            field, low, high = NUMBER_OPTIONS[key]
            try:
                changes[field] = read_int(value, low=low, high=high)
            except NumberError:
                raise DropSpecError("number", f"{key}={value}", low, high) from None
        elif key == "until":
            changes["valid_until"] = _local_time(value, tz_now)
        elif key == "audience":
            changes["audience"] = _audience(value, tiers)
        elif key == "start":
            changes["starts_at"] = tz_now if value == "now" else _local_time(value, tz_now)
        else:
            raise DropSpecError("unknown", f"{key}={value}")
    if changes.get("cost_points") == 0:
        changes["cost_points"] = None
    return replace(spec, **changes)


def _audience(value: str, tiers: Sequence[Tier]) -> str:
    """A tier beyond the ladder would make a drop nobody can claim: refused here. Other
    audiences are checked by `drops.create_drop` (its message names the choices)."""
    try:
        audience = drops.Audience.parse(value)
    except DropError:
        return value
    if audience.kind == "tier" and (audience.value or 0) >= len(tiers):
        raise DropSpecError("tier", f"audience={value}", 0, len(tiers) - 1)
    return value


def _local_time(value: str, tz_now: datetime) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz_now.tzinfo)
        except ValueError:
            continue
    raise DropSpecError("unknown", value)


async def create(
    session: AsyncSession,
    spec: DropSpec,
    *,
    created_by: int,
    now: datetime,
    codes: Sequence[str] | None,
    hold: bool,
    post_in: int | None,
) -> CouponDrop:
    """Store the drop the command describes (see `drops.create_drop`: held as a draft with
    `hold`, else its group post queued in `post_in` when it is live); raises DropError.
    Commits once."""
    return await drops.create_drop(
        session,
        title=spec.title,
        discount=spec.discount,
        quantity=spec.quantity,
        per_user_limit=spec.per_user_limit,
        valid_until=spec.valid_until,
        valid_days=spec.valid_days,
        audience=spec.audience,
        starts_at=spec.starts_at,
        created_by=created_by,
        now=now,
        codes=codes,
        cost_points=spec.cost_points,
        hold=hold,
        post_in=post_in,
    )
