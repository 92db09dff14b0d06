"""Settings: wrong values fail at start with a message naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings


def test_defaults_need_nothing_but_run_needs_a_token() -> None:
    from bot.app import require_token

    settings = load_settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    with pytest.raises(ConfigError, match=r"BOT_TOKEN is not set.*python main.py shell"):
        require_token(settings)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"bot_token": "not-a-token"}, "BOT_TOKEN"),
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"redis_url": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"timezone": "Mars/Olympus"}, "TIMEZONE"),
        ({"admin_ids": "12,abc"}, "ADMIN_IDS"),
        ({"default_language": "fr"}, "DEFAULT_LANGUAGE"),
        ({"faq_answer_threshold": 1.5}, "FAQ_ANSWER_THRESHOLD"),
        ({"rfm_sleeping_days": 30}, "RFM_SLEEPING_DAYS must be more than RFM_RECENT_DAYS"),
        ({"rfm_window_days": 20}, "RFM_WINDOW_DAYS must be more than RFM_RECENT_DAYS"),
        ({"rfm_big_spend": 0}, "RFM_BIG_SPEND"),
        ({"rfm_frequent_orders": "three"}, "RFM_FREQUENT_ORDERS"),
        ({"shop_currency": "yuan"}, "SHOP_CURRENCY"),
        ({"return_photo_reasons": "quality,broken"}, "RETURN_PHOTO_REASONS: unknown reason"),
        ({"return_statuses": "lost"}, "RETURN_STATUSES: unknown order status"),
        ({"return_not_received_statuses": ","}, "RETURN_NOT_RECEIVED_STATUSES"),
        ({"return_window_days": -1}, "RETURN_WINDOW_DAYS"),
        ({"order_link_secret": "short"}, "ORDER_LINK_SECRET"),
        ({"log_format": "xml"}, "LOG_FORMAT: Input should be 'text' or 'json'"),
    ],
)
def test_bad_setting_is_named(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(_env_file=None, **overrides)


def test_admin_ids_and_token_parse() -> None:
    s = load_settings(_env_file=None, admin_ids="1, 2;3", bot_token=" 123:abc ")
    assert s.admin_ids == (1, 2, 3)
    assert s.bot_token is not None and s.bot_token.get_secret_value() == "123:abc"
    assert s.is_admin(2) and not s.is_admin(4)


def test_env_example_documents_every_setting_and_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    keys = {
        line.split("=", 1)[0].strip().lower()
        for line in example.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert keys == set(Settings.model_fields)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"))
    settings = load_settings()
    assert settings.bot_token is None and settings.support_chat_id is None


def test_rfm_settings_reach_the_campaign_policy() -> None:
    from bot.app import campaign_policy

    rules = campaign_policy(
        load_settings(
            _env_file=None,
            rfm_recent_days=14,
            rfm_sleeping_days=60,
            rfm_window_days=180,
            rfm_frequent_orders=2,
            rfm_big_spend=500,
            shop_currency=" usd ",
        )
    ).rfm
    assert (rules.recent_days, rules.sleeping_days, rules.window_days) == (14, 60, 180)
    assert (rules.frequent_orders, rules.big_spend, rules.currency) == (2, 500, "USD")
    assert rules.big_spend_minor == 50_000
