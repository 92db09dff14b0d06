"""`python main.py shell`: chat with the real Dispatcher in the terminal, no Telegram needed."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from datetime import datetime, timedelta
from typing import TextIO

from pydantic import SecretStr

from bot.app import App, build_app, create_bot, create_dispatcher, create_sender, utcnow
from bot.config import Settings
from bot.local import Button, ChatClient, LocalSession, Outgoing
from storage.models import CustomerTopic

LOCAL_TOKEN = SecretStr("1:local-shell")
SHELL_SUPPORT_CHAT = -1000000000001  # a support group that exists only in this shell
SHELL_COMMUNITY_CHAT = -1000000000002  # a community group that exists only in this shell
SHELL_AGENT = 777
HELP = (
    "Type as a customer would. #N taps inline button N of the last message; "
    "/quit (or Ctrl-D) leaves.\n"
    "The support desk runs here too: '@ text' is an agent writing in your topic "
    "('@ /close', '@ !note', '@ /c key'), '@#N' taps button N of the last support-group "
    "message.\n"
    "The community group too: 'g> text' is you writing there, 'g#N' taps button N of the "
    "last group post. '!wait 2h' moves the clock on (m, h, d) and runs what fell due "
    "(drops, sale posts, broadcasts)."
)
_WAIT = re.compile(r"!wait\s+(\d{1,5})\s*([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _copied_text(out: Outgoing, people: dict[int, ChatClient]) -> str:
    """What a copyMessage carried, looked up in what the shell's people sent."""
    req = out.request
    ids = getattr(req, "message_ids", None) or [getattr(req, "message_id", 0)]
    source = people.get(int(getattr(req, "from_chat_id", 0) or 0))
    texts = []
    for i in ids:
        sent = source.messages.get(i, {}) if source else {}
        texts.append(str(sent.get("text") or sent.get("caption") or "[media]"))
    return " | ".join(texts)


def _buttons(buttons: list[Button]) -> str:
    return "  ".join(
        f"[#{i}] {b.text}" + (f" ↗ {b.url}" if b.url else "") for i, b in enumerate(buttons, 1)
    )


def render(
    out: Outgoing, people: dict[int, ChatClient] | None = None, community: int | None = None
) -> list[str]:
    people = people or {}
    to_group = isinstance(out.chat_id, int) and out.chat_id < 0
    prefix = "desk" if to_group else "bot"
    if to_group and out.chat_id == community:
        prefix = "group"
        if out.method in ("editMessageText", "editMessageCaption") and out.text:
            first, *_ = out.text.splitlines()
            return [f"group> (post edited) {first}"]
    thread = getattr(out.request, "message_thread_id", None)
    if to_group and thread:
        prefix = f"desk#{thread}"
    if out.method in ("copyMessage", "copyMessages"):
        return [f"{prefix}> (copied) {_copied_text(out, people)}"]
    if out.method == "createForumTopic":
        return [f"desk> (new topic: {getattr(out.request, 'name', '')})"]
    if out.method == "editForumTopic":
        return [f"desk> (topic renamed: {getattr(out.request, 'name', '')})"]
    if out.method == "editMessageText" and to_group:
        return [f"{prefix}> (card updated)"]
    lines: list[str] = []
    if out.method == "answerCallbackQuery":
        if out.text:
            lines.append(f"  ({'alert' if out.show_alert else 'toast'}) {out.text}")
        return lines
    if out.method == "editMessageReplyMarkup":
        if not out.buttons:
            return ["  (buttons removed from the previous message)"]
        return ["  (buttons updated)", "     " + _buttons(out.buttons)]
    if out.method == "sendChatAction":
        return lines
    if out.text:
        first, *rest = out.text.splitlines() or [""]
        lines.append(f"{prefix}> {first}")
        lines.extend(f"     {line}" for line in rest)
    if out.buttons:
        lines.append("     " + _buttons(out.buttons))
    if out.menu:
        lines.append("     menu: " + " | ".join(out.menu))
    return lines


async def run_jobs(app: App) -> None:
    """The scheduler's timed jobs, run after each line instead of on their timers."""
    from bot import scheduler

    await scheduler.start_drops(app)
    await scheduler.sale_posts(app)
    await scheduler.broadcast_progress(app)


