"""The composition root: build the app's objects once, then the Bot and the Dispatcher."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand, BotCommandScopeChat, TelegramObject, User
from redis.asyncio import Redis
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import ConfigError, Settings
from bot.http import HttpServer, OrdersApi, add_orders_api, create_http_app
from bot.middlewares import FloodControlMiddleware, UpdateContextMiddleware
from bot.middlewares.sold_out import SoldOutShortcut
from bot.ops import Metrics, Ops, Readiness, TelegramCheck, UpdateMetrics, add_ops_routes
from bot.ops import database_check as database_ready
from bot.polling import InboxPoller
from bot.ratelimit import SharedRate
from bot.responses import TelegramSession
from bot.sender import Pacer, Sender
from bot.webhook import Webhook, add_webhook
from campaigns.copyguard import build_guard
from campaigns.policy import AutomationRules, CampaignPolicy
from campaigns.schedule import MarketingRules, parse_clock, parse_offsets, parse_quiet_hours
from community.checkins import CheckinRules, parse_bonuses
from community.claim_queue import ClaimQueue
from community.policy import CommunityPolicy
from community.tiers import parse_tier_agents, parse_tiers
from faq import KnowledgeBase, load_kb
from faq.factory import ModelRequired, choose_matcher
from faq.live import Learned, LiveMatcher
from handlers import get_routers
from handlers.deps import ChatOptions, SoldOut
from orders.policy import OrdersPolicy
from orders.returns import ReturnPolicy, parse_reasons, parse_statuses
from orders.rfm import RfmRules
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from support import learning
from support.hours import parse_hours
from support.tickets import DeskPolicy, follow_up, latest_ticket, reconcile
from views.texts import Catalogue

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
    matcher: LiveMatcher
    catalogue: Catalogue
    desk: DeskPolicy
    community: CommunityPolicy
    campaigns: CampaignPolicy
    clock: Callable[[], datetime] = field(default=utcnow)
    # What the FAQ had learned (support.learning.learned_stamp) when the matcher in use was
    # last rebuilt by the scheduler's job: a new stamp means another process learned more.
    learned_stamp: tuple[int, ...] | None = None
    # Nudges the outbox sender (set once it runs): a job that queued rows calls it.
    wake_sender: Callable[[], None] = field(default=lambda: None)
    # Counters and histograms for GET /metrics (bot/ops.py), one registry per App.
    metrics: Metrics = field(default_factory=Metrics)

    async def close(self) -> None:
        await self.engine.dispose()


def desk_policy(settings: Settings) -> DeskPolicy:
    s = settings
    hours = parse_hours(s.support_hours, s.support_holidays, s.timezone)
    tiers = parse_tiers(s.tiers)
    return DeskPolicy(
        chat_id=s.support_chat_id,
        sla_seconds=s.support_first_response_sla_seconds,
        realert_seconds=s.support_sla_realert_seconds,
        escalate_after=s.support_sla_escalate_after,
        reopen_window=timedelta(minutes=s.support_reopen_window_minutes),
        new_ticket_window=timedelta(hours=s.support_new_ticket_window_hours),
        csat_comment_window=timedelta(minutes=s.support_csat_comment_minutes),
        hours=None if hours.always_open else hours,
        eta_sample=s.support_eta_sample,
        context_window=timedelta(minutes=s.support_context_minutes),
        album_wait=timedelta(milliseconds=s.support_album_wait_ms),
        auto_assign=s.support_auto_assign,
        admin_ids=s.admin_ids,
        order_pattern=s.support_order_pattern,
        vip_tier=s.vip_tier,
        tier_agents=parse_tier_agents(s.support_tier_agents, tiers),
        tier_names=tuple(tier.label(s.agents_language) for tier in tiers),
        board_delay=timedelta(seconds=s.support_board_seconds)
        if s.support_board_seconds
        else None,
    )


def community_policy(settings: Settings) -> CommunityPolicy:
    s = settings
    return CommunityPolicy(
        tz=s.tz,
        chat_id=s.community_chat_id,
        tiers=parse_tiers(s.tiers),
        rules=CheckinRules(
            base=s.checkin_points,
            bonuses=parse_bonuses(s.checkin_bonuses),
            card_price=s.makeup_card_price,
            card_every=s.makeup_card_every,
        ),
        welcome_lifetime=timedelta(minutes=s.welcome_delete_minutes),
        antispam_hours=s.antispam_new_member_hours,
        admin_ids=s.admin_ids,
    )


def campaign_policy(settings: Settings) -> CampaignPolicy:
    s = settings
    return CampaignPolicy(
        tz=s.tz,
        group_chat_id=s.community_chat_id,
        channel_id=s.campaign_channel_id,
        group_language=s.group_language,
        teaser_offsets=parse_offsets(s.sale_teaser_offsets),
        ending_soon_minutes=s.sale_ending_soon_minutes,
        grace=timedelta(minutes=s.sale_grace_minutes),
        marketing=MarketingRules(
            tz=s.tz,
            quiet_hours=parse_quiet_hours(s.marketing_quiet_hours),
            daily_cap=s.marketing_daily_cap,
        ),
        guard=build_guard(s.copy_guard_words, s.copy_guard_allow),
        automations=AutomationRules(
            welcome=s.welcome_automation,
            welcome_coupon=s.welcome_coupon.strip(),
            winback=s.winback_automation,
            winback_coupon=s.winback_coupon.strip(),
            coupon_days=s.automation_coupon_days,
            at=parse_clock(s.automation_time),
        ),
        rfm=RfmRules(
            recent_days=s.rfm_recent_days,
            sleeping_days=s.rfm_sleeping_days,
            window_days=s.rfm_window_days,
            frequent_orders=s.rfm_frequent_orders,
            big_spend=s.rfm_big_spend,
            currency=s.shop_currency,
        ),
        admin_ids=s.admin_ids,
    )


def return_policy(settings: Settings) -> ReturnPolicy:
    s = settings
    return ReturnPolicy(
        window_days=s.return_window_days,
        defect_window_days=s.return_defect_window_days,
        photo_reasons=parse_reasons(s.return_photo_reasons),
        statuses=parse_statuses(s.return_statuses),
        not_received_statuses=parse_statuses(s.return_not_received_statuses),
    )


def orders_policy(settings: Settings) -> OrdersPolicy:
    secret = settings.order_link_secret
    return OrdersPolicy(
        tz=settings.tz,
        link_secret=secret.get_secret_value().encode() if secret is not None else None,
        returnable=return_policy(settings).statuses,
    )


def _model_failed(exc: Exception) -> None:
    log.error("FAQ model failed on a question (answered by the lexical matcher): %r", exc)


def build_matcher(
    settings: Settings, learned: Learned | None = None
) -> tuple[KnowledgeBase, LiveMatcher]:
    """Load and index the FAQ (raises faq.KBError naming every problem, ConfigError for a
    bad matcher setting). The hybrid matcher when the embedding model is installed and
    FAQ_SEMANTIC allows it, else the lexical one; the log says which. Phrasings learned from
    the desk are added later, from the database (`LiveMatcher.relearn`)."""
    kb = load_kb(settings.faq_path)
    try:
        choice = choose_matcher(
            settings.faq_semantic,
            cache_dir=settings.faq_embedding_cache,
            answer_threshold=settings.faq_answer_threshold,
            clarify_threshold=settings.faq_clarify_threshold,
            on_model_error=_model_failed,
        )
    except ModelRequired as exc:
        raise ConfigError(f"FAQ_SEMANTIC=on: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"FAQ_ANSWER_THRESHOLD / FAQ_CLARIFY_THRESHOLD: {exc}") from None
    log.info("FAQ matcher: %s", choice.why)
    started = time.perf_counter()
    try:
        matcher = LiveMatcher(kb, choice.build, learned if learned is not None else ())
    except ValueError as exc:
        raise ConfigError(f"FAQ_ANSWER_THRESHOLD / FAQ_CLARIFY_THRESHOLD: {exc}") from None
    phrasings = sum(len(e.all_questions()) for e in kb.entries)
    log.info(
        "FAQ ready: %d entries, %d phrasings in %.1f s",
        len(kb.entries),
        phrasings,
        time.perf_counter() - started,
    )
    return kb, matcher


def _driver_message(exc: BaseException) -> str:
    """What the database driver said, without SQLAlchemy's wrapping and links."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig.__cause__ or exc.orig
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


