"""Settings from the environment and `.env`; every key is documented in `.env.example`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FAQ_PATH = ROOT / "faq" / "knowledge" / "shop.yaml"
LANGUAGES = ("zh", "en")


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
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    support_chat_id: int | None = None
    community_chat_id: int | None = None
    faq_path: Path = DEFAULT_FAQ_PATH
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"

    faq_answer_threshold: float | None = Field(default=None, ge=0, le=1)
    faq_clarify_threshold: float | None = Field(default=None, ge=0, le=1)
    misses_before_handoff: int = Field(default=2, ge=1, le=10)

    flood_max_messages: int = Field(default=8, ge=1)
    flood_window_seconds: float = Field(default=10.0, gt=0)
    flood_mute_seconds: float = Field(default=30.0, ge=0)

    log_level: str = "INFO"

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

    @field_validator("default_language")
    @classmethod
    def _check_lang(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
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

    @model_validator(mode="after")
    def _check_thresholds(self) -> Settings:
        a, c = self.faq_answer_threshold, self.faq_clarify_threshold
        if a is not None and c is not None and c > a:
            raise ValueError("FAQ_CLARIFY_THRESHOLD must not be above FAQ_ANSWER_THRESHOLD")
        return self

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
