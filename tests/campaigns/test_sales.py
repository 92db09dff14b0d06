"""Flash sales on SQLite and PostgreSQL with an injected clock: the lifecycle order, restart
recovery with the grace and skip rules, two schedulers on one database, reminders, edits
and cancellation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import sales
from campaigns.policy import CampaignPolicy
from campaigns.sales import DueReport, RemindStatus, SaleError
from storage.models import AuditEntry, OutboxMessage, Sale, SalePost, SaleReminder, User
from tests.conftest import T0
from tests.db_helpers import count, race, rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUP, CHANNEL = -1001111111111, -1002222222222
MANAGER = 900
ALICE, BOB, CAROL = 5_000_000_001, 5_000_000_002, 5_000_000_003
POLICY = CampaignPolicy(
    tz=SHANGHAI,
    group_chat_id=GROUP,
    channel_id=CHANNEL,
    teaser_offsets=(24 * 60, 60),
    ending_soon_minutes=10,
    grace=timedelta(minutes=30),
    admin_ids=(MANAGER,),
)
START = T0 + timedelta(days=2)  # 2026-11-22 10:00 in Shanghai
END = START + timedelta(hours=2)
STAGES = ["teaser:1440", "teaser:60", "start", "ending", "end"]


async def add_users(session: AsyncSession, *ids: int, blocked: bool = False) -> None:
    await session.execute(
        insert(User),
        [
            {"id": i, "first_name": f"u{i}", "first_seen": T0, "last_seen": T0, "blocked": blocked}
            for i in ids
        ],
    )
    await session.commit()


async def new_sale(session: AsyncSession, **overrides: Any) -> Sale:
    kwargs: dict[str, Any] = {
        "product": "Down jacket",
        "price": "¥399",
        "original_price": "¥799",
        "stock": 50,
        "image_file_id": None,
        "url": "https://shop.example/jacket",
        "starts_at": START,
        "ends_at": END,
        "targets": [GROUP],
        "policy": POLICY,
        "created_by": MANAGER,
        "now": T0,
    }
    kwargs.update(overrides)
    return await sales.create_sale(session, **kwargs)


async def posts_of(session: AsyncSession, sale_id: int) -> list[SalePost]:
    return sorted(
        await rows(session, SalePost, SalePost.sale_id == sale_id),
        key=lambda p: (p.due_at, p.id),
    )


async def outbox_rows(session: AsyncSession, kind: str) -> list[OutboxMessage]:
    return await rows(session, OutboxMessage, OutboxMessage.kind == kind)


def pl(value: Any) -> dict[str, Any]:
    """A JSON column's object."""
    assert isinstance(value, dict)
    return value


async def run(session: AsyncSession, at: datetime) -> DueReport:
    return await sales.run_due(session, policy=POLICY, now=at)


async def stages_of(session: AsyncSession, post_ids: Sequence[int]) -> list[str]:
    found = {p.id: p.stage for p in await rows(session, SalePost, SalePost.id.in_(post_ids))}
    return [found[i] for i in post_ids]


# --- parsing (pure) ----------------------------------------------------------------------


def test_prices_stock_and_links() -> None:
    assert sales.parse_prices("99 199") == ("99", "199")
    assert sales.parse_prices("¥99 / ¥199") == ("¥99", "¥199")
    assert sales.parse_prices(" ¥99／¥199 ") == ("¥99", "¥199")
    assert sales.parse_prices("$5") == ("$5", None)
    for bad in ("", "1 2 3", "x" * 33):
        with pytest.raises(SaleError):
            sales.parse_prices(bad)
    assert sales.parse_stock("1,000") == 1000
    for bad in ("0", "-3", "many", "99999999999", "²", "５０", "9" * 20):
        with pytest.raises(SaleError, match="sale-err-stock"):
            sales.parse_stock(bad)
    assert sales.parse_prices("¥1,299.50 / ¥2,000") == ("¥1,299.50", "¥2,000")
    for bad in ("²", "免费", "¥９９", "99 ¹⁹⁹"):
        with pytest.raises(SaleError, match="sale-err-price"):
            sales.parse_prices(bad)
    with pytest.raises(SaleError, match="sale-err-price-large"):
        sales.parse_prices("¥" + "9" * 20)
    assert sales.parse_duration("٣h") is None  # not a duration (nor a time)
    assert sales.parse_duration("366d") == timedelta(days=366)
    for bad in ("367d", "9000h", "9" * 19 + "m"):
        with pytest.raises(SaleError, match="sale-err-too-long"):
            sales.parse_duration(bad)
    assert sales.check_url(" https://shop.example/a?b=1 ") == "https://shop.example/a?b=1"
    for bad in ("shop.example", "ftp://x.y/z", "javascript:alert(1)", "https://", "http://a b"):
        with pytest.raises(SaleError, match="sale-err-url"):
            sales.check_url(bad)


