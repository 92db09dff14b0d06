"""What handlers ask aiogram for by name.

App-scoped objects are the Dispatcher's workflow data, set once by bot.app.create_dispatcher;
per-update objects come from bot's UpdateContextMiddleware. A handler declares the ones it
needs as typed parameters (`async def cmd_x(message: Message, texts: Texts, desk: DeskPolicy)`),
never through closures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.policy import CampaignPolicy
from community.claim_queue import ClaimQueue
from community.drops import ClaimStatus
from community.policy import CommunityPolicy
from faq import LiveMatcher
from orders.policy import OrdersPolicy
from orders.returns import ReturnPolicy
from storage.queries import SeenUser
from support.tickets import DeskPolicy
from views.callbacks import ClaimDrop
from views.texts import Catalogue, Texts


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """The few plain settings handlers read (the rest live in the domain policies)."""

    default_language: str = "zh"
    misses_before_handoff: int = 2
    topics: bool = True  # the support desk's mode: forum topics, or replies to the card
    agents_language: str = "zh"
    shop_name: str = ""


class Tally(Protocol):
    """Counts one outcome for the bot's metrics (GET /metrics); handlers only call it."""

    def __call__(self, outcome: str, /) -> None: ...


class SoldOut(dict[int, ClaimStatus]):
    """Drops this process has seen sold out or ended (they never reopen), and which of the
    two (SOLD_OUT or ENDED): their taps are answered before any database work
    (bot/middlewares/sold_out.py), saying the right one."""

    PREFIX = ClaimDrop.__prefix__ + ":"

    def mark(self, drop_id: int, why: ClaimStatus) -> None:
        """Remember that the drop is over: ENDED (by a manager, or its coupons expired), or
        any other status meaning sold out."""
        self[drop_id] = ClaimStatus.ENDED if why is ClaimStatus.ENDED else ClaimStatus.SOLD_OUT

    @classmethod
    def drop_of(cls, data: str | None) -> int | None:
        """The drop id of Claim callback data, or None."""
        if not data or not data.startswith(cls.PREFIX):
            return None
        tail = data[len(cls.PREFIX) :]
        return int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 18 else None


class AppData(TypedDict):
    """The Dispatcher's workflow data (app-scoped)."""

    catalogue: Catalogue
    matcher: LiveMatcher
    desk: DeskPolicy
    community: CommunityPolicy
    campaigns: CampaignPolicy
    returns_policy: ReturnPolicy
    admin_ids: tuple[int, ...]
    sold_out: SoldOut
    claims: ClaimQueue
    options: ChatOptions
    orders: OrdersPolicy
    faq_outcomes: Tally  # a free-text question's outcome (support.assistant.ReplyKind)


class UpdateData(TypedDict, total=False):
    """Added per update by bot's UpdateContextMiddleware."""

    session: AsyncSession
    now: datetime
    texts: Texts
    lang: str
    lang_override: str | None
    user_record: SeenUser
