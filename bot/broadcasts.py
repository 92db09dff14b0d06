"""Delivering broadcasts (placeholder until the deliverers land)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import Sender
from bot.texts import Catalogue
from campaigns.policy import CampaignPolicy


class BroadcastDelivery:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        policy: CampaignPolicy,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.bot = bot
        self.sf = session_factory
        self.catalogue = catalogue
        self.policy = policy
        self.clock = clock

    def install(self, sender: Sender) -> None:
        pass
