"""Admin commands: only ADMIN_IDS reach them; customers see an unknown command."""

from __future__ import annotations

from bot.app import App
from tests.conftest import MakeClient
from tests.orders.test_stats import seed_cases

WINDOWS = ("Today", "Last 7 days", "Last 30 days")


async def test_unanswered_lists_gaps_for_admins_only(make_client: MakeClient) -> None:
    customer = make_client(user_id=5001)
    admin = make_client(user_id=900)  # ADMIN_IDS in the test settings
    [none] = await admin.send("/unanswered")
    assert "No unanswered questions" in (none.text or "")

    await customer.send("do you have a physical store in Paris")
    await customer.send("do you have a physical store in Paris")
    [title, question] = await admin.send("/unanswered")
    assert "faq unanswered" in (title.text or "")
    assert "2× «do you have a physical store in Paris»" in (question.text or "")
    assert [b.text for b in question.buttons][-2:] == ["🙈 Ignore", "🙋 Hand to an agent"]

    [refused] = await customer.send("/unanswered")
    assert "don't know that command" in (refused.text or "")


async def test_manager_reports_stay_out_of_groups(make_client: MakeClient) -> None:
    admin_in_group = make_client(user_id=900, chat_type="supergroup", chat_id=-1003000000003)
    for command in ("/stats", "/stats support", "/stats campaigns", "/unanswered"):
        outs = await admin_in_group.send(command)
        assert [o.method for o in outs] == ["sendMessage"], command
        text = outs[0].text or ""
        assert "📊" not in text and "📣" not in text and "unanswered" not in text, command
        assert "private chat" in text, command
    # In a private chat the same admin gets the report.
    [report] = await make_client(user_id=900).send("/stats support")
    assert "📊" in (report.text or "")


async def test_community_figures_in_stats(make_client: MakeClient) -> None:
    customer = make_client(user_id=5001)
    admin = make_client(user_id=900)
    await customer.send("/checkin")
    [community] = await admin.send("/stats community")
    text = community.text or ""
    assert text.startswith("👥 Community")
    assert "Members 1 · live streaks 1 (longest 1 days, median 1)" in text
    assert "Tiers: Regular 1" in text
    today = text.split("<b>Today</b>")[1].split("<b>")[0]
    assert "Check-ins 1 by 1 members · points issued 10, spent 0" in today
    # Plain /stats: the support desk, then the community.
    outs = await admin.send("/stats")
    assert [(o.text or "")[:1] for o in outs] == ["📊", "👥"]
    [usage] = await admin.send("/stats everything")
    assert "/stats community" in (usage.text or "")


async def test_after_sales_figures_in_support_stats(app: App, make_client: MakeClient) -> None:
    async with app.session_factory() as s:
        await seed_cases(s)  # tests/orders/test_stats.py: its clock is the app's (T0)
    [report] = await make_client(user_id=900).send("/stats support")
    text = report.text or ""
    today, week, month = (text.split(f"<b>{w}</b>")[1].split("<b>")[0] for w in WINDOWS)
    assert (
        "↩️ After-sales: opened 2 · approved 1 · rejected 0 · refunded or exchanged 1 "
        "(1 exchanges)\nResolution p50 47h 30m · resolved 0% of those opened (target 98%)"
    ) in today
    assert "opened 6 · approved 2 · rejected 3 · refunded or exchanged 1" in week
    assert "Resolution p50 2h 00m · resolved 50% of those opened (target 98%)" in week
    assert "opened 8 · approved 3 · rejected 3 · refunded or exchanged 3" in month
    assert "Resolution p50 24h 00m · resolved 62% of those opened (target 98%)" in month

    zh = make_client(user_id=900, language_code="zh-hans")
    [report] = await zh.send("/stats support")
    assert "↩️ 售后：新建 8 · 通过 3 · 拒绝 3 · 已退款或换货 3（换货 1）" in (report.text or "")
    assert "新建中已处理 62%（目标 98%）" in (report.text or "")
