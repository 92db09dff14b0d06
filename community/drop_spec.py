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
from community.drops import drop_copy
from storage.models import CouponDrop


class DropSpecError(ValueError):
    """The command cannot be read: "usage" (its shape is wrong) or the option at fault."""


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


def parse_drop_spec(args: str, tz_now: datetime) -> DropSpec:
    """`100 Title | discount | key=value ...`, read in the shop's time zone (`tz_now`);
    raises DropSpecError."""
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise DropSpecError("usage")
    head = parts[0].split(maxsplit=1)
    if len(head) < 2 or not head[0].isdigit():
        raise DropSpecError("usage")
    spec = DropSpec(quantity=int(head[0]), title=head[1], discount=parts[1], starts_at=tz_now)
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
        if key == "limit" and value.isdigit():
            changes["per_user_limit"] = int(value)
        elif key == "days" and value.isdigit():
            changes["valid_days"] = int(value)
        elif key == "until":
            changes["valid_until"] = _local_time(value, tz_now)
        elif key == "audience":
            changes["audience"] = value
        elif key == "cost" and value.isdigit():
            changes["cost_points"] = int(value) or None
        elif key == "start":
            changes["starts_at"] = tz_now if value == "now" else _local_time(value, tz_now)
        else:
            raise DropSpecError(f"{key}={value}")
    return replace(spec, **changes)


def _local_time(value: str, tz_now: datetime) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz_now.tzinfo)
        except ValueError:
            continue
    raise DropSpecError(value)


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