async def open_database(
    url: str, *, log_sql: bool = False, setting: str = "DATABASE_URL"
) -> AsyncEngine:
    """An engine that has connected once. A URL that cannot be parsed, a server that is not
    there, an unknown database, a refused login or a SQLite file that cannot be created is
    one ConfigError naming `setting` (never the password)."""
    try:
        engine = create_engine(url, hide_parameters=not log_sql)
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise ConfigError(f"{setting}: cannot create the database's folder ({exc})") from None
    except (ArgumentError, InvalidRequestError, ValueError, ImportError) as exc:
        raise ConfigError(f"{setting}: not a usable database URL ({exc})") from None
    try:
        async with engine.connect():
            pass
    except (DBAPIError, OSError) as exc:
        await engine.dispose()
        raise ConfigError(
            f"{setting}: cannot open the database ({_driver_message(exc)})"
        ) from None
    return engine


async def build_app(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utcnow
) -> App:
    engine = await open_database(settings.database_url, log_sql=settings.log_sql)
    sessions = create_session_factory(engine)
    try:
        learned = None
        if migrate:
            await upgrade(engine)
            # What the desk taught the FAQ, in the first build (one build at start-up).
            async with sessions() as session:
                learned = await learning.load_learned(session)
        # After the database: a wrong DATABASE_URL is reported before minutes of embedding.
        kb, matcher = build_matcher(settings, learned)
    except BaseException:
        await engine.dispose()
        raise
    return App(
        settings=settings,
        engine=engine,
        session_factory=sessions,
        kb=kb,
        matcher=matcher,
        catalogue=Catalogue(),
        desk=desk_policy(settings),
        community=community_policy(settings),
        campaigns=campaign_policy(settings),
        clock=clock,
    )


