"""faq: learned phrasings and entries; unanswered questions' triage

Revision ID: b7c3e1a94f20
Revises: 87175f33d729
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "b7c3e1a94f20"
down_revision: str | None = "87175f33d729"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "faq_learned_phrasings",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("source_id", BIGINT, nullable=True),
        sa.Column("created_by", BIGINT, nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_learned_phrasings")),
        sa.UniqueConstraint(
            "entry_id", "text_key", name=op.f("uq_faq_learned_phrasings_entry_id_text_key")
        ),
    )
    with op.batch_alter_table("faq_learned_phrasings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_faq_learned_phrasings_entry_id"), ["entry_id"], unique=False
        )

    op.create_table(
        "faq_learned_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("source_id", BIGINT, nullable=True),
        sa.Column("created_by", BIGINT, nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_learned_entries")),
        sa.UniqueConstraint(
            "source", "source_id", name=op.f("uq_faq_learned_entries_source_source_id")
        ),
    )
    with op.batch_alter_table("faq_learned_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_faq_learned_entries_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triage", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("triaged_by", BIGINT, nullable=True))
        batch_op.add_column(
            sa.Column("triaged_at", storage.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("unanswered_questions", schema=None) as batch_op:
        batch_op.drop_column("triaged_at")
        batch_op.drop_column("triaged_by")
        batch_op.drop_column("triage")

    with op.batch_alter_table("faq_learned_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_learned_entries_created_at"))
    op.drop_table("faq_learned_entries")

    with op.batch_alter_table("faq_learned_phrasings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_learned_phrasings_entry_id"))
    op.drop_table("faq_learned_phrasings")
