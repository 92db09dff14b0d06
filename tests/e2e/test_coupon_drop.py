"""End to end: a coupon drop with `python main.py run` against the fake Bot API over HTTP.

An admin creates a drop in private; the bot posts it in the community group with a Claim
button; members tap it: the first gets a toast that opens the bot and the code by private
message (protected), the second is told it is sold out, and the post ends "sold out".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.test_support_desk import STEP, TOKEN, BotProcess
from tests.fake_bot_api import Call, FakeBotAPI

COMMUNITY = -100_888_000_222
ADMIN = 900_000_001
MEMBERS = (700_000_001, 700_000_002)


def _markup(call: Call) -> dict[str, Any]:
    raw = call.params.get("reply_markup")
    return json.loads(raw) if isinstance(raw, str) else (raw or {})


async def test_a_drop_from_command_to_sold_out(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("COMMUNITY_CHAT_ID", str(COMMUNITY))
    monkeypatch.setenv("ADMIN_IDS", str(ADMIN))
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_group(COMMUNITY, is_forum=False, title="Community")
        bot = BotProcess(api, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
        await bot.start()
        try:
            api.push_update(api.user_message(ADMIN, "/drop 1 Launch gift | 30 off 200 | days=7"))
            await api.wait_for(
                "sendMessage", lambda c: c.params.get("chat_id") == ADMIN, timeout=STEP
            )
            post = await api.wait_for(
                "sendMessage", lambda c: c.params.get("chat_id") == COMMUNITY, timeout=STEP
            )
            button = _markup(post)["inline_keyboard"][0][0]
            message = post.result
            assert isinstance(message, dict)

            api.push_update(api.callback_query(MEMBERS[0], button["callback_data"], message))
            toast = await api.wait_for("answerCallbackQuery", timeout=STEP)
            assert str(toast.params.get("url", "")).endswith("?start=coupons")
            code = await api.wait_for(
                "sendMessage", lambda c: c.params.get("chat_id") == MEMBERS[0], timeout=STEP
            )
            assert code.params.get("protect_content") in (True, "true")

            mark = len(api.calls)
            api.push_update(api.callback_query(MEMBERS[1], button["callback_data"], message))
            late = await api.wait_for("answerCallbackQuery", timeout=STEP, after=mark)
            assert not late.params.get("url")
            final = await api.wait_for(
                "editMessageText", lambda c: c.params.get("chat_id") == COMMUNITY, timeout=STEP
            )
            assert "inline_keyboard" not in json.dumps(_markup(final))
        finally:
            await bot.stop()
            await bot.close()
