"""support desk: tickets, messages, topics, outbox, agents, canned replies, csat

Revision ID: 1a46cd01d397
Revises: ed8c24f71210
Create Date: 2026-11-22 06:59:13.267953
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "1a46cd01d397"
down_revision: str | None = "ed8c24f71210"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("signature", sa.String(length=64), nullable=True),
        sa.Column("online", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("online_changed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_assigned_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agents")),
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("key", "lang", name=op.f("uq_canned_replies_key_lang")),
    )
    op.create_table(
        "rate_pauses",
        sa.Column("scope", sa.String(length=48), nullable=False),
        sa.Column("until", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_rate_pauses")),
    )
    op.create_table(
        "customer_topics",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "thread_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column(
            "generation",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("shown_name", sa.String(length=128), nullable=True),
        sa.Column("updated_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_customer_topics_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_customer_topics")),
        sa.UniqueConstraint(
            "chat_id", "thread_id", name=op.f("uq_customer_topics_chat_id_thread_id")
        ),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=8), server_default="desk", nullable=False),
        sa.Column("state", sa.String(length=16), server_default="new", nullable=False),
        sa.Column(
            "assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("opened_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "first_responder_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("last_customer_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_agent_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_kind", sa.String(length=8), nullable=True),
        sa.Column(
            "closed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column(
            "reopen_count",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("out_of_hours", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sla_due_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_breached_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "sla_alert_level",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("next_alert_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("customer_blocked_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "card_chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "card_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["agents.user_id"], name=op.f("fk_tickets_assignee_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tickets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tickets_next_alert_at"), ["next_alert_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tickets_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index("ix_tickets_user_opened", ["user_id", "opened_at"], unique=False)
        batch_op.create_index(
            "uq_tickets_user_open",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("state <> 'closed'"),
            postgresql_where=sa.text("state <> 'closed'"),
        )

    op.create_table(
        "csat",
        sa.Column(
            "ticket_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asked_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("rated_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("comment_until", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("commented_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_csat_score_range")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_csat_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_csat")),
    )
    with op.batch_alter_table("csat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_csat_user_id"), ["user_id"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column(
            "author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("entities", sa.JSON(), nullable=True),
        sa.Column("file_id", sa.String(length=256), nullable=True),
        sa.Column("media_group_id", sa.String(length=64), nullable=True),
        sa.Column(
            "src_chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "src_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "dst_chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "dst_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("delivery", sa.String(length=8), server_default="none", nullable=False),
        sa.Column("edited_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
        sa.UniqueConstraint(
            "src_chat_id",
            "src_message_id",
            name=op.f("uq_ticket_messages_src_chat_id_src_message_id"),
        ),
    )
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_messages_album", ["src_chat_id", "media_group_id"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_messages_dst", ["dst_chat_id", "dst_message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_messages_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("lane", sa.String(length=48), nullable=False),
        sa.Column(
            "lane_order",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="1",
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "priority",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "ticket_message_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=96), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column(
            "attempts",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            server_default="0",
            nullable=False,
        ),
        sa.Column("next_attempt_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_outbox_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_message_id"],
            ["ticket_messages.id"],
            name=op.f("fk_outbox_ticket_message_id_ticket_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_lane_pending",
            ["lane", "lane_order", "id"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )

    # Pending handoff requests become open tickets (the latest per customer); the start-up
    # reconcile posts their cards. Requests that were already handled are history only.
    op.execute(
        """
        INSERT INTO tickets (user_id, reason, question, lang, source, state, opened_at,
                             last_customer_at, reopen_count, out_of_hours, sla_alert_level)
        SELECT h.user_id, h.reason, h.question, COALESCE(u.language, 'zh'), 'import', 'new',
               h.created_at, h.created_at, 0, false, 0
        FROM handoff_requests h JOIN users u ON u.id = h.user_id
        WHERE h.status = 'pending'
          AND h.id = (SELECT max(h2.id) FROM handoff_requests h2
                      WHERE h2.user_id = h.user_id AND h2.status = 'pending')
        """
    )
    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_requests_user_id"))

    op.drop_table("handoff_requests")


def downgrade() -> None:
    op.create_table(
        "handoff_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_handoff_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_requests")),
    )
    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_requests_user_id"), ["user_id"], unique=False)
    # Every ticket goes back as a request: unclosed ones pending, the rest done.
    op.execute(
        """
        INSERT INTO handoff_requests (user_id, reason, question, status, created_at)
        SELECT user_id, CASE WHEN reason = 'import' THEN 'button' ELSE reason END, question,
               CASE WHEN state = 'closed' THEN 'done' ELSE 'pending' END, opened_at
        FROM tickets ORDER BY id
        """
    )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_lane_pending",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
            sqlite_where=sa.text("status IN ('pending', 'sending')"),
        )
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_messages_ticket_id"))
        batch_op.drop_index("ix_ticket_messages_dst")
        batch_op.drop_index("ix_ticket_messages_album")

    op.drop_table("ticket_messages")
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("csat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_csat_user_id"))

    op.drop_table("csat")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tickets_user_open",
            sqlite_where=sa.text("state <> 'closed'"),
            postgresql_where=sa.text("state <> 'closed'"),
        )
        batch_op.drop_index("ix_tickets_user_opened")
        batch_op.drop_index(batch_op.f("ix_tickets_opened_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_next_alert_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_closed_at"))

    op.drop_table("tickets")
    op.drop_table("customer_topics")
    op.drop_table("rate_pauses")
    op.drop_table("canned_replies")
    op.drop_table("agents")
