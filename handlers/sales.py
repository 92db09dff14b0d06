"""sales (placeholder until the handlers land)."""

from __future__ import annotations

from aiogram import Router

from bot.texts import Catalogue
from campaigns.policy import CampaignPolicy


def create_router(catalogue: Catalogue, policy: CampaignPolicy) -> Router:
    return Router(name="sales")
