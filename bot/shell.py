"""`python main.py shell`: chat with the real Dispatcher in the terminal, no Telegram needed."""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import time
from datetime import datetime, timedelta
from typing import Any, TextIO

from pydantic import SecretStr

from bot.app import App, build_app, create_bot, create_dispatcher, create_sender, utcnow
from bot.config import Settings
from bot.local import Button, ChatClient, LocalSession, Outgoing
from faq.hybrid import has_cache
from storage.models import CustomerTopic

LOCAL_TOKEN = SecretStr("1:local-shell")
SHELL_SUPPORT_CHAT = -1000000000001  # a support group that exists only in this shell
SHELL_COMMUNITY_CHAT = -1000000000002  # a community group that exists only in this shell
SHELL_AGENT = 777
SHELL_MEMBERS = 900_000_000  # g2> is user 900000002 ("Member 2"), g3> 900000003, ...
HELP = (
    "Type as a customer would. #N taps inline button N of the last message; "
    "/quit (or Ctrl-D) leaves.\n"
    "The support desk runs here too: '@ text' is an agent writing in your topic "
    "('@ /close', '@ !note', '@ /c key'), '@#N' taps button N of the last support-group "
    "message.\n"
    "The community group too: 'g> text' is you writing there, 'g#N' taps button N of the "
    "last group post; 'g2> text' and 'g2#N' are another member (g3, ... more). "
    "'!wait 2h' moves the clock on (m, h, d) and runs what fell due "
    "(drops, sale posts, broadcasts, support SLA alerts). "
    "A message the bot edits is shown again in full, marked '(edit of message #N)'."
)
_WAIT = re.compile(r"!wait\s+(\d{1,5})\s*([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_GROUP = re.compile(r"g(\d{0,3})(>|#)(.*)", re.DOTALL)
Messages = dict[tuple[int, int], dict[str, Any]]
_EDITS = ("editMessageText", "editMessageCaption", "editMessageReplyMarkup")


def _copied_text(out: Outgoing, messages: Messages) -> str:
    """What a copyMessage carried: the copied messages, as Telegram holds them."""
    req = out.request
    ids = getattr(req, "message_ids", None) or [getattr(req, "message_id", 0)]
    source = int(getattr(req, "from_chat_id", 0) or 0)
    texts = []
    for i in ids:
        sent = messages.get((source, i), {})
        texts.append(str(sent.get("text") or sent.get("caption") or "[media]"))
    return " | ".join(texts)


def _buttons(buttons: list[Button]) -> str:
    return "  ".join(
        f"[#{i}] {b.text}" + (f" ↗ {b.url}" if b.url else "") for i, b in enumerate(buttons, 1)
    )


def _prefix(out: Outgoing, names: dict[int, str], messages: Messages) -> str:
    """Who sees it: bot> (you), bot→g2> (member 2), group>, or desk#topic> (the desk)."""
    chat = out.chat_id if isinstance(out.chat_id, int) else 0
    if chat in names:
        return names[chat]
    thread = getattr(out.request, "message_thread_id", None)
    if out.method in _EDITS:  # an edit names the message, which knows its topic
        thread = messages.get((chat, out.message_id or 0), {}).get("message_thread_id")
    if chat < 0:
        return f"desk#{thread}" if thread else "desk"
    return f"bot→{chat}"


def render(out: Outgoing, messages: Messages, names: dict[int, str]) -> list[str]:
    """The lines showing what the bot did; ``messages`` are the chats' messages (as
    LocalSession's Telegram holds them), ``names`` the prefixes of the shell's own chats."""
    prefix = _prefix(out, names, messages)
    if out.method in ("copyMessage", "copyMessages"):
        return [f"{prefix}> (copied) {_copied_text(out, messages)}"]
    if out.method == "createForumTopic":
        return [f"desk> (new topic: {getattr(out.request, 'name', '')})"]
    if out.method == "editForumTopic":
        return [f"desk> (topic renamed: {getattr(out.request, 'name', '')})"]
    lines: list[str] = []
    if out.method == "answerCallbackQuery":
        if out.text:
            lines.append(f"  ({'alert' if out.show_alert else 'toast'}) {out.text}")
        return lines
    if out.method == "sendChatAction":
        return lines
    if out.method in _EDITS:
        edit = f"{prefix}> (edit of message #{out.message_id})"
        if out.method == "editMessageReplyMarkup":
            if not out.buttons:
                return [f"{edit} buttons removed"]
            return [f"{edit} new buttons", "     " + _buttons(out.buttons)]
        lines = [edit] + [f"     {line}" for line in (out.text or "").splitlines()]
    elif out.text:
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
    if app.desk.enabled:
        await scheduler.support_sla(app)


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

    if settings.faq_semantic != "off" and not has_cache(settings.faq_embedding_cache):
        print(
            "(first start: the FAQ is being read by the language model, about half a minute;"
            " later starts take a second)",
            file=stdout,
            flush=True,
        )
    app = await build_app(settings, clock=clock)
    support = settings.support_chat_id
    community = settings.community_chat_id
    assert support is not None
    assert community is not None
    local = LocalSession(forum_chats={support})
    # The local session never sends the token anywhere; create_bot only needs one.
    bot = create_bot(settings.model_copy(update={"bot_token": LOCAL_TOKEN}), session=local)
    sender = create_sender(app, bot, topics=True)
    dp = create_dispatcher(app, topics=True, sender=sender)
    # Update ids must not repeat across shell sessions on one database, or the
    # de-duplication guard rightly drops them: number them from the clock.
    update_ids = itertools.count(time.time_ns() // 1000, 10**12)
    client = ChatClient(
        dp,
        bot,
        local,
        user_id=user_id,
        first_name="Shell",
        language_code=language,
        first_update_id=next(update_ids),
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
        first_update_id=next(update_ids),
    )
    members: dict[int, ChatClient] = {}  # g> is 1 (you), g2> is 2, ...
    names = {user_id: "bot", community: "group"}

    def member(n: int) -> ChatClient:
        if n not in members:
            you = n == 1
            members[n] = ChatClient(
                dp,
                bot,
                local,
                user_id=user_id if you else SHELL_MEMBERS + n,
                first_name="Shell" if you else f"Member {n}",
                language_code=language,
                chat_type="supergroup",
                chat_id=community,
                chat_title="Community",
                is_forum=False,
                first_update_id=next(update_ids),
            )
            if not you:
                names[SHELL_MEMBERS + n] = f"bot→g{n}"
        return members[n]

    # Per chat, the last message that showed buttons: (its id, the buttons).
    tappable: dict[int, tuple[int, list[Button]]] = {}

    def show(outs: list[Outgoing]) -> None:
        for out in outs:
            chat = out.chat_id if isinstance(out.chat_id, int) else 0
            if out.buttons and out.method != "answerCallbackQuery":
                tappable[chat] = (out.message_id or 1, out.buttons)
            for line in render(out, local.telegram.messages, names):
                print(line, file=stdout)
        stdout.flush()

    async def tap(person: ChatClient, chat: int | None, text: str) -> list[Outgoing]:
        n = int(text)
        message_id, buttons = tappable.get(chat or 0, (1, []))
        if not 1 <= n <= len(buttons):
            raise LookupError(f"no button {n} there; there are {len(buttons)}")
        if buttons[n - 1].callback_data is None:
            raise LookupError(f"button {n} is a link: {buttons[n - 1].url}")
        return await person.press(buttons[n - 1].callback_data or "", message_id)

    async def then_deliver(outs: list[Outgoing]) -> list[Outgoing]:
        start = len(local.requests)
        await run_jobs(app)
        await sender.drain()
        return outs + local.outgoing(start)

    async def as_agent(text: str) -> list[Outgoing]:
        if text.startswith("#") and text[1:].strip().isdigit():
            return await tap(agent, support, text[1:])
        async with app.session_factory() as session:
            topic = await session.get(CustomerTopic, user_id)
            thread = topic.thread_id if topic else None
        if thread is None:
            raise LookupError("no topic yet: ask for a human first (/human)")
        return await agent.send_content(text=text, message_thread_id=thread, is_topic_message=True)

    async def in_group(n: int, tapping: bool, text: str) -> list[Outgoing]:
        if tapping:
            if not text.isdigit():
                raise LookupError("g#N taps button N of the last group post")
            return await tap(member(n), community, text)
        return await member(n).send(text)

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
            group = _GROUP.fullmatch(text)
            try:
                if group:
                    n = int(group.group(1) or 1)
                    outs = await in_group(n, group.group(2) == "#", group.group(3).strip())
                elif text.startswith("@"):
                    outs = await as_agent(text[1:].strip())
                elif text.startswith("#") and text[1:].strip().isdigit():
                    outs = await tap(client, user_id, text[1:].strip())
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
