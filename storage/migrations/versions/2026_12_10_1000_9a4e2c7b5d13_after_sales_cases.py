"""after-sales cases: returns and exchanges, one active case per order

Revision ID: 9a4e2c7b5d13
Revises: 8a4f2c6d1e37
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "9a4e2c7b5d13"
down_revision: str | None = "8a4f2c6d1e37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("status IN ('open', 'approved')")


def upgrade() -> None:
    op.create_table(
        "after_sales_cases",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("new_size", sa.String(length=64), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("reject_reason", sa.String(length=16), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", BIGINT, nullable=True),
        sa.Column("resolved_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", BIGINT, nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'approved', 'rejected', 'refunded')",
            name=op.f("ck_after_sales_cases_status_known"),
        ),
        sa.CheckConstraint(
            "reason IN ('no_reason', 'size', 'quality', 'wrong_item', 'not_received')",
            name=op.f("ck_after_sales_cases_reason_known"),
        ),
        sa.CheckConstraint(
            "resolution IN ('refund', 'exchange')",
            name=op.f("ck_after_sales_cases_resolution_known"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
            name=op.f("fk_after_sales_cases_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_after_sales_cases_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_sales_cases")),
    )
    with op.batch_alter_table("after_sales_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_after_sales_cases_user_created", ["user_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_after_sales_cases_order_active",
            ["order_id"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    with op.batch_alter_table("after_sales_cases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_after_sales_cases_order_active", sqlite_where=ACTIVE, postgresql_where=ACTIVE
        )
        batch_op.drop_index("ix_after_sales_cases_user_created")
    op.drop_table("after_sales_cases")