def shared_rate(redis: Redis, settings: Settings, *, bot_id: int) -> SharedRate:
    """The send budgets every replica of this bot shares (bot/ratelimit.py)."""
    return SharedRate(
        redis,
        prefix=f"shopbot:{bot_id}:rate",
        global_per_second=settings.sender_global_per_second,
        private_per_second=settings.sender_private_per_second,
        group_per_minute=settings.sender_group_per_minute,
        burst=settings.sender_burst,
    )


def create_sender(app: App, bot: Bot, *, topics: bool) -> Sender:
    """The outbox sender, with the support desk's deliverers when the desk is on."""
    s = app.settings
    sender = Sender(
        app.session_factory,
        clock=app.clock,
        pacer=Pacer(
            global_per_second=s.sender_global_per_second,
            private_per_second=s.sender_private_per_second,
            group_per_minute=s.sender_group_per_minute,
            burst=s.sender_burst,
        ),
        lease=timedelta(seconds=s.outbox_lease_seconds),
        give_up_after=timedelta(hours=s.outbox_give_up_hours),
        on_result=app.metrics.sent,
    )
    sender.attach(bot)  # each send waits for its slot in the request itself
    from bot.drops import DropDelivery

    DropDelivery(
        bot,
        app.session_factory,
        app.catalogue,
        group_language=s.default_language,
        tz=s.tz,
        clock=app.clock,
    ).install(sender)
    from bot.broadcasts import BroadcastDelivery
    from bot.orders import OrderDelivery
    from bot.sales import SaleDelivery

    OrderDelivery(
        bot,
        app.session_factory,
        app.catalogue,
        default_language=s.default_language,
        tz=s.tz,
        clock=app.clock,
    ).install(sender)

    for delivery in (SaleDelivery, BroadcastDelivery):
        delivery(bot, app.session_factory, app.catalogue, app.campaigns, clock=app.clock).install(
            sender
        )
    if app.desk.enabled:
        from bot.desk import Desk
        from bot.returns import ReturnDelivery

        desk = Desk(
            bot,
            app.session_factory,
            app.catalogue,
            app.desk,
            topics=topics,
            agents_language=s.agents_language,
            signature=s.support_agent_identity == "signature",
            clock=app.clock,
            tz=s.tz,
        )
        desk.install(sender)
        ReturnDelivery(desk).install(sender)  # case cards share the desk's topics
    return sender


