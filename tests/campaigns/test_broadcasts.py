"""Broadcasts on SQLite and PostgreSQL: segments, the cap and quiet hours, the recipients'
states through a crash, cancel, progress and the report; then through the outbox sender
with a fake Telegram: 429, 403, network errors and a killed sender, with no duplicates."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import SendMessage, SendPhoto
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.broadcasts import BroadcastDelivery
from bot.local import LocalSession
from bot.sender import Pacer, Sender
from campaigns import broadcasts, segments
from campaigns.broadcasts import Started
from campaigns.policy import CampaignPolicy
from campaigns.schedule import MarketingRules
from campaigns.segments import Segment
from community import drops
from community.drops import ClaimStatus
from storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastRecipient,
    CouponDrop,
    Member,
    OutboxMessage,
    User,
)
from tests.conftest import T0, Clock
from tests.db_helpers import count, rows
from views.texts import Catalogue

UTC_RULES = MarketingRules(ZoneInfo("UTC"), daily_cap=0)
MANAGER = 900
BASE = 6_000_000_000  # user ids beyond 32 bits


def user(n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": BASE + n,
        "first_name": f"u{n}",
        "first_seen": T0 - timedelta(days=60),
        "last_seen": T0 - timedelta(days=1),
        "started_at": T0 - timedelta(days=60),
        "language_code": "en",
    }
    row.update(overrides)
    return row


async def add_users(session: AsyncSession, *users: dict[str, Any]) -> None:
    await session.execute(insert(User), list(users))
    await session.commit()


async def add_members(session: AsyncSession, **tiers_streaks: tuple[int, int]) -> None:
    for key, (tier, streak) in tiers_streaks.items():
        session.add(Member(user_id=BASE + int(key[1:]), tier=tier, streak=streak, updated_at=T0))
    await session.commit()


async def ids(session: AsyncSession, segment: Segment, now: datetime = T0) -> set[int]:
    found = {
        int(cast(Any, i)) - BASE
        for i in await session.scalars(segments.audience(segment, now=now))
    }
    await session.commit()
    return found


async def draft(session: AsyncSession, segment: Segment | None = None, **kw: Any) -> int:
    return await broadcasts.create(
        session, text="<b>Hello</b>", created_by=MANAGER, now=T0, segment=segment, **kw
    )


# --- segments ----------------------------------------------------------------------------


async def test_segments_combine_and_exclude_the_unreachable(session: AsyncSession) -> None:
    await add_users(
        session,
        user(1, first_seen=T0 - timedelta(days=2), last_seen=T0, language_code="zh-hans"),
        user(2, last_seen=T0 - timedelta(days=3)),  # active
        user(3, last_seen=T0 - timedelta(days=40)),  # dormant
        user(4, last_seen=T0 - timedelta(days=40), language="zh"),  # dormant, chose zh
        user(5, marketing_opt_out=True, opted_out_at=T0),
        user(6, blocked=True),
        user(7, started_at=None),  # only seen in the group
        user(8, language="en", language_code="zh"),  # chose English over Telegram's zh
        user(9, first_seen=T0 - timedelta(days=1), language_code=None),
    )
    await add_members(session, u1=(2, 30), u2=(1, 7), u3=(3, 0), u8=(2, 8))

    assert await ids(session, Segment()) == {1, 2, 3, 4, 8, 9}
    assert await ids(session, Segment(new=True)) == {1, 9}
    assert await ids(session, Segment(active=True)) == {1, 2, 8, 9}
    assert await ids(session, Segment(dormant=True)) == {3, 4}
    assert await ids(session, Segment(language="zh")) == {1, 4}
    assert await ids(session, Segment(language="en")) == {2, 3, 8}
    assert await ids(session, Segment(tier_min=2)) == {1, 3, 8}
    assert await ids(session, Segment(streak_min=7)) == {1, 2, 8}
    assert await ids(session, Segment(streak_min=30)) == {1}
    assert await ids(session, Segment(active=True, tier_min=2, language="en")) == {8}
    assert await ids(session, Segment(dormant=True, language="zh")) == {4}
    assert await ids(session, Segment(active=True, dormant=True)) == set()
    assert await segments.count(session, Segment(active=True), now=T0) == 4


async def test_new_means_joined_the_group_or_first_seen_lately(session: AsyncSession) -> None:
    """A "new" user is new to the shop's community, not to the bot: someone who joined the group
    (or was first seen anywhere) in the last 7 days; a long-known user who only now opened
    the bot in private is not new."""
    await add_users(
        session,
        user(1),  # known for 60 days, joined the group two days ago
        user(2, first_seen=T0 - timedelta(days=3), started_at=T0 - timedelta(days=3)),
        user(3, started_at=T0 - timedelta(hours=1)),  # seen in the group for 60 days
        user(4),  # joined the group long ago
        user(5),  # never in the group
    )
    for n, joined in ((1, T0 - timedelta(days=2)), (4, T0 - timedelta(days=40))):
        session.add(Member(user_id=BASE + n, joined_group_at=joined, updated_at=T0))
    await session.commit()

    assert await ids(session, Segment(new=True)) == {1, 2}
    assert await ids(session, Segment(new=True, language="en")) == {1, 2}
    assert await ids(session, Segment(new=True, tier_min=0)) == {1}  # members only


def test_segments_round_trip_and_forged_json_is_harmless() -> None:
    seg = Segment(new=True, tier_min=2, streak_min=7, language="zh")
    assert Segment.from_json(seg.to_json()) == seg
    assert Segment.from_json(None) == Segment()
    forged = {"new": "yes", "tier_min": -1, "streak_min": True, "language": "xx", "evil": 1}
    assert Segment.from_json(forged) == Segment()


def test_segment_toggles_read_their_numbers_strictly() -> None:
    seg = segments.toggled(Segment(), "tier=2", tiers=4)
    assert seg == Segment(tier_min=2)
    assert segments.toggled(seg, "tier=2", tiers=4) == Segment()  # a second tap: off
    assert segments.toggled(Segment(), "streak=30", tiers=4) == Segment(streak_min=30)
    forged = ("tier=4", "tier=0", "tier=²", "tier=+2", "tier=9" * 30, "streak=8", "streak=٧",
              "streak=-7", "lang=xx", "new=1", "evil")  # fmt: skip
    assert [v for v in forged if segments.toggled(Segment(), v, tiers=4) is not None] == []


# --- starting ----------------------------------------------------------------------------


async def test_start_queues_recipients_and_outbox_rows_once(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2), user(3, marketing_opt_out=True))
    bid = await draft(session)
    started = await broadcasts.start(
        session, bid, rules=UTC_RULES, now=T0, progress_chat_id=MANAGER, progress_message_id=7
    )
    assert started == Started(total=2, capped=0)
    assert await broadcasts.start(session, bid, rules=UTC_RULES, now=T0) is None
    recipients = await rows(session, BroadcastRecipient)
    assert [(r.user_id - BASE, r.status) for r in recipients] == [(1, "queued"), (2, "queued")]
    out = await rows(session, OutboxMessage)
    assert sorted((o.kind, o.lane, o.chat_id, o.dedupe_key, o.priority) for o in out) == [
        ("broadcast", f"m:{BASE + n}", BASE + n, f"bc:{bid}:{BASE + n}", 5) for n in (1, 2)
    ]
    assert all(o.payload == {"broadcast_id": bid} and o.next_attempt_at == T0 for o in out)
    bc = (await rows(session, Broadcast))[0]
    assert (bc.status, bc.total, bc.progress_chat_id, bc.progress_message_id) == (
        "sending",
        2,
        MANAGER,
        7,
    )


async def test_start_with_user_ids_keeps_only_subscribers(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2, blocked=True), user(3))
    bid = await draft(session)
    started = await broadcasts.start(
        session, bid, rules=UTC_RULES, now=T0, user_ids=[BASE + 1, BASE + 2, BASE + 99]
    )
    assert started == Started(total=1, capped=0)


async def test_the_daily_cap_leaves_out_users_already_reached(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2), user(3))
    rules = MarketingRules(ZoneInfo("UTC"), daily_cap=1)
    first = await draft(session)
    await broadcasts.start(session, first, rules=rules, now=T0, user_ids=[BASE + 1])
    sent_long_ago = await draft(session)
    await broadcasts.start(
        session, sent_long_ago, rules=rules, now=T0 - timedelta(days=2), user_ids=[BASE + 2]
    )
    await session.execute(
        update(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == sent_long_ago)
        .values(status="sent", sent_at=T0 - timedelta(days=2))
    )
    await session.commit()

    second = await draft(session)
    started = await broadcasts.start(session, second, rules=rules, now=T0 + timedelta(hours=1))
    assert started == Started(total=2, capped=1)  # user 1 still has one queued
    got = await rows(session, BroadcastRecipient, BroadcastRecipient.broadcast_id == second)
    assert {r.user_id - BASE for r in got} == {2, 3}

    uncapped = await draft(session)
    started = await broadcasts.start(session, uncapped, rules=UTC_RULES, now=T0)
    assert started == Started(total=3, capped=0)


async def test_quiet_hours_delay_the_sends(session: AsyncSession) -> None:
    await add_users(session, user(1))
    shanghai = ZoneInfo("Asia/Shanghai")
    rules = MarketingRules(shanghai, quiet_hours=(clock_time(22), clock_time(8)), daily_cap=0)
    late = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    bid = await draft(session)
    await broadcasts.start(session, bid, rules=rules, now=late)
    out = (await rows(session, OutboxMessage))[0]
    assert out.next_attempt_at == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 there


async def test_ten_thousand_recipients_start_in_one_go(session: AsyncSession) -> None:
    # How long it takes is measured by bench/broadcast.py ("queued: … in 0.1 s").
    await add_users(session, *(user(n) for n in range(10_000)))
    bid = await draft(session)
    started = await broadcasts.start(session, bid, rules=UTC_RULES, now=T0)
    assert started == Started(total=10_000, capped=0)
    assert await count(session, OutboxMessage, OutboxMessage.kind == "broadcast") == 10_000


async def test_launch_writes_the_coupon_the_draft_and_its_queue_or_nothing(
    session: AsyncSession,
) -> None:
    await add_users(session, user(1), user(2, language_code="zh"))
    policy = CampaignPolicy(tz=ZoneInfo("UTC"), marketing=UTC_RULES)
    composed = broadcasts.BroadcastDraft(
        html="<b>Sale</b>", plain="Sale", coupon="10 off", buttons=(("Shop", "https://x.example"),)
    )

    async def launch(draft: broadcasts.BroadcastDraft, **kw: Any) -> broadcasts.Launched:
        return await broadcasts.launch(
            session, draft, policy=policy, created_by=MANAGER, coupon_title="Gift", now=T0, **kw
        )

    for draft, reason in (
        (replace(composed, plain="全网最低 Sale"), broadcasts.GUARD),
        (replace(composed, segment=Segment(dormant=True)), broadcasts.NOBODY),
    ):
        with pytest.raises(broadcasts.BroadcastError) as refused:
            await launch(draft, override=False)
        assert refused.value.reason == reason
    assert await count(session, Broadcast) == await count(session, CouponDrop) == 0

    launched = await launch(replace(composed, plain="全网最低 Sale"), override=True)
    assert (launched.total, launched.capped, launched.quiet_until) == (2, 0, None)
    bc = (await rows(session, Broadcast))[0]
    drop = (await rows(session, CouponDrop))[0]
    assert (bc.id, bc.status, bc.drop_id, bc.copy_override) == (
        launched.broadcast_id, broadcasts.SENDING, drop.id, True
    )  # fmt: skip
    assert (drop.audience, drop.quantity, drop.discount) == ("invited", 2, "10 off")
    assert await count(session, BroadcastRecipient) == await count(session, OutboxMessage) == 2
    assert [a.action for a in await rows(session, AuditEntry)] == ["copy_override"]


# --- one recipient -----------------------------------------------------------------------


async def test_begin_and_finish_send_and_a_crash_in_between(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2))
    bid = await draft(session)
    await broadcasts.start(session, bid, rules=UTC_RULES, now=T0)
    u1, u2 = BASE + 1, BASE + 2

    assert await broadcasts.begin_send(session, bid, u1, now=T0) == "go"
    await broadcasts.finish_send(session, bid, u1, status="sent", now=T0)
    assert await broadcasts.begin_send(session, bid, u1, now=T0) == "done"

    assert await broadcasts.begin_send(session, bid, u2, now=T0) == "go"
    # ... the process dies during the call; the row's lease runs out and it comes back:
    assert await broadcasts.begin_send(session, bid, u2, now=T0) == "unknown"
    assert await broadcasts.begin_send(session, bid, u2, now=T0) == "done"
    state = await broadcasts.progress(session, bid)
    assert state is not None and (state.sent, state.unknown, state.pending) == (1, 1, 0)
    assert await broadcasts.begin_send(session, bid, BASE + 99, now=T0) == "done"


async def test_a_network_error_puts_the_recipient_back(session: AsyncSession) -> None:
    await add_users(session, user(1))
    bid = await draft(session)
    await broadcasts.start(session, bid, rules=UTC_RULES, now=T0)
    assert await broadcasts.begin_send(session, bid, BASE + 1, now=T0) == "go"
    await broadcasts.finish_send(session, bid, BASE + 1, status="queued", now=T0, error="net")
    assert await broadcasts.begin_send(session, bid, BASE + 1, now=T0) == "go"
    await broadcasts.finish_send(session, bid, BASE + 1, status="blocked", now=T0)
    await broadcasts.finish_send(session, bid, BASE + 1, status="sent", now=T0)  # too late
    assert [r.status for r in await rows(session, BroadcastRecipient)] == ["blocked"]


# --- cancel, progress, the report --------------------------------------------------------


async def test_cancel_stops_the_queue_and_is_logged(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2), user(3))
    bid = await draft(session)
    await broadcasts.start(session, bid, rules=UTC_RULES, now=T0, progress_chat_id=MANAGER)
    assert await broadcasts.begin_send(session, bid, BASE + 1, now=T0) == "go"

    assert await broadcasts.cancel(session, bid, actor_id=MANAGER, now=T0) is True
    assert await broadcasts.cancel(session, bid, actor_id=MANAGER, now=T0) is False
    assert await broadcasts.begin_send(session, bid, BASE + 2, now=T0) == "cancelled"
    statuses = Counter(r.status for r in await rows(session, BroadcastRecipient))
    assert statuses == {"sending": 1, "cancelled": 2}
    dropped = await count(
        session,
        OutboxMessage,
        OutboxMessage.kind == "broadcast",
        OutboxMessage.status == "dropped",
    )
    assert dropped == 3
    audit = await rows(session, AuditEntry)
    assert [(a.action, a.subject, a.actor_id) for a in audit] == [
        ("broadcast_cancel", f"broadcast:{bid}", MANAGER)
    ]
    # The send in flight finishes, then the report goes out once.
    assert await broadcasts.tick(session, now=T0) == []
    await broadcasts.finish_send(session, bid, BASE + 1, status="sent", now=T0)
    assert await broadcasts.tick(session, now=T0) == [bid]
    assert await broadcasts.tick(session, now=T0) == []
    bc = (await rows(session, Broadcast))[0]
    assert bc.status == "cancelled" and bc.finished_at == T0
    reports = await rows(session, OutboxMessage, OutboxMessage.kind == "bc_report")
    assert len(reports) == 1


async def test_tick_coalesces_progress_and_reports_once(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2))
    bid = await draft(session)
    await broadcasts.start(session, bid, rules=UTC_RULES, now=T0, progress_chat_id=MANAGER)

    async def progress_rows() -> list[OutboxMessage]:
        return await rows(session, OutboxMessage, OutboxMessage.kind == "bc_progress")

    await broadcasts.tick(session, now=T0)
    assert len(await progress_rows()) == 1  # the first count
    await broadcasts.begin_send(session, bid, BASE + 1, now=T0)
    await broadcasts.finish_send(session, bid, BASE + 1, status="sent", now=T0)
    await broadcasts.tick(session, now=T0)
    assert len(await progress_rows()) == 1  # one edit waiting is enough
    await session.execute(update(OutboxMessage).values(status="sent"))
    await session.commit()
    await broadcasts.tick(session, now=T0)
    await broadcasts.tick(session, now=T0)
    assert len(await progress_rows()) == 2  # changed since the last: one more, then none

    await broadcasts.begin_send(session, bid, BASE + 2, now=T0)
    await broadcasts.finish_send(session, bid, BASE + 2, status="failed", now=T0, error="x")
    later = T0 + timedelta(minutes=1)
    assert await broadcasts.tick(session, now=later) == [bid]
    assert await broadcasts.tick(session, now=later) == []
    state = await broadcasts.progress(session, bid)
    assert state is not None
    assert (state.status, state.sent, state.failed, state.total, state.finished_at) == (
        "done",
        1,
        1,
        2,
        later,
    )
    assert len(await rows(session, OutboxMessage, OutboxMessage.kind == "bc_report")) == 1


async def test_mark_returned_stamps_recent_sends_once(session: AsyncSession) -> None:
    await add_users(session, user(1))
    old, new = await draft(session), await draft(session)
    for bid, at in ((old, T0 - timedelta(days=10)), (new, T0 - timedelta(days=1))):
        await broadcasts.start(session, bid, rules=UTC_RULES, now=at)
        await broadcasts.begin_send(session, bid, BASE + 1, now=at)
        await broadcasts.finish_send(session, bid, BASE + 1, status="sent", now=at)
    await broadcasts.mark_returned(session, user_id=BASE + 1, now=T0)
    await session.commit()
    await broadcasts.mark_returned(session, user_id=BASE + 1, now=T0 + timedelta(hours=1))
    await session.commit()
    got = {r.broadcast_id: r.returned_at for r in await rows(session, BroadcastRecipient)}
    assert got == {old: None, new: T0}


async def test_opt_out_and_back(session: AsyncSession) -> None:
    await add_users(session, user(1))
    assert await broadcasts.set_opt_out(session, user_id=BASE + 1, opted_out=True, now=T0)
    assert not await broadcasts.set_opt_out(session, user_id=BASE + 1, opted_out=True, now=T0)
    assert await segments.count(session, Segment(), now=T0) == 0
    assert await broadcasts.set_opt_out(session, user_id=BASE + 1, opted_out=False, now=T0)
    assert await segments.count(session, Segment(), now=T0) == 1


async def test_copy_override_is_audited(session: AsyncSession) -> None:
    bid = await draft(session, copy_override=True, override_words=["best ever"])
    audit = await rows(session, AuditEntry)
    assert [(a.action, a.subject, a.detail) for a in audit] == [
        ("copy_override", f"broadcast:{bid}", {"words": ["best ever"]})
    ]
    with pytest.raises(broadcasts.BroadcastError):
        await broadcasts.create(session, text=" ", created_by=MANAGER, now=T0)


async def test_a_refused_broadcast_names_its_reason(session: AsyncSession) -> None:
    refusals: dict[str, dict[str, Any]] = {
        "no_content": {"text": " "},
        "too_many_buttons": {"text": "Hi", "buttons": [("a", "https://x.example")] * 9},
        "bad_button": {"text": "Hi", "buttons": [("Shop", "javascript:alert(1)")]},
    }
    for reason, kw in refusals.items():
        with pytest.raises(broadcasts.BroadcastError) as refused:
            await broadcasts.create(session, created_by=MANAGER, now=T0, **kw)
        assert refused.value.reason == reason
    assert await count(session, Broadcast) == 0


async def test_a_coupon_that_cannot_be_stored_refuses_the_launch(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_users(session, user(1))

    async def no_codes(*args: Any, **kwargs: Any) -> None:
        raise drops.DropError("could not store the drop's codes; please try again")

    monkeypatch.setattr(drops, "create_drop", no_codes)
    with pytest.raises(broadcasts.BroadcastError) as refused:
        await broadcasts.launch(
            session,
            broadcasts.BroadcastDraft(html="Hi", plain="Hi", coupon="10 off"),
            policy=CampaignPolicy(tz=ZoneInfo("UTC"), marketing=UTC_RULES),
            created_by=MANAGER,
            override=False,
            coupon_title="Gift",
            now=T0,
        )
    assert refused.value.reason == broadcasts.COUPON_NOT_STORED
    assert await count(session, Broadcast) == 0


async def test_an_invited_drop_is_claimed_only_by_its_recipients(session: AsyncSession) -> None:
    await add_users(session, user(1), user(2), user(3))
    drop = await drops.create_drop(
        session,
        title="Gift",
        discount="10 off",
        quantity=3,
        valid_days=14,
        audience="invited",
        starts_at=T0,
        created_by=MANAGER,
        now=T0,
    )
    assert drop.status == "live"
    bid = await draft(session, drop_id=drop.id)
    await broadcasts.start(session, bid, rules=UTC_RULES, now=T0, user_ids=[BASE + 1, BASE + 2])
    for n, outcome in ((1, "sent"), (2, "failed")):
        await broadcasts.begin_send(session, bid, BASE + n, now=T0)
        await broadcasts.finish_send(session, bid, BASE + n, status=outcome, now=T0)

    async def claim(n: int) -> ClaimStatus:
        result = await drops.claim(session, drop_id=drop.id, user_id=BASE + n, now=T0)
        return result.status

    assert await claim(1) == ClaimStatus.CLAIMED
    assert await claim(2) == ClaimStatus.NOT_ELIGIBLE  # the send failed
    assert await claim(3) == ClaimStatus.NOT_ELIGIBLE  # not a recipient
    assert await drops.start_due(session, now=T0 + timedelta(minutes=1)) == []


# --- through the sender ------------------------------------------------------------------


class RecordingSession(LocalSession):
    """Also keeps the requests Telegram accepted (`requests` has the failed ones too)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.accepted: list[Any] = []

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        result = await super().make_request(bot, method, timeout)
        self.accepted.append(method)
        return result


