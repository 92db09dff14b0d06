"""orders, shared phones and order links

Revision ID: 5e3bdadf678a
Revises: 5c0e7b1d2a9f
Create Date: 2026-12-03 17:59:21.382790
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "5e3bdadf678a"
down_revision: str | None = "5c0e7b1d2a9f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column(
            "telegram_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column(
            "amount_minor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("eta", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'shipped', 'in_transit', 'delivered', "
            "'cancelled', 'returned', 'refunded')",
            name=op.f("ck_orders_status_known"),
        ),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_orders_amount_not_negative")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_phone", ["phone"], unique=False)
        batch_op.create_index("ix_orders_status_eta", ["status", "eta"], unique=False)
        batch_op.create_index("ix_orders_telegram_id", ["telegram_id"], unique=False)

    op.create_table(
        "customer_phones",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shared_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_customer_phones_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_customer_phones")),
    )
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_phones_user_id"), ["user_id"], unique=False)

    op.create_table(
        "order_links",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("linked_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_order_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "user_id", name=op.f("pk_order_links")),
    )


def downgrade() -> None:
    op.drop_table("order_links")
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phones_user_id"))

    op.drop_table("customer_phones")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_telegram_id")
        batch_op.drop_index("ix_orders_status_eta")
        batch_op.drop_index("ix_orders_phone")

    op.drop_table("orders")