async def resolve_desk_mode(bot: Bot, settings: Settings) -> bool:
    """True for topics mode. Checks the support group once, naming the setting on trouble."""
    chat_id = settings.support_chat_id
    if chat_id is None:
        return False
    try:
        chat = await bot.get_chat(chat_id)
        me = await bot.get_me()
        member = await bot.get_chat_member(chat_id, me.id)
    except TelegramAPIError as exc:
        raise ConfigError(
            f"SUPPORT_CHAT_ID={chat_id}: the bot cannot open this chat ({exc.message}). "
            "Add the bot to the support group as an administrator."
        ) from None
    if member.status not in ("administrator", "creator"):
        raise ConfigError(
            f"SUPPORT_CHAT_ID={chat_id}: the bot must be an administrator of the support group"
        )
    mode = settings.support_mode
    topics = bool(chat.is_forum) if mode == "auto" else mode == "topics"
    if topics and not chat.is_forum:
        raise ConfigError(
            f"SUPPORT_MODE=topics but the group {chat_id} has no topics: turn on Topics in the "
            "group settings, or set SUPPORT_MODE=reply"
        )
    if topics and not getattr(member, "can_manage_topics", True):
        raise ConfigError(
            f"SUPPORT_CHAT_ID={chat_id}: give the bot the 'Manage topics' admin right"
        )
    return topics


class WakeSender(BaseMiddleware):
    """After each update, nudge the sender: whatever the handler queued goes out now."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            self.sender.wake()


def create_dispatcher(
    app: App,
    *,
    topics: bool = True,
    sender: Sender | None = None,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    """`storage` keeps the dialogues' state (bot.replicas.fsm_storage): memory by default."""
    s = app.settings
    sold_out = SoldOut()
    dp = Dispatcher(
        storage=storage,
        # handlers.deps.AppData: what handlers may ask for by name
        catalogue=app.catalogue,
        matcher=app.matcher,
        desk=app.desk,
        community=app.community,
        campaigns=app.campaigns,
        returns_policy=return_policy(s),
        admin_ids=s.admin_ids,
        sold_out=sold_out,
        claims=ClaimQueue(app.session_factory),
        options=ChatOptions(
            default_language=s.default_language,
            misses_before_handoff=s.misses_before_handoff,
            topics=topics,
            agents_language=s.agents_language,
            shop_name=s.shop_name,
        ),
        orders=orders_policy(s),
        faq_outcomes=app.metrics.faq_outcome,
    )
    # First of the app's middlewares: it times and counts everything below it.
    dp.update.outer_middleware(UpdateMetrics(app.metrics))
    if sender is not None:
        dp.update.outer_middleware(WakeSender(sender))
    dp.update.outer_middleware(SoldOutShortcut(sold_out, app.catalogue, s.default_language))
    dp.update.outer_middleware(
        UpdateContextMiddleware(
            app.session_factory,
            app.catalogue,
            default_language=s.default_language,
            clock=app.clock,
        )
    )
    desk = app.desk

    async def talking_to_agents(data: dict[str, Any], user_id: int) -> bool:
        view = await latest_ticket(data["session"], user_id, data["now"])
        await data["session"].rollback()
        return follow_up(view, desk, data["now"]) in ("open", "reopen")

    dp.message.outer_middleware(
        FloodControlMiddleware(
            max_messages=s.flood_max_messages,
            window_seconds=s.flood_window_seconds,
            mute_seconds=s.flood_mute_seconds,
            exempt=talking_to_agents if desk.enabled else None,
        )
    )
    dp.include_routers(*get_routers())
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
        session = TelegramSession()
        if settings.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/"))
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )


async def check_bot_api(bot: Bot, settings: Settings) -> User:
    """The bot's own user, from getMe. A token Telegram refuses or a Bot API that cannot be
    reached is one ConfigError naming the setting to fix."""
    where = settings.telegram_api_url or "https://api.telegram.org"
    setting = f"TELEGRAM_API_URL={where}" if settings.telegram_api_url else "TELEGRAM_API_URL"

    def said(exc: TelegramAPIError | ClientDecodeError) -> str:
        # aiohttp's errors quote the request URL, which holds the token.
        return exc.message.replace(bot.token, "<BOT_TOKEN>")

    try:
        return await bot.get_me()
    except TelegramUnauthorizedError:
        raise ConfigError(
            "BOT_TOKEN: Telegram does not accept this token (401 Unauthorized); "
            "copy it again from @BotFather"
        ) from None
    except TelegramNetworkError as exc:
        raise ConfigError(
            f"{setting}: cannot reach the Bot API at {where} ({said(exc)})"
        ) from None
    except (TelegramAPIError, ClientDecodeError) as exc:
        raise ConfigError(
            f"{setting}: {where} does not answer as a Bot API server ({said(exc)})"
        ) from None


DESK_COMMANDS = ("c", "note", "take", "close", "transfer", "reopen", "history", "online",
                 "offline", "canned")  # fmt: skip


ADMIN_COMMANDS = (
    "sale",
    "sales",
    "broadcast",
    "broadcasts",
    "drop",
    "dropstats",
    "stats",
    "unanswered",
)


async def set_commands(
    bot: Bot,
    catalogue: Catalogue,
    *,
    support_chat_id: int | None = None,
    desk_lang: str = "zh",
    admin_ids: tuple[int, ...] = (),
    admin_lang: str = "zh",
) -> None:
    """The command menu per language; users with other app languages get English.

    The support group gets the agents' commands instead, in the agents' language, and each
    admin's private chat the managers' commands as well.
    """
    for lang, code in [(lang, lang) for lang in catalogue.languages] + [("en", None)]:
        commands = [
            BotCommand(command=name, description=catalogue.get(lang, f"cmd-{name}"))
            for name in (
                "start",
                "help",
                "human",
                "return",
                "checkin",
                "me",
                "mycoupons",
                "shop",
                "top",
                "language",
                "unsubscribe",
            )
        ]
        await bot.set_my_commands(commands, language_code=code)
    for admin in admin_ids:
        managers = [
            BotCommand(command=name, description=catalogue.get(admin_lang, f"cmd-admin-{name}"))
            for name in ADMIN_COMMANDS
        ]
        try:
            await bot.set_my_commands(managers, scope=BotCommandScopeChat(chat_id=admin))
        except TelegramAPIError as exc:  # an admin who never started the bot
            log.warning("ADMIN_IDS: no command menu for %s (%s)", admin, exc.message)
    if support_chat_id is not None:
        desk = [
            BotCommand(command=name, description=catalogue.get(desk_lang, f"cmd-desk-{name}"))
            for name in DESK_COMMANDS
        ]
        await bot.set_my_commands(desk, scope=BotCommandScopeChat(chat_id=support_chat_id))


HTTP_DEFAULTS = (
    Settings.model_fields["http_host"].default,
    Settings.model_fields["http_port"].default,
)