def test_times_are_read_in_the_shop_time_zone() -> None:
    now = T0  # 10:00 in Shanghai, 2026-11-20

    def when(text: str) -> datetime:
        return sales.parse_when(text, now=now, tz=SHANGHAI)

    assert when("2026-12-04 20:00") == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert when("12-04 20:00") == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert when("11-19 20:00") == datetime(2027, 11, 19, 12, 0, tzinfo=UTC)  # passed: next year
    assert when("20:00") == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # today
    assert when("09:00") == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # passed: tomorrow
    for bad in ("tomorrow", "25:00", "2026-13-01 10:00", "02-30 10:00", ""):
        with pytest.raises(SaleError, match="sale-err-time"):
            when(bad)
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert sales.parse_end("2h", starts_at=start, now=now, tz=SHANGHAI) == start + timedelta(
        hours=2
    )
    assert sales.parse_end("1h30m", starts_at=start, now=now, tz=SHANGHAI) == start + timedelta(
        minutes=90
    )
    assert sales.parse_end("1d", starts_at=start, now=now, tz=SHANGHAI) == start + timedelta(
        days=1
    )
    # A bare time is the first such time after the start.
    assert sales.parse_end("22:00", starts_at=start, now=now, tz=SHANGHAI) == start + timedelta(
        hours=2
    )
    assert sales.parse_duration("0m") is None


# --- creating ----------------------------------------------------------------------------


async def test_a_sale_plans_its_lifecycle_in_each_chat(session: AsyncSession) -> None:
    sale = await new_sale(session, targets=[GROUP, CHANNEL])
    assert sale.status == "scheduled" and sale.teaser_offsets == [1440, 60]
    posts = await posts_of(session, sale.id)
    assert [(p.stage, p.chat_id) for p in posts] == [
        (stage, chat) for stage in STAGES for chat in (GROUP, CHANNEL)
    ]
    due = {p.stage: p.due_at for p in posts}
    assert due == {
        "teaser:1440": START - timedelta(days=1),
        "teaser:60": START - timedelta(hours=1),
        "start": START,
        "ending": END - timedelta(minutes=10),
        "end": END,
    }
    assert {p.status for p in posts} == {"pending"}
    assert await count(session, AuditEntry) == 0


async def test_teasers_already_past_and_a_pointless_ending_are_not_planned(
    session: AsyncSession,
) -> None:
    sale = await new_sale(
        session, starts_at=T0 + timedelta(hours=2), ends_at=T0 + timedelta(hours=2, minutes=5)
    )
    assert [p.stage for p in await posts_of(session, sale.id)] == ["teaser:60", "start", "end"]


async def test_bad_sales_are_refused_with_a_reason(session: AsyncSession) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"product": "  "}, "sale-err-product-empty"),
        ({"product": "x" * 129}, "sale-err-product-long"),
        ({"price": ""}, "sale-err-price"),
        ({"stock": 0}, "sale-err-stock"),
        ({"url": "shop.example"}, "sale-err-url"),
        ({"starts_at": T0}, "sale-err-start-past"),
        ({"starts_at": T0 - timedelta(hours=1)}, "sale-err-start-past"),
        ({"ends_at": START}, "sale-err-end-before-start"),
        ({"starts_at": T0 + timedelta(days=400), "ends_at": T0 + timedelta(days=401)}, "too-far"),
        ({"targets": []}, "sale-err-no-target"),
        ({"targets": [-100999]}, "sale-err-target"),
    ]
    for overrides, code in cases:
        with pytest.raises(SaleError, match=code):
            await new_sale(session, **overrides)
    assert await count(session, Sale) == 0
    assert await count(session, SalePost) == 0


