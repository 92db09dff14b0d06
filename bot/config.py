"""Settings from the environment and `.env`; every key is documented in `.env.example`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from views.texts import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FAQ_PATH = ROOT / "faq" / "knowledge" / "shop.yaml"
MIN_API_TOKEN = 16
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `KEY=` in .env means "use the default"
        extra="ignore",
        case_sensitive=False,
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    database_url: str = "sqlite+aiosqlite:///data/bot.db"
    # Several replicas: dialogue drafts (FSM) in Redis and one leader for the scheduler's
    # jobs (bot/replicas.py). Empty: one process, as before.
    redis_url: SecretStr | None = None
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    support_chat_id: int | None = None
    community_chat_id: int | None = None
    faq_path: Path = DEFAULT_FAQ_PATH
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"

    # auto: the hybrid matcher when the model is installed (extra "semantic"), else lexical;
    # on: the hybrid matcher or refuse to start; off: lexical only.
    faq_semantic: Literal["auto", "on", "off"] = "auto"
    faq_embedding_cache: Path = Path("data") / "faq-embeddings"
    faq_answer_threshold: float | None = Field(default=None, ge=0, le=1)
    faq_clarify_threshold: float | None = Field(default=None, ge=0, le=1)
    misses_before_handoff: int = Field(default=2, ge=1, le=10)

    flood_max_messages: int = Field(default=8, ge=1)
    flood_window_seconds: float = Field(default=10.0, gt=0)
    flood_mute_seconds: float = Field(default=30.0, ge=0)

    shop_name: str = ""  # {shop} in canned replies

    # The support desk (on when SUPPORT_CHAT_ID is set).
    support_mode: Literal["auto", "topics", "reply"] = "auto"
    support_language: str | None = None  # agents' language; DEFAULT_LANGUAGE when empty
    support_first_response_sla_seconds: int = Field(default=180, ge=10, le=86_400)
    support_sla_realert_seconds: int = Field(default=120, ge=10, le=86_400)
    support_sla_escalate_after: int = Field(default=2, ge=1, le=10)
    support_auto_assign: bool = False
    support_agent_identity: Literal["anonymous", "signature"] = "anonymous"
    support_reopen_window_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    support_new_ticket_window_hours: int = Field(default=24, ge=0, le=24 * 30)
    support_csat_comment_minutes: int = Field(default=10, ge=0, le=24 * 60)
    support_hours: str = ""
    support_holidays: str = ""
    support_eta_sample: int = Field(default=50, ge=1, le=10_000)
    support_context_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    support_album_wait_ms: int = Field(default=1200, ge=0, le=10_000)
    support_order_pattern: str = r"(?<!\d)\d{10,20}(?!\d)"
    support_vip_tier: str = "金卡"  # a tier name (zh or en) or number; empty: no VIP queue
    support_tier_agents: str = ""  # e.g. "金卡=123456789, 钻石=987654321"
    # The queue board: redrawn at most this many seconds after a change; 0: no board, every
    # new ticket's topic and card are posted at once (two of the group's ~20 posts a minute).
    support_board_seconds: int = Field(default=3, ge=0, le=300)

    # The community: tiers, check-ins, make-up cards.
    tiers: str = ""  # e.g. "普通/Regular:0, 银卡/Silver:500:1.2"; empty: the four defaults
    checkin_points: int = Field(default=10, ge=0, le=100_000)
    checkin_bonuses: str = "7:50,30:200"
    makeup_card_price: int = Field(default=100, ge=0, le=1_000_000)
    makeup_card_every: int = Field(default=0, ge=0, le=365)
    # 购物得积分: points per whole unit of an order's currency, credited once when delivered.
    purchase_points_per_unit: float = Field(default=0.0, ge=0, le=1000)
    purchase_points_window_days: int = Field(default=30, ge=1, le=365)
    welcome_delete_minutes: int = Field(default=5, ge=0, le=24 * 60)
    antispam_new_member_hours: int = Field(default=24, ge=0, le=24 * 30)

    # Campaigns: flash sales, broadcasts, automations.
    community_language: str | None = None  # the group's (and channel's) language; DEFAULT_LANGUAGE
    campaign_channel_id: int | None = None  # a channel sales may also be posted to
    sale_teaser_offsets: str = "24h,1h"  # before the start; units m, h, d
    sale_ending_soon_minutes: int = Field(default=10, ge=0, le=24 * 60)
    sale_grace_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    copy_guard_words: str = ""  # forbidden words added to the built-in list, comma-separated
    copy_guard_allow: str = ""  # harmless words that contain a forbidden one (e.g. 最近)
    marketing_quiet_hours: str = ""  # e.g. 22:00-08:00 in TIMEZONE; empty: none
    marketing_daily_cap: int = Field(default=1, ge=0, le=100)  # per user per 24 h; 0: no cap
    automation_time: str = "10:00"
    welcome_automation: bool = False
    welcome_coupon: str = ""  # the welcome coupon's discount, e.g. "¥20 off over ¥199"
    winback_automation: bool = False
    winback_coupon: str = ""
    automation_coupon_days: int = Field(default=14, ge=1, le=365)

    # Order groups of segments (RFM, orders/rfm.py): recent / long ago, frequent, big spend.
    shop_currency: str = "CNY"  # ISO 4217; only orders in it count toward spend
    rfm_recent_days: int = Field(default=30, ge=1, le=3650)
    rfm_sleeping_days: int = Field(default=90, ge=1, le=3650)
    rfm_window_days: int = Field(default=365, ge=1, le=3650)
    rfm_frequent_orders: int = Field(default=3, ge=1, le=10_000)
    rfm_big_spend: int = Field(default=1000, ge=1, le=1_000_000_000)  # in major units (元)

    # Returns and exchanges (orders.returns): windows after delivery, which reasons need a
    # photo, which order statuses may be returned (and which count as "not received").
    return_window_days: int = Field(default=7, ge=0, le=365)
    return_defect_window_days: int = Field(default=15, ge=0, le=365)
    return_photo_reasons: str = "quality,wrong_item"
    return_statuses: str = "delivered"
    return_not_received_statuses: str = "shipped,in_transit"

    # Orders in the chat: the secret signs the deep links on the shop's order pages (empty:
    # no link is valid).
    order_link_secret: SecretStr | None = None

    # The outbox sender: Telegram's limits, with a margin.
    sender_global_per_second: float = Field(default=25.0, gt=0, le=1000)
    sender_private_per_second: float = Field(default=1.0, gt=0, le=1000)
    sender_group_per_minute: float = Field(default=20.0, gt=0, le=100_000)
    sender_burst: int = Field(default=3, ge=1, le=100)
    outbox_lease_seconds: int = Field(default=60, ge=5, le=3600)
    outbox_give_up_hours: float = Field(default=24.0, gt=0, le=24 * 14)

    # The HTTP server (health, metrics, POST /api/orders, the webhook); see bot/app.py
    # http_required for when a taken port is an error.
    orders_api_token: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port

    # Webhook mode (bot/webhook.py): Telegram posts updates to WEBHOOK_URL, served by the HTTP
    # server above on WEBHOOK_URL's path; empty: long polling.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # An update claimed by a replica and not finished after this long is taken as its
    # replica's death: another replica handles it (swept every half of it).
    webhook_lease_seconds: int = Field(default=120, ge=10, le=3600)

    log_level: str = "INFO"
    # text: one readable line per record; json: one JSON object per line (bot/logs.py).
    log_format: Literal["text", "json"] = "text"
    # SQL statements with their parameters (customers' words) in the log: for debugging only.
    log_sql: bool = False

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return tuple(int(p) for p in parts)
            except ValueError:
                raise ValueError(
                    "ADMIN_IDS must be Telegram user ids separated by commas"
                ) from None
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from None
        return value

    @field_validator("default_language", "support_language", "community_language")
    @classmethod
    def _check_lang(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("shop_currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{value!r} is not a currency code like CNY or USD")
        return code

    @field_validator("support_order_pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                f"(got {value.split(':', 1)[0]!r})"
            )
        return value

    @field_validator("order_link_secret")
    @classmethod
    def _check_link_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().strip()) < 16:
            raise ValueError("too short: use at least 16 random characters")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        left, _, right = token.partition(":")
        if not left.isdigit() or not right:
            raise ValueError(
                "does not look like a bot token (expected 123456789:ABC..., from @BotFather)"
            )
        return SecretStr(token)

    @field_validator("orders_api_token")
    @classmethod
    def _check_api_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        if not all(ch.isascii() and ch.isprintable() and not ch.isspace() for ch in token):
            raise ValueError("must be printable ASCII without spaces (it travels in a header)")
        if len(token) < MIN_API_TOKEN:
            raise ValueError(
                f"too short ({len(token)} characters; at least {MIN_API_TOKEN}): make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return SecretStr(token)

    @field_validator("http_host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
        return value.strip()

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = urlsplit(value.strip())
        local = url.hostname in LOCAL_HOSTS
        if not url.hostname or not (url.scheme == "https" or (url.scheme == "http" and local)):
            raise ValueError(
                f"{value.strip()!r} is not an https:// URL (Telegram posts updates over HTTPS "
                "only; plain http is allowed for 127.0.0.1 and localhost, for local tests)"
            )
        if url.query or url.fragment:
            raise ValueError("must not have a ?query or #fragment: the path is the route")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        secret = value.get_secret_value().strip()
        if not WEBHOOK_SECRET.fullmatch(secret):
            raise ValueError(
                "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule): make "
                "one with python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return SecretStr(secret)

    @model_validator(mode="after")
    def _check_webhook(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET: required with WEBHOOK_URL (Telegram sends it with every update, "
                "so requests from anyone else are refused)"
            )
        return self

    @property
    def webhook_path(self) -> str:
        """The route the webhook is served on: WEBHOOK_URL's path ("/" when it has none)."""
        return urlsplit(self.webhook_url or "").path or "/"

    @model_validator(mode="after")
    def _check_thresholds(self) -> Settings:
        a, c = self.faq_answer_threshold, self.faq_clarify_threshold
        if a is not None and c is not None and c > a:
            raise ValueError("FAQ_CLARIFY_THRESHOLD must not be above FAQ_ANSWER_THRESHOLD")
        return self

    @model_validator(mode="after")
    def _check_hours(self) -> Settings:
        from support.hours import HoursError, parse_hours

        try:
            parse_hours(self.support_hours, self.support_holidays, self.timezone)
        except HoursError as exc:
            raise ValueError(f"SUPPORT_HOURS / SUPPORT_HOLIDAYS: {exc}") from None
        return self

    @model_validator(mode="after")
    def _check_community(self) -> Settings:
        from community.checkins import parse_bonuses
        from community.tiers import parse_tier_agents, parse_tiers

        for name, check in (
            ("TIERS", lambda: parse_tiers(self.tiers)),
            ("CHECKIN_BONUSES", lambda: parse_bonuses(self.checkin_bonuses)),
            ("SUPPORT_VIP_TIER", lambda: self.vip_tier),
            (
                "SUPPORT_TIER_AGENTS",
                lambda: parse_tier_agents(self.support_tier_agents, parse_tiers(self.tiers)),
            ),
        ):
            try:
                check()
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    @property
    def vip_tier(self) -> int | None:
        """SUPPORT_VIP_TIER as an index into TIERS; None when it is empty."""
        from community.tiers import find_tier, parse_tiers

        name = self.support_vip_tier.strip()
        return find_tier(parse_tiers(self.tiers), name) if name else None

    @model_validator(mode="after")
    def _check_campaigns(self) -> Settings:
        from campaigns.schedule import parse_clock, parse_offsets, parse_quiet_hours

        for name, check in (
            ("SALE_TEASER_OFFSETS", lambda: parse_offsets(self.sale_teaser_offsets)),
            ("MARKETING_QUIET_HOURS", lambda: parse_quiet_hours(self.marketing_quiet_hours)),
            ("AUTOMATION_TIME", lambda: parse_clock(self.automation_time)),
        ):
            try:
                check()
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        for name, on, coupon in (
            ("WELCOME_COUPON", self.welcome_automation, self.welcome_coupon),
            ("WINBACK_COUPON", self.winback_automation, self.winback_coupon),
        ):
            if on and not coupon.strip():
                raise ValueError(f"{name}: the automation is on, so say what the coupon gives")
        return self

    @model_validator(mode="after")
    def _check_rfm(self) -> Settings:
        from orders.rfm import RfmRules, check_rules

        check_rules(
            RfmRules(
                recent_days=self.rfm_recent_days,
                sleeping_days=self.rfm_sleeping_days,
                window_days=self.rfm_window_days,
            )
        )
        return self

    @model_validator(mode="after")
    def _check_returns(self) -> Settings:
        from orders.returns import parse_reasons, parse_statuses

        try:
            parse_reasons(self.return_photo_reasons)
        except ValueError as exc:
            raise ValueError(f"RETURN_PHOTO_REASONS: {exc}") from None
        for name, raw in (
            ("RETURN_STATUSES", self.return_statuses),
            ("RETURN_NOT_RECEIVED_STATUSES", self.return_not_received_statuses),
        ):
            try:
                parse_statuses(raw)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    @property
    def group_language(self) -> str:
        return self.community_language or self.default_language

    @property
    def agents_language(self) -> str:
        return self.support_language or self.default_language

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {msg}")
        raise ConfigError("; ".join(lines)) from None
