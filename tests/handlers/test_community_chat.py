"""A member's private chat: check-in, /me, cards, /top, /mycoupons through the Dispatcher."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App
from storage.models import Checkin, PointsEntry
from tests.conftest import Clock, MakeClient


async def _count(app: App, model: type) -> int:
    async with app.session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_checkin_once_a_shop_day_with_a_streak(
    make_client: MakeClient, app: App, clock: Clock
) -> None:
    client = make_client(user_id=301, first_name="Mei", language_code="zh")
    out = await client.send("/checkin")
    assert "签到成功" in (out[0].text or "") and "+10" in (out[0].text or "")
    again = await client.send("/checkin")
    assert "已经签到过" in (again[0].text or "")
    assert await _count(app, Checkin) == 1
    clock.advance(days=1)
    out = await client.send("/checkin")
    assert "连续 2 天" in (out[0].text or "")
    assert await _count(app, PointsEntry) == 2


async def test_me_shows_points_tier_and_buttons(make_client: MakeClient, clock: Clock) -> None:
    client = make_client(user_id=302, first_name="Ann", language_code="en")
    await client.send("/checkin")
    out = await client.send("/me")
    text = out[0].text or ""
    assert "Points: 10" in text and "Regular" in text and "490 more points to Silver" in text
    labels = [b.text for b in out[0].buttons]
    assert "✅ Check in" not in labels  # already checked in today
    poor = await client.click("Buy a card")
    assert any("Not enough points" in (o.text or "") for o in poor)


async def test_a_missed_day_is_repaired_with_a_card(make_client: MakeClient, clock: Clock) -> None:
    client = make_client(user_id=303, first_name="Bo", language_code="en")
    for _ in range(12):
        await client.send("/checkin")
        clock.advance(days=1)
    clock.advance(days=1)  # a day missed
    await client.send("/me")
    await client.click("Buy a card")  # 100 points of 120 + the day-7 bonus
    await client.send("/me")
    repaired = await client.click("Repair yesterday")
    assert any("Yesterday repaired" in (o.text or "") for o in repaired)
    out = await client.send("/checkin")
    assert "streak 14" in (out[0].text or "")


async def test_top_and_mycoupons(make_client: MakeClient, clock: Clock) -> None:
    a = make_client(user_id=304, first_name="Lin", language_code="en")
    b = make_client(user_id=305, first_name="Zoe", language_code="en")
    await a.send("/checkin")
    clock.advance(days=1)
    await b.send("/checkin")
    board = await a.send("/top")
    text = board[0].text or ""
    assert "This week" in text and "All time" in text and "Lin" in text and "Zoe" in text
    none = await a.send("/mycoupons")
    assert "no coupons yet" in (none[0].text or "")


async def test_me_shows_a_name_with_html_characters_as_typed(make_client: MakeClient) -> None:
    client = make_client(user_id=306, first_name="Tom & Jerry <3", language_code="en")
    out = await client.send("/me")
    assert out[0].request.parse_mode == "HTML"
    assert "👤 Tom &amp; Jerry &lt;3" in (out[0].text or "")
