"""Admin commands in a private chat with the bot (ADMIN_IDS)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import Texts
from handlers.filters import IsAdmin, PrivateChat
from support.insights import unanswered_questions

SHOWN = 10
QUESTION_CHARS = 80


def create_router(admin_ids: tuple[int, ...]) -> Router:
    router = Router(name=__name__)
    router.message.filter(PrivateChat(), IsAdmin(admin_ids))

    @router.message(Command("unanswered"))
    async def cmd_unanswered(
        message: Message, session: AsyncSession, texts: Texts, now: datetime
    ) -> None:
        gaps = await unanswered_questions(session, since=now - timedelta(days=7), limit=SHOWN)
        if not gaps:
            await message.answer(texts("unanswered-none"))
            return
        lines = [texts("unanswered-title", count=len(gaps))]
        for g in gaps:
            question = " ".join(g.question.split())
            if len(question) > QUESTION_CHARS:
                question = question[: QUESTION_CHARS - 1] + "…"
            lines.append(
                texts(
                    "unanswered-line", times=g.times, question=question, guess=g.best_guess or "-"
                )
            )
        lines.append(texts("unanswered-footer"))
        await message.answer("\n".join(lines))

    return router