async def test_publishing_over_the_copy_guard_is_logged(session: AsyncSession) -> None:
    sale = await new_sale(
        session, product="最佳羽绒服", copy_override=True, override_words=["最佳"]
    )
    assert sale.copy_override
    [entry] = await rows(session, AuditEntry)
    assert (entry.action, entry.subject, entry.actor_id) == (
        "copy_override",
        f"sale:{sale.id}",
        MANAGER,
    )
    assert entry.detail == {"words": ["最佳"]}


# --- the scheduler -----------------------------------------------------------------------


async def test_posts_go_out_in_lifecycle_order_each_once(session: AsyncSession) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session, targets=[GROUP, CHANNEL])
    seen: list[str] = []
    assert (await run(session, T0)).queued == []  # nothing due yet
    for at in (
        START - timedelta(days=1),
        START - timedelta(hours=1),
        START,
        END - timedelta(minutes=10),
        END,
    ):
        assert (await run(session, at - timedelta(seconds=1))).queued == []
        report = await run(session, at)
        assert len(report.queued) == 2 and report.skipped == []
        stages = await stages_of(session, report.queued)
        assert len(set(stages)) == 1
        seen.append(stages[0])
        assert (await run(session, at + timedelta(seconds=5))).queued == []  # once
    assert seen == STAGES
    queued = await outbox_rows(session, sales.POST)
    assert len(queued) == 10
    assert {o.lane for o in queued} == {f"s:{GROUP}", f"s:{CHANNEL}"}
    assert {o.dedupe_key for o in queued} == {
        f"sale_post:{pl(o.payload)['post_id']}" for o in queued
    }
    assert all(o.chat_id == int(o.lane[2:]) for o in queued)
    # In each chat's lane, the outbox order is the lifecycle order.
    group = [pl(o.payload)["post_id"] for o in queued if o.chat_id == GROUP]
    assert await stages_of(session, group) == STAGES
    assert {p.status for p in await posts_of(session, sale.id)} == {"queued"}
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.NOTICE) == 0


async def test_after_downtime_a_teaser_within_grace_is_sent_late(session: AsyncSession) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session)
    # Down from T0 until 40 minutes before the start: the 1 h teaser is 20 min late (within
    # the 30 min grace), the 24 h teaser is almost a day late.
    report = await run(session, START - timedelta(minutes=40))
    assert await stages_of(session, report.queued) == ["teaser:60"]
    assert await stages_of(session, report.skipped) == ["teaser:1440"]
    posts = {p.stage: p for p in await posts_of(session, sale.id)}
    assert posts["teaser:1440"].status == "skipped" and "late" in (posts["teaser:1440"].note or "")
    [notice] = await outbox_rows(session, sales.NOTICE)
    assert (notice.chat_id, notice.lane) == (MANAGER, f"u:{MANAGER}")
    assert notice.payload == {"sale_id": sale.id, "post_ids": [posts["teaser:1440"].id]}


async def test_after_downtime_past_the_start_teasers_are_skipped_and_the_start_goes_late(
    session: AsyncSession,
) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session, targets=[GROUP, CHANNEL])
    late = START + timedelta(minutes=45)  # beyond the grace: the start post still goes
    report = await run(session, late)
    assert await stages_of(session, report.queued) == ["start", "start"]
    assert (
        sorted(await stages_of(session, report.skipped)) == ["teaser:1440"] * 2 + ["teaser:60"] * 2
    )
    posts = await posts_of(session, sale.id)
    start = [p for p in posts if p.stage == "start"]
    assert all(p.status == "queued" and p.note == "late by 45 min" for p in start)
    assert all(
        "teaser after the start" in (p.note or "") for p in posts if p.stage.startswith("t")
    )
    # One notice for the sale, naming the four skipped teasers.
    [notice] = await outbox_rows(session, sales.NOTICE)
    assert sorted(pl(notice.payload)["post_ids"]) == sorted(report.skipped)


async def test_after_downtime_past_the_end_only_silence_and_a_notice_remain(
    session: AsyncSession,
) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session)
    report = await run(session, END + timedelta(minutes=1))
    assert report.queued == []
    posts = {p.stage: p for p in await posts_of(session, sale.id)}
    assert {s: p.status for s, p in posts.items()} == dict.fromkeys(STAGES, "skipped")
    assert posts["start"].note == "the sale had ended"
    assert posts["end"].note == "no start post to edit"
    [notice] = await outbox_rows(session, sales.NOTICE)
    # The end edit is skipped silently: the notice names the four posts that were due.
    assert sorted(pl(notice.payload)["post_ids"]) == sorted(
        posts[s].id for s in ("teaser:1440", "teaser:60", "start", "ending")
    )
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.POST) == 0


