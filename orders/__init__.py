"""Orders and after-sales: the shop's orders, who they belong to, and what the bot says
about them.

Contracts other parts rely on:

* Orders enter through ``orders.intake`` only (``python main.py orders import FILE`` and
  ``POST /api/orders``); the shop's ``order_id`` is the key, so re-sending updates.
* An order belongs to a customer (``orders.ownership``) by its ``telegram_id``, by a phone
  number the customer shared with Telegram's contact button, or by the shop's signed deep
  link. Nobody else is shown anything about it.
* A customer-facing update about an order is an outbox row of kind ``order_update`` with
  payload ``{"order_id": str, "event": "shipped" | "delivered" | "late"}``, ``chat_id`` the
  customer, lane ``u:<customer>``, and ``dedupe_key`` ``order:<order_id>:<event>:<customer>``
  (``orders.notices.queue_update`` writes them all): the database, not Python state, makes it
  one message per event and customer.
"""