class Harness:
    def __init__(
        self, sf: async_sessionmaker[AsyncSession], clock: Clock, policy: CampaignPolicy
    ) -> None:
        self.sf = sf
        self.clock = clock
        self.local = RecordingSession()
        self.bot = Bot("123456:TEST", session=self.local)
        self.policy = policy
        self.sender = self.new_sender()

    def new_sender(self, **kw: Any) -> Sender:
        pacer = Pacer(
            global_per_second=10_000,
            private_per_second=10_000,
            burst=100,
            clock=lambda: self.clock().timestamp(),
        )
        sender = Sender(self.sf, clock=self.clock, pacer=pacer, **kw)
        BroadcastDelivery(self.bot, self.sf, Catalogue(), self.policy, clock=self.clock).install(
            sender
        )
        return sender

    def sends(self) -> Counter[int]:
        return Counter(
            int(r.chat_id)
            for r in self.local.accepted
            if isinstance(r, SendMessage | SendPhoto) and int(r.chat_id) >= BASE
        )

    async def drain(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            async with self.sf() as s:
                await broadcasts.tick(s, now=self.clock())
            if not await self.sender.drain():
                self.clock.advance(seconds=5)


@pytest.fixture
def policy() -> CampaignPolicy:
    return CampaignPolicy(tz=ZoneInfo("UTC"), marketing=UTC_RULES)


async def launch(
    session: AsyncSession, n: int, *, photo: bool = False, drop_id: int | None = None
) -> int:
    await add_users(session, *(user(i, language_code="zh" if i % 2 else "en") for i in range(n)))
    bid = await broadcasts.create(
        session,
        text="<b>Sale</b> today",
        created_by=MANAGER,
        now=T0,
        photo_file_id="photo-1" if photo else None,
        buttons=[("Shop", "https://shop.example")],
        drop_id=drop_id,
    )
    await broadcasts.start(
        session, bid, rules=UTC_RULES, now=T0, progress_chat_id=MANAGER, progress_message_id=5
    )
    return bid


async def statuses(session: AsyncSession) -> Counter[str]:
    return Counter(r.status for r in await rows(session, BroadcastRecipient))


async def test_sender_delivers_once_with_buttons_and_a_report(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    h = Harness(session_factory, clock, policy)
    bid = await launch(session, 4, photo=True)
    await h.drain()
    assert h.sends() == {BASE + i: 1 for i in range(4)}
    photo = next(r for r in h.local.requests if isinstance(r, SendPhoto))
    assert photo.photo == "photo-1" and "<b>Sale</b>" in (photo.caption or "")
    assert photo.parse_mode == "HTML" and "/unsubscribe" in (photo.caption or "")
    buttons = photo.reply_markup.inline_keyboard  # type: ignore[union-attr]
    assert buttons[0][0].url == "https://shop.example"
    report: Any = [r for r in h.local.accepted if getattr(r, "chat_id", None) == MANAGER][-1]
    assert "4" in report.text and "100%" in report.text
    assert await statuses(session) == {"sent": 4}
    assert (await rows(session, Broadcast))[0].status == "done"
    assert bid


async def test_429_waits_and_delivers_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    h = Harness(session_factory, clock, policy)
    await launch(session, 3)
    h.local.fail_next(
        "sendMessage",
        TelegramRetryAfter(method=SendMessage(chat_id=1, text="x"), message="slow", retry_after=7),
    )
    await h.sender.drain()
    assert await statuses(session) == {"queued": 1, "sent": 2}  # the 429'd one waits
    await h.drain()
    assert h.sends() == {BASE + i: 1 for i in range(3)}
    assert await statuses(session) == {"sent": 3}


async def test_403_marks_the_user_blocked(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    h = Harness(session_factory, clock, policy)
    await launch(session, 1)
    h.local.fail_next(
        "sendMessage",
        TelegramForbiddenError(
            method=SendMessage(chat_id=1, text="x"), message="Forbidden: bot was blocked"
        ),
    )
    await h.drain()
    assert await statuses(session) == {"blocked": 1}
    who = (await rows(session, User))[0]
    assert who.blocked and who.blocked_at is not None
    state = await broadcasts.progress(session, 1)
    assert state is not None and (state.blocked, state.status) == (1, "done")


async def test_network_errors_retry_and_deliver_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    h = Harness(session_factory, clock, policy)
    await launch(session, 3)
    for _ in range(2):
        h.local.fail_next(
            "sendMessage",
            TelegramNetworkError(method=SendMessage(chat_id=1, text="x"), message="reset"),
        )
    await h.drain()
    assert h.sends() == {BASE + i: 1 for i in range(3)}
    assert await statuses(session) == {"sent": 3}


async def test_a_killed_sender_resumes_with_no_duplicates(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    h = Harness(session_factory, clock, policy)
    await launch(session, 20)
    # The first sender claims a batch and dies: 5 sends reached Telegram, and it recorded
    # nothing after them; the rest of its batch was claimed but never tried.
    async with session_factory() as s:
        from storage import outbox

        claimed = await outbox.claim(
            s, worker="dead", now=clock(), lease=timedelta(seconds=60), limit=8
        )
    assert len(claimed) == 8
    for row in claimed[:5]:
        async with session_factory() as s:
            assert (
                await broadcasts.begin_send(
                    s, int(row.payload["broadcast_id"]), int(row.chat_id or 0), now=clock()
                )
                == "go"
            )
        await h.bot.send_message(int(row.chat_id or 0), "sent before the crash")

    h.sender = h.new_sender(worker="new")
    await h.drain()  # the lease runs out while draining (the clock moves 5 s a round)
    sends = h.sends()
    assert max(sends.values()) == 1, "nobody gets the broadcast twice"
    assert set(sends) == {BASE + i for i in range(20)}
    assert await statuses(session) == {"sent": 15, "unknown": 5}
    state = await broadcasts.progress(session, 1)
    assert state is not None and (state.status, state.unknown) == ("done", 5)
    report: Any = [r for r in h.local.accepted if getattr(r, "chat_id", None) == MANAGER][-1]
    assert "5" in report.text


async def test_a_claim_button_for_a_coupon(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    drop = await drops.create_drop(
        session, title="Gift", discount="10 off", quantity=2, valid_days=14,
        audience="invited", starts_at=T0, created_by=MANAGER, now=T0,
    )  # fmt: skip
    h = Harness(session_factory, clock, policy)
    await launch(session, 2, drop_id=drop.id)
    await h.drain()
    sent = [r for r in h.local.requests if isinstance(r, SendMessage) and r.chat_id != MANAGER]
    labels = [b.callback_data for row in sent[0].reply_markup.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert f"claim:{drop.id}" in labels
    result = await drops.claim(session, drop_id=drop.id, user_id=BASE + 1, now=T0)
    assert result.status == ClaimStatus.CLAIMED
    n = await session.scalar(select(func.count()).select_from(BroadcastRecipient))
    assert n == 2


async def test_an_automation_text_comes_from_the_catalogue(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    policy: CampaignPolicy,
) -> None:
    await add_users(session, user(1, language_code="en"), user(2, language_code="zh"))
    drop = await drops.create_drop(
        session, title="welcome", discount="¥20 off", quantity=2, valid_days=14,
        audience="invited", starts_at=T0, created_by=None, now=T0,
    )  # fmt: skip
    bid = await broadcasts.create(
        session, text="", created_by=None, now=T0, kind="welcome", drop_id=drop.id
    )
    await broadcasts.start(session, bid, rules=UTC_RULES, now=T0, user_ids=[BASE + 1, BASE + 2])
    h = Harness(session_factory, clock, policy)
    await h.drain()
    got = {int(r.chat_id): r.text for r in h.local.accepted if isinstance(r, SendMessage)}
    assert "Welcome" in got[BASE + 1] and "<b>¥20 off</b>" in got[BASE + 1]
    assert "¥20 off" in got[BASE + 2] and "14" in got[BASE + 2]
    assert await statuses(session) == {"sent": 2}


async def test_sends_wait_when_quiet_hours_begin_mid_broadcast(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    rules = MarketingRules(ZoneInfo("UTC"), quiet_hours=(clock_time(3), clock_time(8)))
    quiet = CampaignPolicy(tz=ZoneInfo("UTC"), marketing=rules)
    await launch(session, 2)  # queued at 02:00, before the quiet hours
    clock.now = T0 + timedelta(hours=1, minutes=30)  # 03:30: quiet
    h = Harness(session_factory, clock, quiet)
    await h.sender.drain()
    assert h.sends() == {}
    assert await statuses(session) == {"queued": 2}
    waiting = await rows(session, OutboxMessage, OutboxMessage.kind == "broadcast")
    assert {o.next_attempt_at for o in waiting} == {T0.replace(hour=8)}
    clock.now = T0.replace(hour=8)
    await h.drain()
    assert h.sends() == {BASE: 1, BASE + 1: 1}


def test_link_buttons_are_read_one_a_line() -> None:
    text = "Shop now - https://shop.example/sale\n\n会员专区 | https://shop.example/vip\n"
    assert broadcasts.parse_buttons(text) == [
        ("Shop now", "https://shop.example/sale"),
        ("会员专区", "https://shop.example/vip"),
    ]
    for bad in ("", "Shop now", "Shop - ftp://x", "x - https://a\n" * 9):
        with pytest.raises(broadcasts.ButtonsError):
            broadcasts.parse_buttons(bad)
