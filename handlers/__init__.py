"""Routers in the order they must be tried."""

from __future__ import annotations

from aiogram import Router

from bot.texts import Catalogue


def get_routers(
    catalogue: Catalogue,
    *,
    default_language: str,
    misses_before_handoff: int,
    admin_ids: tuple[int, ...],
) -> list[Router]:
    from handlers import admin, customer, errors, membership

    return [
        errors.create_router(catalogue, default_language),
        membership.create_router(),
        admin.create_router(admin_ids),
        # The customer router ends with catch-alls (free text → FAQ, any other message →
        # "text only"), so it must stay last: routers added later would never be reached.
        customer.create_router(catalogue, misses_before_handoff=misses_before_handoff),
    ]
