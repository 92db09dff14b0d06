"""End to end: a flash sale's posts from two `python main.py run` processes on one database.

The sale was planned while the bot was down: its "1 hour before" teaser is long overdue and
its start is seconds away. Both processes poll the same `sale_posts` rows; the fake Bot API
must see the stale teaser skipped and reported to the manager once, the start post with its
Buy button once, the reminder to the member who asked once, and the "ended" edit once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from campaigns import sales
from campaigns.policy import CampaignPolicy
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import SaleReminder, User
from tests.e2e.test_support_desk import STEP, TOKEN, BotProcess
from tests.fake_bot_api import Call, FakeBotAPI

COMMUNITY = -100_888_000_333
ADMIN = 900_000_002
MEMBER = 700_000_011


def _markup(call: Call) -> dict[str, Any]:
    raw = call.params.get("reply_markup")
    return json.loads(raw) if isinstance(raw, str) else (raw or {})


def _to(chat: int) -> Any:
    return lambda c: c.params.get("chat_id") == chat


async def _plan_sale(url: str, now: datetime) -> int:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        factory = create_session_factory(engine)
        async with factory() as session:
            for uid in (ADMIN, MEMBER):
                await session.execute(
                    insert(User).values(
                        id=uid, first_name=f"u{uid}", first_seen=now, last_seen=now, started_at=now
                    )
                )
            await session.commit()
            policy = CampaignPolicy(tz=ZoneInfo("Asia/Shanghai"), group_chat_id=COMMUNITY)
            # Planned two hours ago: the 1-hour teaser fell due while the bot was down.
            sale = await sales.create_sale(
                session,
                product="Winter jacket",
                price="¥299",
                original_price="¥599",
                stock=None,
                image_file_id=None,
                url="https://shop.example/p/1",
                starts_at=now + timedelta(seconds=12),
                ends_at=now + timedelta(seconds=30),
                targets=[COMMUNITY],
                policy=policy,
                created_by=ADMIN,
                now=now - timedelta(hours=2),
            )
            session.add(SaleReminder(sale_id=sale.id, user_id=MEMBER, created_at=now))
            await session.commit()
            return sale.id
    finally:
        await engine.dispose()


async def test_two_processes_send_each_sale_post_once(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COMMUNITY_CHAT_ID", str(COMMUNITY))
    monkeypatch.setenv("ADMIN_IDS", str(ADMIN))
    monkeypatch.setenv("COMMUNITY_LANGUAGE", "en")
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    await _plan_sale(url, datetime.now(UTC))
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_group(COMMUNITY, is_forum=False, title="Community")
        bots = []
        for n in (1, 2):
            (tmp_path / str(n)).mkdir()
            bots.append(BotProcess(api, tmp_path / str(n), url))
        try:
            await asyncio.gather(*(b.start() for b in bots))
            notice = await api.wait_for("sendMessage", _to(ADMIN), timeout=STEP)
            assert "teaser" in str(notice.params["text"]).lower()
            post = await api.wait_for("sendMessage", _to(COMMUNITY), timeout=30 + STEP)
            button = _markup(post)["inline_keyboard"][0][0]
            assert button["url"] == "https://shop.example/p/1"
            await api.wait_for("sendMessage", _to(MEMBER), timeout=STEP)
            ended = await api.wait_for("editMessageText", _to(COMMUNITY), timeout=30 + STEP)
            assert "inline_keyboard" not in json.dumps(_markup(ended))
            await asyncio.sleep(6)  # a few more scheduler rounds in both processes

            sends = [c for c in api.calls if c.method in ("sendMessage", "editMessageText")]
            to = [(c.method, c.params.get("chat_id")) for c in sends]
            assert to.count(("sendMessage", COMMUNITY)) == 1, to
            assert to.count(("sendMessage", MEMBER)) == 1, to
            assert to.count(("sendMessage", ADMIN)) == 1, to
            assert to.count(("editMessageText", COMMUNITY)) == 1, to
        finally:
            for b in bots:
                await b.stop()
                await b.close()
