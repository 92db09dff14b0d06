"""The routers, in the order they must be tried."""

from __future__ import annotations

from aiogram import Router


def _free(router: Router) -> Router:
    """A module-level router, free to join a new Dispatcher. aiogram gives a router one
    parent, but tests, the shell and the benches build several Dispatchers in a process:
    the router keeps serving the earlier ones (no inner middlewares hang on parents here)."""
    router._parent_router = None
    return router


def get_routers() -> list[Router]:
    from handlers import (
        admin,
        broadcasts,
        community_group,
        customer,
        drops,
        errors,
        learning,
        membership,
        orders,
        returns,
        sales,
        support_group,
        support_private,
    )
    from handlers import community as community_handlers

    return [
        _free(router)
        for router in (
            errors.router,
            # Taps on a drop's Claim button: first, for the burst (see handlers.drops).
            drops.claims,
            membership.router,
            admin.router,
            support_group.router,
            learning.router,
            community_handlers.router,
            # A shared contact, the shop's order link (/start o_...) and order buttons: before
            # drops (which answers every other /start parameter) and the desk (a phone
            # number is never relayed to the agents).
            orders.router,
            drops.router,
            # Customers' return dialogue (FSM states) and agents' taps on case cards: before
            # community_group's catch-all for group buttons and the customer's catch-alls.
            returns.router,
            # Managers' dialogues (FSM states) and members' taps on sale and broadcast posts.
            sales.router,
            broadcasts.router,
            # Ends with a catch-all for buttons tapped in a group that nothing above took
            # (private-only buttons, forged data): keep it after sales and broadcasts.
            community_group.router,
            # Customers with an open ticket talk to people, not to the FAQ.
            support_private.router,
            # "Where is my order": before the FAQ, after the desk (an open ticket's agents
            # get the question).
            orders.questions,
            # The customer router ends with catch-alls (free text → FAQ, any other message
            # → "text only"), so it must stay last: routers added later would never be reached.
            customer.router,
        )
    ]