async def test_ending_soon_is_sent_late_only_before_the_end_and_the_end_edit_always(
    session: AsyncSession,
) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session)
    await run(session, START)  # teasers skipped, start queued
    report = await run(session, END + timedelta(hours=3))  # down over the end
    assert await stages_of(session, report.queued) == ["end"]
    assert await stages_of(session, report.skipped) == ["ending"]
    posts = {p.stage: p for p in await posts_of(session, sale.id)}
    assert posts["ending"].note == "the sale had ended"


async def test_a_sale_without_a_creator_skips_without_a_notice(session: AsyncSession) -> None:
    await new_sale(session, created_by=None)
    report = await run(session, START + timedelta(minutes=1))
    assert len(report.skipped) == 2
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.NOTICE) == 0


async def test_two_schedulers_on_one_database_queue_each_post_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    await add_users(session, MANAGER, ALICE, BOB)
    sale = await new_sale(session, targets=[GROUP, CHANNEL])
    for user in (ALICE, BOB):
        assert await sales.remind_me(session, sale_id=sale.id, user_id=user, now=T0) == "added"
    posts = await posts_of(session, sale.id)
    first = min(posts, key=lambda p: (p.due_at, p.id))
    at = START + timedelta(minutes=1)  # teasers skipped, starts queued

    async def scheduler() -> DueReport:
        async with session_factory() as s:
            return await sales.run_due(s, policy=POLICY, now=at)

    lock = select(SalePost.id).where(SalePost.id == first.id).with_for_update()
    one, two = await race(engine, lock, scheduler, scheduler)
    assert not set(one.queued) & set(two.queued)
    assert not set(one.skipped) & set(two.skipped)
    assert sorted(one.queued + two.queued) == sorted(p.id for p in posts if p.stage == "start")
    assert len(one.skipped + two.skipped) == 4
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.POST) == 2
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.REMINDER) == 2
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.NOTICE) == 1
    assert one.reminders + two.reminders == 2
    # ... and again for the rest of the lifecycle.
    lock = select(SalePost.id).where(SalePost.stage == "ending").limit(1).with_for_update()
    later = END + timedelta(seconds=1)

    async def closer() -> DueReport:
        async with session_factory() as s:
            return await sales.run_due(s, policy=POLICY, now=later)

    one, two = await race(engine, lock, closer, closer)
    assert sorted(await stages_of(session, one.queued + two.queued)) == ["end", "end"]
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.POST) == 4


# --- reminders ---------------------------------------------------------------------------


async def test_remind_me_answers_and_reminders_are_queued_once(session: AsyncSession) -> None:
    await add_users(session, MANAGER, ALICE, BOB)
    await add_users(session, CAROL, blocked=True)
    sale = await new_sale(session, targets=[GROUP, CHANNEL])

    async def remind(user: int, at: datetime = T0, sale_id: int = sale.id) -> RemindStatus:
        return await sales.remind_me(session, sale_id=sale_id, user_id=user, now=at)

    assert await remind(ALICE) is RemindStatus.ADDED
    assert await remind(ALICE) is RemindStatus.ALREADY
    assert await remind(BOB, START - timedelta(minutes=1)) is RemindStatus.ADDED
    assert await remind(CAROL) is RemindStatus.ADDED
    assert await remind(ALICE, sale_id=999) is RemindStatus.UNKNOWN
    assert await count(session, SaleReminder) == 3

    report = await run(session, START)
    assert report.reminders == 2  # Carol blocked the bot
    reminders = await outbox_rows(session, sales.REMINDER)
    assert {(o.chat_id, o.lane, o.dedupe_key) for o in reminders} == {
        (u, f"u:{u}", f"sale_remind:{sale.id}:{u}") for u in (ALICE, BOB)
    }
    assert all(o.payload == {"sale_id": sale.id} for o in reminders)
    assert await remind(CAROL, START) is RemindStatus.STARTED
    assert await remind(CAROL, END) is RemindStatus.OVER
    await run(session, START + timedelta(minutes=1))
    assert await count(session, OutboxMessage, OutboxMessage.kind == sales.REMINDER) == 2

    other = await new_sale(
        session, starts_at=START + timedelta(days=1), ends_at=END + timedelta(days=1)
    )
    await sales.cancel_sale(session, other.id, now=T0, actor_id=MANAGER)
    assert await remind(ALICE, sale_id=other.id) is RemindStatus.OVER


