"""inbox of polled updates

Revision ID: d90ea4f9856a
Revises: 1a46cd01d397
Create Date: 2026-11-22 07:22:29.658913
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "d90ea4f9856a"
down_revision: str | None = "1a46cd01d397"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column(
            "update_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column(
            "attempts",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("received_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox_updates")),
    )
    with op.batch_alter_table("inbox_updates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_updates_pending",
            ["update_id"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            batch_op.f("ix_inbox_updates_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_updates_received_at"))
        batch_op.drop_index(
            "ix_inbox_updates_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.drop_table("inbox_updates")
