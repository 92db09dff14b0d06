"""desk_boards: the queue board message of the support group

Revision ID: 7d2b9e4c1a58
Revises: 3c8d5a1f7e42
Create Date: 2026-12-12 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "7d2b9e4c1a58"
down_revision: str | None = "3c8d5a1f7e42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_boards",
        sa.Column(
            "chat_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_desk_boards")),
    )


def downgrade() -> None:
    op.drop_table("desk_boards")