async def run_shell(
    settings: Settings,
    *,
    language: str,
    user_id: int = 1,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    if settings.support_chat_id is None:
        settings = settings.model_copy(
            update={"support_chat_id": SHELL_SUPPORT_CHAT, "support_mode": "topics"}
        )
    if settings.community_chat_id is None:
        settings = settings.model_copy(update={"community_chat_id": SHELL_COMMUNITY_CHAT})
    if not settings.admin_ids:  # the shop owner trying the bot: the manager's commands too
        settings = settings.model_copy(update={"admin_ids": (user_id,)})
    settings = settings.model_copy(  # no pacing on a terminal
        update={
            "sender_group_per_minute": 100_000,
            "sender_private_per_second": 1000,
            "sender_global_per_second": 1000,
            "sender_burst": 100,
        }
    )
    offset = timedelta(0)

    def clock() -> datetime:
        return utcnow() + offset

    app = await build_app(settings, clock=clock)
    support = settings.support_chat_id
    community = settings.community_chat_id
    assert support is not None
    local = LocalSession(forum_chats={support})
    # The local session never sends the token anywhere; create_bot only needs one.
    bot = create_bot(settings.model_copy(update={"bot_token": LOCAL_TOKEN}), session=local)
    sender = create_sender(app, bot, topics=True)
    dp = create_dispatcher(app, topics=True, sender=sender)
    # Update ids must not repeat across shell sessions on one database, or the
    # de-duplication guard rightly drops them: number them from the clock.
    client = ChatClient(
        dp,
        bot,
        local,
        user_id=user_id,
        first_name="Shell",
        language_code=language,
        first_update_id=time.time_ns() // 1000,
    )
    agent = ChatClient(
        dp,
        bot,
        local,
        user_id=SHELL_AGENT,
        first_name="Agent",
        language_code=settings.agents_language,
        chat_type="supergroup",
        chat_id=support,
        first_update_id=time.time_ns() // 1000 + 10**12,
    )
    member = ChatClient(
        dp,
        bot,
        local,
        user_id=user_id,
        first_name="Shell",
        language_code=language,
        chat_type="supergroup",
        chat_id=community,
        chat_title="Community",
        is_forum=False,
        first_update_id=time.time_ns() // 1000 + 2 * 10**12,
    )
    people = {user_id: client, support: agent}
    group_buttons: list[Button] = []
    community_buttons: list[Button] = []

    def show(outs: list[Outgoing]) -> None:
        nonlocal group_buttons, community_buttons
        for out in outs:
            if out.buttons and out.chat_id == support:
                group_buttons = out.buttons
            elif out.buttons and out.chat_id == community:
                community_buttons = out.buttons
            elif out.buttons and out.chat_id == user_id:
                client.last_buttons = out.buttons  # delivered by the sender
            for line in render(out, people, community):
                print(line, file=stdout)
        stdout.flush()

    async def then_deliver(outs: list[Outgoing]) -> list[Outgoing]:
        start = len(local.requests)
        await run_jobs(app)
        await sender.drain()
        from bot.local import flatten

        return outs + [flatten(m) for m in local.requests[start:]]

    async def as_agent(text: str) -> list[Outgoing]:
        if text.startswith("#") and text[1:].strip().isdigit():
            n = int(text[1:])
            if not 1 <= n <= len(group_buttons):
                raise LookupError(f"no group button {n}")
            return await agent.press(group_buttons[n - 1].callback_data or "")
        async with app.session_factory() as session:
            topic = await session.get(CustomerTopic, user_id)
            thread = topic.thread_id if topic else None
        if thread is None:
            raise LookupError("no topic yet: ask for a human first (/human)")
        return await agent.send_content(text=text, message_thread_id=thread, is_topic_message=True)

    print(f"FAQ: {len(app.kb.entries)} entries from {settings.faq_path}. {HELP}", file=stdout)
    try:
        show(await then_deliver(await client.send("/start")))
        while True:
            if stdin.isatty():
                print("you> ", end="", file=stdout, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = line.rstrip("\n")
            if text.strip() in ("/quit", "/exit"):
                break
            if not stdin.isatty():
                print(f"you> {text}", file=stdout)
            wait = _WAIT.fullmatch(text.strip())
            if wait:
                offset += timedelta(**{_UNITS[wait.group(2)]: int(wait.group(1))})
                local_now = clock().astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
                print(f"  (the clock is now {local_now} shop time)", file=stdout)
                show(await then_deliver([]))
                continue
            try:
                if text.startswith("g>"):
                    outs = await member.send(text[2:].strip())
                elif text.startswith("g#") and text[2:].strip().isdigit():
                    n = int(text[2:])
                    if not 1 <= n <= len(community_buttons):
                        raise LookupError(f"no community button {n}")
                    outs = await member.press(community_buttons[n - 1].callback_data or "")
                elif text.startswith("@"):
                    outs = await as_agent(text[1:].strip())
                elif text.startswith("#") and text[1:].strip().isdigit():
                    outs = await client.click(int(text[1:]))
                else:
                    outs = await client.send(text)
            except LookupError as exc:
                print(f"  ({exc})", file=stdout)
                continue
            show(await then_deliver(outs))
    finally:
        await bot.session.close()
        await app.close()
    return 0
