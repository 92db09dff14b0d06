"""VIP customers at the desk: their tickets go first and are marked, a tier's dedicated
agent gets them first, and the card shows the customer's tier and last orders. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ConfigError, load_settings
from community.tiers import DEFAULT_TIERS, find_tier, parse_tier_agents
from orders.ownership import orders_of
from storage.models import Member, Order, Ticket, TicketEvent
from support import tickets
from support.cards import card_facts
from support.tickets import DeskPolicy
from tests.conftest import T0
from tests.db_helpers import rows
from tests.support.test_desk_rules import ALICE, BOB, GROUP, add_agents, add_users, open_for, secs
from views.desk import render_card, topic_name
from views.texts import Catalogue

GOLD, DIAMOND = 2, 3  # indexes into DEFAULT_TIERS
VIP = DeskPolicy(chat_id=GROUP, vip_tier=GOLD, tier_names=("普通", "银卡", "金卡", "钻石"))
REGULAR_1, REGULAR_2, GOLD_MEMBER, DIAMOND_MEMBER = 6001, 6002, 6003, 6004


async def members(session: AsyncSession, **tiers: int) -> None:
    for user_id, tier in tiers.items():
        session.add(Member(user_id=int(user_id.removeprefix("u")), tier=tier, updated_at=T0))
    await session.commit()


async def test_a_vip_goes_before_the_regular_tickets_and_is_marked(session: AsyncSession) -> None:
    await add_users(session, REGULAR_1, REGULAR_2, GOLD_MEMBER, DIAMOND_MEMBER)
    await members(session, **{f"u{GOLD_MEMBER}": GOLD, f"u{DIAMOND_MEMBER}": DIAMOND})
    assert (await open_for(session, REGULAR_1, policy=VIP)).position == 1
    assert (await open_for(session, REGULAR_2, policy=VIP, now=T0 + secs(1))).position == 2
    gold = await open_for(session, GOLD_MEMBER, policy=VIP, now=T0 + secs(2))
    assert gold.position == 1  # before the two who came earlier
    diamond = await open_for(session, DIAMOND_MEMBER, policy=VIP, now=T0 + secs(3))
    assert diamond.position == 2  # VIPs among themselves: first come, first served
    # The regulars now wait behind both VIPs.
    assert (await open_for(session, REGULAR_1, policy=VIP, now=T0 + secs(4))).position == 3
    assert (await open_for(session, REGULAR_2, policy=VIP, now=T0 + secs(5))).position == 4
    vips = {t.user_id for t in await rows(session, Ticket, Ticket.vip.is_(True))}
    assert vips == {GOLD_MEMBER, DIAMOND_MEMBER}


async def test_without_a_vip_tier_nobody_jumps_the_queue(session: AsyncSession) -> None:
    await add_users(session, REGULAR_1, DIAMOND_MEMBER)
    await members(session, **{f"u{DIAMOND_MEMBER}": DIAMOND})
    off = DeskPolicy(chat_id=GROUP)
    assert (await open_for(session, REGULAR_1, policy=off)).position == 1
    assert (await open_for(session, DIAMOND_MEMBER, policy=off, now=T0 + secs(1))).position == 2
    assert await rows(session, Ticket, Ticket.vip.is_(True)) == []


async def test_the_tiers_dedicated_agent_is_assigned_first_when_online(
    session: AsyncSession,
) -> None:
    await add_users(session, REGULAR_1, GOLD_MEMBER, DIAMOND_MEMBER)
    await add_agents(session, ALICE, BOB)
    await members(session, **{f"u{GOLD_MEMBER}": GOLD, f"u{DIAMOND_MEMBER}": DIAMOND})
    policy = DeskPolicy(chat_id=GROUP, vip_tier=GOLD, tier_agents=((GOLD, BOB),))
    await tickets.set_presence(session, agent_id=ALICE, online=False, now=T0)
    await tickets.set_presence(session, agent_id=BOB, online=True, now=T0)
    # Auto-assign is off: only VIPs with a dedicated agent are assigned at once.
    regular = await open_for(session, REGULAR_1, policy=policy)
    gold = await open_for(session, GOLD_MEMBER, policy=policy, now=T0 + secs(1))
    diamond = await open_for(session, DIAMOND_MEMBER, policy=policy, now=T0 + secs(2))
    assert (regular.position, gold.position, diamond.position) == (1, 0, 0)
    by_user = {t.user_id: t for t in await rows(session, Ticket)}
    assert by_user[REGULAR_1].assignee_id is None
    assert by_user[GOLD_MEMBER].assignee_id == BOB  # the gold tier's agent
    assert by_user[DIAMOND_MEMBER].assignee_id == BOB  # no diamond agent: gold's serves
    events = await rows(session, TicketEvent, TicketEvent.kind == "assigned")
    assert {e.ticket_id for e in events if (e.data or {}).get("dedicated")} == {
        by_user[GOLD_MEMBER].id,
        by_user[DIAMOND_MEMBER].id,
    }


async def test_an_offline_dedicated_agent_leaves_the_ticket_to_the_usual_rule(
    session: AsyncSession,
) -> None:
    await add_users(session, GOLD_MEMBER)
    await add_agents(session, ALICE, BOB)
    await members(session, **{f"u{GOLD_MEMBER}": GOLD})
    await tickets.set_presence(session, agent_id=ALICE, online=True, now=T0)
    await tickets.set_presence(session, agent_id=BOB, online=False, now=T0)
    policy = DeskPolicy(chat_id=GROUP, vip_tier=GOLD, tier_agents=((GOLD, BOB),), auto_assign=True)
    await open_for(session, GOLD_MEMBER, policy=policy)
    (ticket,) = await rows(session, Ticket)
    assert ticket.assignee_id == ALICE  # Bob is offline; auto-assign picks who is online


async def test_the_card_shows_the_tier_the_vip_mark_and_the_last_orders(
    session: AsyncSession,
) -> None:
    await add_users(session, GOLD_MEMBER)
    await members(session, **{f"u{GOLD_MEMBER}": GOLD})
    for n in range(4):
        at = T0 - timedelta(days=10 - n)
        session.add(
            Order(
                order_id=f"88012{n}",
                telegram_id=GOLD_MEMBER,
                status="delivered" if n < 3 else "shipped",
                amount_minor=19900 + n,
                currency="CNY",
                created_at=at,
                updated_at=at,
            )
        )
    await session.commit()
    result = await open_for(session, GOLD_MEMBER, policy=VIP)
    (ticket,) = await rows(session, Ticket, Ticket.id == result.ticket_id)
    facts = await card_facts(
        session, ticket, shop_orders=await orders_of(session, GOLD_MEMBER, limit=3)
    )
    assert facts.tier == GOLD
    assert [o.order_id for o in facts.shop_orders] == ["880123", "880122", "880121"]
    t = Catalogue().for_lang("en")
    card = render_card(t, facts, reply_mode=False, tz=ZoneInfo("UTC"), tier_names=VIP.tier_names)
    assert "⭐ VIP" in card
    assert "Tier: 金卡" in card
    assert "#880123 · shipped · 199.03 CNY" in card
    assert "880120" not in card  # only the last three
    assert "⭐" in topic_name(t, ticket, None)


def test_tier_names_and_agents_are_read_from_the_settings_words() -> None:
    assert find_tier(DEFAULT_TIERS, "金卡") == GOLD
    assert find_tier(DEFAULT_TIERS, "gold") == GOLD
    assert find_tier(DEFAULT_TIERS, "3") == DIAMOND
    assert parse_tier_agents("金卡=123, Diamond = 456", DEFAULT_TIERS) == ((2, 123), (3, 456))
    assert parse_tier_agents("", DEFAULT_TIERS) == ()
    with pytest.raises(ValueError, match="no tier called 'Platinum'"):
        find_tier(DEFAULT_TIERS, "Platinum")
    with pytest.raises(ValueError, match="expected tier=agent"):
        parse_tier_agents("金卡:123", DEFAULT_TIERS)
    with pytest.raises(ValueError, match="has an agent already"):
        parse_tier_agents("金卡=1, Gold=2", DEFAULT_TIERS)


def test_a_bad_vip_setting_names_itself() -> None:
    with pytest.raises(ConfigError, match="SUPPORT_VIP_TIER: no tier called 'Platinum'"):
        load_settings(bot_token="1:x", support_vip_tier="Platinum")
    with pytest.raises(ConfigError, match="SUPPORT_TIER_AGENTS: 'gold': expected tier=agent"):
        load_settings(bot_token="1:x", support_tier_agents="gold")
    assert load_settings(bot_token="1:x", support_vip_tier="").vip_tier is None
    assert load_settings(bot_token="1:x").vip_tier == GOLD


async def test_the_cards_last_orders_are_in_the_agents_words_and_the_shops_days(
    session: AsyncSession,
) -> None:
    await add_users(session, GOLD_MEMBER)
    at = datetime(2026, 11, 19, 20, 0, tzinfo=UTC)  # 11-20 04:00 in Shanghai
    session.add(
        Order(
            order_id="880130",
            telegram_id=GOLD_MEMBER,
            status="shipped",
            amount_minor=19900,
            currency="CNY",
            created_at=at,
            updated_at=at,
        )
    )
    await session.commit()
    result = await open_for(session, GOLD_MEMBER, policy=VIP)
    (ticket,) = await rows(session, Ticket, Ticket.id == result.ticket_id)
    facts = await card_facts(session, ticket, shop_orders=await orders_of(session, GOLD_MEMBER))
    t = Catalogue().for_lang("zh")
    card = render_card(t, facts, reply_mode=False, tz=ZoneInfo("Asia/Shanghai"))
    assert "#880130 · 已发货 · 199.00 CNY · 2026-11-20" in card, card


async def test_an_imported_order_on_the_card_is_dated_by_its_payment(
    session: AsyncSession,
) -> None:
    await add_users(session, GOLD_MEMBER)
    paid = datetime(2026, 10, 1, 4, 0, tzinfo=UTC)
    session.add(
        Order(
            order_id="880140",
            telegram_id=GOLD_MEMBER,
            status="delivered",
            amount_minor=5000,
            currency="CNY",
            paid_at=paid,
            created_at=T0,  # the import's time
            updated_at=T0,
        )
    )
    await session.commit()
    result = await open_for(session, GOLD_MEMBER, policy=VIP)
    (ticket,) = await rows(session, Ticket, Ticket.id == result.ticket_id)
    facts = await card_facts(session, ticket, shop_orders=await orders_of(session, GOLD_MEMBER))
    card = render_card(Catalogue().for_lang("en"), facts, reply_mode=False, tz=ZoneInfo("UTC"))
    assert "#880140 · delivered · 50.00 CNY · 2026-10-01" in card, card
