"""order_links looked up by user; an order without events is SQL NULL

Revision ID: 3c8d5a1f7e42
Revises: 9a4e2c7b5d13
Create Date: 2026-12-11 10:00:00.000000

`Order.events` is now `JSON(none_as_null=True)`. That changes no DDL (the column stays JSON,
nullable); it changes what the bot writes for "no events": SQL NULL instead of the JSON text
'null'. Rows written before keep 'null', so they are set to NULL here, and "has no events" is
`events IS NULL` for every row. Reading them gave None either way, so the downgrade leaves
them NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c8d5a1f7e42"
down_revision: str | None = "9a4e2c7b5d13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The primary key (order_id, user_id) does not serve "the orders linked to this user".
    op.create_index("ix_order_links_user_id", "order_links", ["user_id"], unique=False)
    op.execute(sa.text("UPDATE orders SET events = NULL WHERE CAST(events AS TEXT) = 'null'"))


def downgrade() -> None:
    op.drop_index("ix_order_links_user_id", table_name="order_links")