# --- editing and cancelling --------------------------------------------------------------


async def test_new_times_re_plan_the_pending_posts(session: AsyncSession) -> None:
    sale = await new_sale(
        session, starts_at=T0 + timedelta(hours=2), ends_at=T0 + timedelta(hours=4)
    )
    assert [p.stage for p in await posts_of(session, sale.id)] == [
        "teaser:60",
        "start",
        "ending",
        "end",
    ]
    later = T0 + timedelta(days=3)
    await sales.update_sale(
        session,
        sale.id,
        policy=POLICY,
        now=T0 + timedelta(minutes=5),
        actor_id=MANAGER,
        starts_at=later,
        ends_at=later + timedelta(hours=1),
        product="Down jacket, long",
    )
    posts = {p.stage: p for p in await posts_of(session, sale.id)}
    assert list(posts) == STAGES  # the 24 h teaser fits now
    assert posts["teaser:1440"].due_at == later - timedelta(days=1)
    assert posts["start"].due_at == later
    assert posts["ending"].due_at == later + timedelta(minutes=50)
    assert posts["end"].due_at == later + timedelta(hours=1)
    assert {p.status for p in posts.values()} == {"pending"}
    fresh = await sales.get(session, sale.id)
    assert fresh is not None and fresh.product == "Down jacket, long"
    [audit] = await rows(session, AuditEntry)
    assert audit.action == "sale_edit" and pl(audit.detail)["product"] == "Down jacket, long"

    # A shorter sale: the "ending soon" post no longer fits and is cancelled.
    await sales.update_sale(
        session, sale.id, policy=POLICY, now=T0, actor_id=MANAGER,
        ends_at=later + timedelta(minutes=5),
    )  # fmt: skip
    posts = {p.stage: p for p in await posts_of(session, sale.id)}
    assert posts["ending"].status == "cancelled" and posts["end"].status == "pending"
    assert (await run(session, later)).queued == [posts["start"].id]


async def test_edits_are_refused_when_they_no_longer_make_sense(session: AsyncSession) -> None:
    sale_id = (await new_sale(session)).id

    async def edit(at: datetime, **changes: Any) -> Sale:
        return await sales.update_sale(
            session, sale_id, policy=POLICY, now=at, actor_id=MANAGER, **changes
        )

    with pytest.raises(SaleError, match="sale-err-start-past"):
        await edit(T0, starts_at=T0 - timedelta(minutes=1))
    with pytest.raises(SaleError, match="sale-err-end-before-start"):
        await edit(T0, ends_at=START)
    with pytest.raises(SaleError, match="sale-err-field"):
        await edit(T0, targets=[CHANNEL])
    with pytest.raises(SaleError, match="sale-err-unknown"):
        await sales.update_sale(session, 999, policy=POLICY, now=T0, actor_id=1, price="1")
    with pytest.raises(SaleError, match="sale-err-started"):
        await edit(START + timedelta(minutes=1), starts_at=START + timedelta(hours=1))
    live = await edit(START + timedelta(minutes=1), ends_at=END + timedelta(hours=1), price="¥349")
    assert live.price == "¥349" and live.ends_at == END + timedelta(hours=1)
    with pytest.raises(SaleError, match="sale-err-over"):
        await edit(END + timedelta(hours=2), price="¥1")
    await sales.cancel_sale(session, sale_id, now=START, actor_id=MANAGER)
    with pytest.raises(SaleError, match="sale-err-over"):
        await edit(START, price="¥1")
    assert (await sales.get(session, sale_id)).price == "¥349"  # type: ignore[union-attr]


async def test_cancelling_before_the_start_drops_every_post(session: AsyncSession) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session, targets=[GROUP, CHANNEL])
    await run(session, START - timedelta(days=1))  # the 24 h teasers are queued
    await sales.cancel_sale(session, sale.id, now=T0 + timedelta(days=1), actor_id=MANAGER)
    posts = await posts_of(session, sale.id)
    assert {p.stage: p.status for p in posts if p.status != "cancelled"} == {
        "teaser:1440": "queued"
    }
    assert not [p for p in posts if p.stage == "cancel"]  # no start post to mark
    assert (await run(session, END + timedelta(days=1))).queued == []
    assert [s.id for s in await sales.list_sales(session, now=T0)] == []
    [audit] = await rows(session, AuditEntry)
    assert (audit.action, audit.subject) == ("sale_cancel", f"sale:{sale.id}")
    with pytest.raises(SaleError, match="sale-err-over"):
        await sales.cancel_sale(session, sale.id, now=T0, actor_id=MANAGER)


