"""`python main.py shell`: chat with the real Dispatcher in the terminal, no Telegram needed."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from pydantic import SecretStr

from bot.app import build_app, create_bot, create_dispatcher
from bot.config import Settings
from bot.local import ChatClient, LocalSession, Outgoing

LOCAL_TOKEN = SecretStr("1:local-shell")
HELP = (
    "Type as a customer would. #N taps inline button N of the last message; "
    "/quit (or Ctrl-D) leaves."
)


def render(out: Outgoing) -> list[str]:
    lines: list[str] = []
    if out.method == "answerCallbackQuery":
        if out.text:
            lines.append(f"  ({'alert' if out.show_alert else 'toast'}) {out.text}")
        return lines
    if out.method == "editMessageReplyMarkup":
        return ["  (buttons removed from the previous message)"]
    if out.method == "sendChatAction":
        return lines
    if out.text:
        first, *rest = out.text.splitlines() or [""]
        lines.append(f"bot> {first}")
        lines.extend(f"     {line}" for line in rest)
    if out.buttons:
        lines.append("     " + "  ".join(f"[#{i}] {b.text}" for i, b in enumerate(out.buttons, 1)))
    if out.menu:
        lines.append("     menu: " + " | ".join(out.menu))
    return lines


async def run_shell(
    settings: Settings,
    *,
    language: str,
    user_id: int = 1,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    app = await build_app(settings)
    local = LocalSession()
    # The local session never sends the token anywhere; create_bot only needs one.
    bot = create_bot(settings.model_copy(update={"bot_token": LOCAL_TOKEN}), session=local)
    dp = create_dispatcher(app)
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

    def show(outs: list[Outgoing]) -> None:
        for out in outs:
            for line in render(out):
                print(line, file=stdout)
        stdout.flush()

    print(f"FAQ: {len(app.kb.entries)} entries from {settings.faq_path}. {HELP}", file=stdout)
    try:
        show(await client.send("/start"))
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
            if text.startswith("#") and text[1:].strip().isdigit():
                try:
                    show(await client.click(int(text[1:])))
                except LookupError as exc:
                    print(f"  ({exc})", file=stdout)
                continue
            show(await client.send(text))
    finally:
        await bot.session.close()
        await app.close()
    return 0
