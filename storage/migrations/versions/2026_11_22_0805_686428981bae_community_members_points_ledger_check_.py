"""community: members, points ledger, check-ins, coupon drops and codes

Revision ID: 686428981bae
Revises: d90ea4f9856a
Create Date: 2026-11-22 08:05:35.999942
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "686428981bae"
down_revision: str | None = "d90ea4f9856a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupon_drops",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("discount", sa.String(length=256), nullable=False),
        sa.Column(
            "quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "claimed",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "per_user_limit",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="1",
            nullable=False,
        ),
        sa.Column("valid_until", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "valid_days", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column(
            "cost_points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("starts_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("codes_source", sa.String(length=12), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("claimed <= quantity", name=op.f("ck_coupon_drops_never_over_issued")),
        sa.CheckConstraint(
            "per_user_limit >= 1", name=op.f("ck_coupon_drops_per_user_limit_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_drops")),
    )
    op.create_table(
        "checkins",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("streak", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("made_up", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_checkins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_checkins")),
    )
    op.create_table(
        "coupon_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("user_n", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("claimed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["drop_id"],
            ["coupon_drops.id"],
            name=op.f("fk_coupon_codes_drop_id_coupon_drops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_coupon_codes_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_coupon_codes_code")),
        sa.UniqueConstraint("drop_id", "seq", name=op.f("uq_coupon_codes_drop_id_seq")),
        sa.UniqueConstraint(
            "drop_id", "user_id", "user_n", name=op.f("uq_coupon_codes_drop_id_user_id_user_n")
        ),
    )
    with op.batch_alter_table("coupon_codes", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_codes_user", ["user_id"], unique=False)

    op.create_table(
        "members",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "balance",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "earned",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "spend",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "tier",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "makeup_cards",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "streak",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("last_checkin_day", sa.Date(), nullable=True),
        sa.Column("joined_group_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_members_balance_not_negative")),
        sa.CheckConstraint("makeup_cards >= 0", name=op.f("ck_members_cards_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_members")),
    )
    op.create_table(
        "points_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delta", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_points_ledger_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint(
            "user_id", "reason", "ref", name=op.f("uq_points_ledger_user_id_reason_ref")
        ),
    )
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_points_ledger_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_points_ledger_user_created", ["user_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("points_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_points_ledger_user_created")
        batch_op.drop_index(batch_op.f("ix_points_ledger_created_at"))

    op.drop_table("points_ledger")
    op.drop_table("members")
    with op.batch_alter_table("coupon_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_coupon_codes_user")

    op.drop_table("coupon_codes")
    op.drop_table("checkins")
    op.drop_table("coupon_drops")
