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


def _free(router: Router) -> Router:
    """A module-level router, free to join a new Dispatcher. aiogram gives a router one
    parent, but tests, the shell and the benches build several Dispatchers in a process:
    the router keeps serving the earlier ones (no inner middlewares hang on parents here)."""
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
        _free(errors.router),
        _free(membership.router),
        _free(admin.router),
        _free(support_group.router),
        community_handlers.create_router(community),
        drops.create_router(community, admin_ids, sold_out, guard=campaigns.guard),
        # Managers' dialogues (FSM states) and members' taps on sale and broadcast posts.
        _free(sales.router),
        _free(broadcasts.router),
        community_group.create_router(catalogue, community, default_language),
        # Customers with an open ticket talk to people, not to the FAQ.
        _free(support_private.router),
        # The customer router ends with catch-alls (free text → FAQ, any other message →
        # "text only"), so it must stay last: routers added later would never be reached.
        _free(customer.router),
    ]