async def test_cancelling_a_live_sale_marks_its_start_posts(session: AsyncSession) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session, targets=[GROUP, CHANNEL])
    await run(session, START)
    assert [s.id for s in await sales.list_sales(session, now=START)] == [sale.id]
    cancelled = await sales.cancel_sale(session, sale.id, now=START, actor_id=MANAGER)
    assert cancelled.status == "cancelled"
    assert sales.phase(cancelled, START) == "cancelled"
    posts = await posts_of(session, sale.id)
    marks = [p for p in posts if p.stage == "cancel"]
    assert {(p.chat_id, p.status) for p in marks} == {(GROUP, "queued"), (CHANNEL, "queued")}
    assert {p.stage for p in posts if p.status == "cancelled"} == {"ending", "end"}
    edits = [
        o
        for o in await outbox_rows(session, sales.POST)
        if pl(o.payload)["post_id"] in {p.id for p in marks}
    ]
    assert {o.lane for o in edits} == {f"s:{GROUP}", f"s:{CHANNEL}"}
    assert (await run(session, END)).queued == []


async def test_list_sales_shows_scheduled_and_live_ones(session: AsyncSession) -> None:
    a = await new_sale(
        session, starts_at=START + timedelta(hours=5), ends_at=END + timedelta(hours=5)
    )
    b = await new_sale(session)
    assert [s.id for s in await sales.list_sales(session, now=T0)] == [b.id, a.id]
    assert [s.id for s in await sales.list_sales(session, now=END)] == [a.id]
    assert sales.phase(b, T0) == "scheduled" and sales.phase(b, START) == "live"
    assert sales.phase(b, END) == "ended"


async def test_set_post_message_records_the_message(session: AsyncSession) -> None:
    await add_users(session, MANAGER)
    sale = await new_sale(session)
    report = await run(session, START)
    start = report.queued[0]
    await sales.set_post_message(session, post_id=start, message_id=77, now=START)
    [post] = await rows(session, SalePost, SalePost.id == start)
    assert (post.status, post.message_id) == ("sent", 77)
    assert sale.id == post.sale_id


@pytest.mark.parametrize(
    ("step", "text", "expected"),
    [
        ("product", "Down jacket", {"product": "Down jacket"}),
        ("price", "¥99 / ¥199", {"price": "¥99", "original": "¥199"}),
        ("stock", "100", {"stock": 100}),
        ("link", "https://shop.example/p/1", {"url": "https://shop.example/p/1"}),
        ("start", "明晚8点半", {"start": "2026-11-21T12:30:00+00:00"}),
        ("start", "tomorrow 8:30 pm", {"start": "2026-11-21T12:30:00+00:00"}),
    ],
)
def test_dialogue_answers_are_read_and_kept(step: str, text: str, expected: Any) -> None:
    assert sales.read_answer(step, text, now=T0, tz=SHANGHAI) == expected


@pytest.mark.parametrize(
    ("step", "text", "code"),
    [
        ("product", "", "sale-err-product-empty"),
        ("product", "x" * 129, "sale-err-product-long"),
        ("start", "2020-01-01 20:00", "sale-err-start-past"),
        ("start", "今天 9:00", "sale-err-start-past"),  # today, but 10:00 has struck
        ("start", "明天8点", "sale-err-time-ambiguous"),
        ("start", "tomorrow 8", "sale-err-time-ambiguous"),
        ("start", "tomorrow", "sale-err-time"),
        ("end", "今天 20:00", "sale-err-end-before-start"),  # the start is tomorrow 10:00
        ("end", "30m", None),  # fine: half an hour after the start
    ],
)
def test_dialogue_answers_that_are_refused(step: str, text: str, code: str | None) -> None:
    start = T0 + timedelta(days=1)
    if code is None:
        got = sales.read_answer(step, text, now=T0, tz=SHANGHAI, starts_at=start)
        assert got == {"end": (start + timedelta(minutes=30)).isoformat()}
        return
    with pytest.raises(SaleError) as refused:
        sales.read_answer(step, text, now=T0, tz=SHANGHAI, starts_at=start)
    assert refused.value.code == code