def http_required(settings: Settings) -> bool:
    """Whether the HTTP server must listen for the bot to run: something depends on it (the
    orders API, the webhook), or HTTP_HOST / HTTP_PORT differ from their defaults (chosen
    on purpose). Otherwise it serves the probes and metrics when it can: a second bot on the same
    machine finds 8080 taken and runs without them, with a warning. (By value, not by
    "was it set": .env.example spells out the defaults, and a copied .env keeps them.)"""
    chosen = (settings.http_host, settings.http_port) != HTTP_DEFAULTS
    needed = settings.orders_api_token is not None or settings.webhook_url is not None
    return needed or chosen


def ops_routes(app: App, bot: Bot | None, redis: Redis | None = None) -> Ops:
    """What /healthz, /readyz and /metrics need. /readyz checks the database and, given
    them, the Bot API and Redis; another dependency joins with `ops.readiness.add`."""
    readiness = Readiness()
    readiness.add("database", database_ready(app.engine))
    if bot is not None:
        readiness.add("telegram", TelegramCheck(bot))
    if redis is not None:

        async def redis_answers() -> None:
            await redis.ping()  # type: ignore[misc]  # redis-py's ping is typed for both APIs

        readiness.add("redis", redis_answers)
    return Ops(app.metrics, readiness, app.session_factory, app.clock)


async def start_http(
    app: App,
    *,
    wake: Callable[[], None] | None = None,
    bot: Bot | None = None,
    webhook: Webhook | None = None,
    redis: Redis | None = None,
) -> HttpServer | None:
    """The HTTP server: the probes and metrics (bot/ops.py), the orders API when
    ORDERS_API_TOKEN is set, and the webhook when given (webhook mode). A host or port that
    cannot be listened on is a ConfigError naming the settings when the server is required
    (`http_required`), else a warning and None."""
    s = app.settings
    web_app = create_http_app()
    add_ops_routes(web_app, ops_routes(app, bot, redis))
    if s.orders_api_token is not None:
        add_orders_api(
            web_app,
            OrdersApi(
                sessions=app.session_factory,
                token=s.orders_api_token.get_secret_value(),
                tz=s.tz,
                clock=app.clock,
                wake=wake,
            ),
        )
    if webhook is not None:
        add_webhook(web_app, s.webhook_path, webhook)
    server = HttpServer(web_app, s.http_host, s.http_port)
    try:
        await server.start()
    except OSError as exc:
        problem = f"cannot listen on {server.url} ({exc.strerror or exc})"
        if http_required(s):
            raise ConfigError(f"HTTP_HOST / HTTP_PORT: {problem}") from None
        log.warning(
            "HTTP_PORT: %s; running without /healthz, /readyz and /metrics "
            "(another bot on this machine? give each its own HTTP_PORT)",
            problem,
        )
        return None
    log.info("health and metrics: %s/healthz, /readyz, /metrics", server.url)
    if s.orders_api_token is not None:
        log.info("orders API: POST %s/api/orders", server.url)
    if webhook is not None:
        log.info("webhook: POST %s%s (for %s)", server.url, s.webhook_path, s.webhook_url)
    return server


def webhook_intake(app: App, poller: InboxPoller) -> Webhook | None:
    """The webhook route's needs when WEBHOOK_URL is set (webhook mode), else None."""
    s = app.settings
    if s.webhook_url is None or s.webhook_secret is None:
        return None
    return Webhook(
        sessions=app.session_factory,
        secret=s.webhook_secret.get_secret_value(),
        clock=app.clock,
        schedule=poller.schedule,
    )


