"""Routers in the order they must be tried."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Router

from campaigns.policy import CampaignPolicy
from community.policy import CommunityPolicy
from views.texts import Catalogue

if TYPE_CHECKING:
    from handlers.deps import SoldOut
from support.tickets import DeskPolicy


def detached(router: Router) -> Router:
    """A module-level router, taken off the Dispatcher it was attached to before: each
    create_dispatcher (one per test) includes the same module routers again."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
    return router


def get_routers(
    catalogue: Catalogue,
    *,
    default_language: str,
    misses_before_handoff: int,
    admin_ids: tuple[int, ...],
    policy: DeskPolicy,
    topics: bool,
    agents_language: str,
    shop_name: str,
    community: CommunityPolicy,
    campaigns: CampaignPolicy,
    sold_out: SoldOut | None = None,
) -> list[Router]:
    from handlers import (
        admin,
        broadcasts,
        community_group,
        customer,
        drops,
        errors,
        membership,
        sales,
        support_group,
        support_private,
    )
    from handlers import community as community_handlers

    return [
        errors.create_router(catalogue, default_language),
        membership.create_router(policy),
        admin.create_router(admin_ids, policy),
        support_group.create_router(
            catalogue,
            policy,
            topics=topics,
            agents_language=agents_language,
            shop_name=shop_name,
        ),
        detached(community_handlers.router),
        detached(drops.router),
        # Managers' dialogues (FSM states) and members' taps on sale and broadcast posts.
        sales.create_router(catalogue, campaigns),
        broadcasts.create_router(catalogue, campaigns),
        detached(community_group.router),
        # Customers with an open ticket talk to people, not to the FAQ.
        support_private.create_router(catalogue, policy),
        # The customer router ends with catch-alls (free text → FAQ, any other message →
        # "text only"), so it must stay last: routers added later would never be reached.
        customer.create_router(
            catalogue, misses_before_handoff=misses_before_handoff, policy=policy
        ),
    ]
