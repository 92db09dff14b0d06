"""The composition root: build the app's objects once, then the Bot and the Dispatcher."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings
from bot.middlewares import FloodControlMiddleware, UpdateContextMiddleware
from bot.texts import Catalogue
from faq import KnowledgeBase, Matcher, load_kb
from faq.matcher import DEFAULT_ANSWER_THRESHOLD, DEFAULT_CLARIFY_THRESHOLD
from handlers import get_routers
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything built once at start and shared by all updates."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    kb: KnowledgeBase
    matcher: Matcher
    catalogue: Catalogue
    clock: Callable[[], datetime] = field(default=utcnow)

    async def close(self) -> None:
        await self.engine.dispose()


def build_matcher(settings: Settings) -> tuple[KnowledgeBase, Matcher]:
    """Load and index the FAQ (raises faq.KBError naming every problem)."""
    kb = load_kb(settings.faq_path)
    answer = settings.faq_answer_threshold
    clarify = settings.faq_clarify_threshold
    try:
        matcher = Matcher(
            kb,
            answer_threshold=DEFAULT_ANSWER_THRESHOLD if answer is None else answer,
            clarify_threshold=DEFAULT_CLARIFY_THRESHOLD if clarify is None else clarify,
        )
    except ValueError as exc:
        raise ConfigError(f"FAQ_ANSWER_THRESHOLD / FAQ_CLARIFY_THRESHOLD: {exc}") from None
    return kb, matcher


async def build_app(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utcnow
) -> App:
    kb, matcher = build_matcher(settings)
    engine = create_engine(settings.database_url)
    if migrate:
        try:
            await upgrade(engine)
        except OSError as exc:
            await engine.dispose()
            raise ConfigError(f"DATABASE_URL: cannot reach the database ({exc})") from exc
    return App(
        settings=settings,
        engine=engine,
        session_factory=create_session_factory(engine),
        kb=kb,
        matcher=matcher,
        catalogue=Catalogue(),
        clock=clock,
    )


def create_dispatcher(app: App) -> Dispatcher:
    s = app.settings
    dp = Dispatcher(settings=s, matcher=app.matcher, catalogue=app.catalogue)
    dp.update.outer_middleware(
        UpdateContextMiddleware(
            app.session_factory,
            app.catalogue,
            default_language=s.default_language,
            clock=app.clock,
        )
    )
    dp.message.outer_middleware(
        FloodControlMiddleware(
            max_messages=s.flood_max_messages,
            window_seconds=s.flood_window_seconds,
            mute_seconds=s.flood_mute_seconds,
        )
    )
    dp.include_routers(
        *get_routers(
            app.catalogue,
            default_language=s.default_language,
            misses_before_handoff=s.misses_before_handoff,
            admin_ids=s.admin_ids,
        )
    )
    return dp


def require_token(settings: Settings) -> str:
    if settings.bot_token is None:
        raise ConfigError(
            "BOT_TOKEN is not set: put your bot's token from @BotFather in .env "
            "(see .env.example), or try the bot without Telegram: python main.py shell"
        )
    return settings.bot_token.get_secret_value()


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    token = require_token(settings)
    if session is None:
        session = AiohttpSession()
        if settings.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/"))
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )


async def set_commands(bot: Bot, catalogue: Catalogue) -> None:
    """The command menu per language; users with other app languages get English."""
    for lang, code in [(lang, lang) for lang in catalogue.languages] + [("en", None)]:
        commands = [
            BotCommand(command=name, description=catalogue.get(lang, f"cmd-{name}"))
            for name in ("start", "help", "human", "language")
        ]
        await bot.set_my_commands(commands, language_code=code)


async def run_polling(settings: Settings) -> None:
    bot = create_bot(settings)
    app = await build_app(settings)
    dp = create_dispatcher(app)
    log.info("FAQ: %d entries from %s", len(app.kb.entries), settings.faq_path)
    from bot.scheduler import create_scheduler

    scheduler = create_scheduler(app)
    try:
        me = await bot.get_me()
        log.info("running as @%s (%s)", me.username, me.id)
        await set_commands(bot, app.catalogue)
        scheduler.start()
        await dp.start_polling(bot, handle_signals=True)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await bot.session.close()
        await app.close()