async def serve_webhook(
    settings: Settings,
    bot: Bot,
    dp: Dispatcher,
    poller: InboxPoller,
    http: HttpServer,
    stop: asyncio.Event,
) -> None:
    """Webhook mode, once the server listens: resume what is left in the inbox, point
    Telegram at WEBHOOK_URL, then sweep up what dead replicas left until `stop`; then stop
    accepting and let the updates in hand finish. (No deleteWebhook, ever: it would let the
    updates Telegram still holds for the webhook go to nobody.)"""
    assert settings.webhook_url is not None
    assert settings.webhook_secret is not None
    assert poller.lease is not None
    # Claims older than the lease (their replica died); a live replica keeps its own.
    left = await poller.resume()
    if left:
        log.warning("handling %d update(s) left unfinished in the inbox", left)
    try:
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
    except TelegramAPIError as exc:
        await http.stop()
        await poller.drain()  # what the resume handed out finishes before the app closes
        raise ConfigError(
            f"WEBHOOK_URL={settings.webhook_url}: Telegram refused the webhook "
            f"({exc.message.replace(bot.token, '<BOT_TOKEN>')})"
        ) from None
    log.info("webhook set (updates are stored before Telegram is answered)")
    await poller.sweep_until(stop, poller.lease.total_seconds() / 2)
    await http.stop()  # no new updates; the ones being stored finish first
    await poller.drain()


async def run_polling(settings: Settings) -> None:
    """`python main.py run`: long polling, or webhook mode when WEBHOOK_URL is set."""
    from bot.replicas import Replicas

    replicas = await Replicas.open(settings)  # a wrong REDIS_URL stops here
    bot = create_bot(settings)
    try:
        app = await build_app(settings)
    except BaseException:
        await bot.session.close()
        await replicas.close()
        raise
    try:
        me = await check_bot_api(bot, settings)
    except BaseException:
        await bot.session.close()
        await app.close()
        await replicas.close()
        raise
    log.info("FAQ: %d entries from %s", len(app.kb.entries), settings.faq_path)
    log.info("running as @%s (%s)", me.username, me.id)
    from bot.scheduler import create_scheduler, stop_scheduler

    scheduler = create_scheduler(app, replicas.leader)
    sending: asyncio.Task[None] | None = None
    http: HttpServer | None = None
    try:
        topics = await resolve_desk_mode(bot, settings)
        sender = create_sender(app, bot, topics=topics)
        if replicas.redis is not None:  # the replicas spend one budget of sends together
            sender.share(shared_rate(replicas.redis, settings, bot_id=me.id))
        app.wake_sender = sender.wake
        dp = create_dispatcher(app, topics=topics, sender=sender, storage=replicas.storage)
        if app.desk.enabled:
            log.info(
                "support desk on in %s (%s mode)",
                settings.support_chat_id,
                "topics" if topics else "reply",
            )
            async with app.session_factory() as session:
                await reconcile(session, app.desk, app.clock())
        await set_commands(
            bot,
            app.catalogue,
            support_chat_id=settings.support_chat_id,
            desk_lang=settings.agents_language,
            admin_ids=settings.admin_ids,
            admin_lang=settings.default_language,
        )
        # Start-up objects live as long as the process: keep them out of the collector's
        # full passes, whose pauses early in a broadcast bunched sends into 429s
        # (bench/broadcast.py).
        gc.collect()
        gc.freeze()
        await replicas.leader.start()
        scheduler.start()
        sending = asyncio.create_task(sender.run_forever(), name="outbox-sender")
        webhook = settings.webhook_url is not None
        # A claim older than the lease is its replica's death.
        lease = timedelta(seconds=settings.webhook_lease_seconds) if webhook else None
        poller = InboxPoller(dp, bot, app.session_factory, clock=app.clock, lease=lease)
        http = await start_http(
            app,
            wake=sender.wake,
            bot=bot,
            webhook=webhook_intake(app, poller),
            redis=replicas.redis,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if webhook and http is not None:
            await serve_webhook(settings, bot, dp, poller, http, stop)
        else:
            await bot.delete_webhook()
            log.info("polling (updates are stored before they are confirmed)")
            await poller.run_until(stop)
        log.info("stopped")
    finally:
        if http is not None:
            await http.stop()
        await stop_scheduler(scheduler)
        if sending is not None:
            await sender.close(sending)
        await bot.session.close()
        await app.close()
        await replicas.close()
