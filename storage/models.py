"""Tables. Times are UTC; ids of Telegram users are the primary key of `users`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(128), default="")
    language_code: Mapped[str | None] = mapped_column(String(16))  # as Telegram reports it
    language: Mapped[str | None] = mapped_column(String(8))  # the user's own choice (/language)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blocked_at: Mapped[datetime | None]
    # Misses in a row (handoff or clarify); reset by an answer. Two in a row offer a human.
    consecutive_misses: Mapped[int] = mapped_column(default=0, server_default="0")
    # First private contact: only users who started the bot may receive broadcasts.
    started_at: Mapped[datetime | None]
    # /unsubscribe: no marketing (broadcasts, automations); /subscribe undoes it.
    marketing_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    opted_out_at: Mapped[datetime | None]


class FaqInteraction(Base):
    """One customer question and what the bot did with it."""

    __tablename__ = "faq_interactions"
    __table_args__ = (Index("ix_faq_interactions_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    entry_id: Mapped[str | None] = mapped_column(String(64), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    # answer | clarify | handoff | picked | menu, or small talk (faq.smalltalk.Talk):
    # greeting | thanks | goodbye | complaint
    outcome: Mapped[str] = mapped_column(String(16))
    feedback: Mapped[str | None] = mapped_column(String(8))  # up | down
    feedback_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


class UnansweredQuestion(Base):
    """A question the bot could not answer, kept for managers to grow the FAQ."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_interactions.id", ondelete="SET NULL")
    )
    question: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    best_entry_id: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(16))  # no_match | clarify | disliked
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(index=True)
    # /unanswered triage (resolved then): learned | ignored | handed (to an agent), by whom.
    triage: Mapped[str | None] = mapped_column(String(8))
    triaged_by: Mapped[int | None]
    triaged_at: Mapped[datetime | None]


class FaqLearnedPhrasing(Base):
    """A customer's question added to an FAQ entry from the desk: merged with the YAML FAQ
    when the matcher is built (faq.live.merge_learned). The same phrasing (case and spaces
    aside) is stored once per entry: `text_key` is the SHA-256 of faq.phrasing_key(text),
    a fixed-size key however long the question."""

    __tablename__ = "faq_learned_phrasings"
    __table_args__ = (UniqueConstraint("entry_id", "text_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(32), index=True)
    lang: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    text_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(12))  # ticket | unanswered | cli
    source_id: Mapped[int | None]  # the ticket's or the unanswered question's id
    created_by: Mapped[int | None]  # the agent's or admin's Telegram id
    created_at: Mapped[datetime]


class FaqLearnedEntry(Base):
    """An FAQ entry written from an agent's reply ("new entry from my reply"): the
    customer's question and the agent's answer, in the customer's language. One per ticket
    (a second tap finds the first)."""

    __tablename__ = "faq_learned_entries"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # a KB id, never a YAML one
    topic: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(12))  # ticket | cli
    source_id: Mapped[int | None]
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


OPEN_TICKET = text("state <> 'closed'")
PENDING_OUTBOX = text("status IN ('pending', 'sending')")


class Agent(Base):
    """A member of the support group who answers customers; registered on first action."""

    __tablename__ = "agents"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(64))
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    online_changed_at: Mapped[datetime | None]
    last_assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Ticket(Base):
    """One customer conversation with people, from handoff to close (and maybe reopen)."""

    __tablename__ = "tickets"
    __table_args__ = (
        # One unclosed ticket per customer, guarded by the database.
        Index(
            "uq_tickets_user_open",
            "user_id",
            unique=True,
            sqlite_where=OPEN_TICKET,
            postgresql_where=OPEN_TICKET,
        ),
        Index("ix_tickets_user_opened", "user_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))  # HandoffReason, or "import"
    question: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8), default="desk", server_default="desk")
    # new | assigned | waiting (customer wrote last) | answered (agent wrote last) | closed
    state: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.user_id"))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    assigned_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    first_responder_id: Mapped[int | None]
    last_customer_at: Mapped[datetime | None]
    last_agent_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_by_kind: Mapped[str | None] = mapped_column(String(8))  # agent | customer | system
    closed_by_id: Mapped[int | None]
    close_note: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(default=0, server_default="0")
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The customer complained (投诉, "I want to complain"): the card and topic say so.
    complaint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The customer's tier was at or above SUPPORT_VIP_TIER when it opened: it goes first.
    vip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sla_due_at: Mapped[datetime | None]
    sla_breached_at: Mapped[datetime | None]
    sla_alert_level: Mapped[int] = mapped_column(default=0, server_default="0")
    next_alert_at: Mapped[datetime | None] = mapped_column(index=True)
    customer_blocked_at: Mapped[datetime | None]
    card_chat_id: Mapped[int | None]
    card_message_id: Mapped[int | None]


class TicketMessage(Base):
    """A message in a ticket, stored before it is relayed (nothing a customer writes is lost)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        UniqueConstraint("src_chat_id", "src_message_id"),  # a replayed update stores nothing
        Index("ix_ticket_messages_dst", "dst_chat_id", "dst_message_id"),
        Index("ix_ticket_messages_album", "src_chat_id", "media_group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))  # in | out | note | context
    author_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(24))  # aiogram content_type, or "faq"
    text: Mapped[str | None] = mapped_column(Text)
    entities: Mapped[Any | None] = mapped_column(JSON)
    file_id: Mapped[str | None] = mapped_column(String(256))
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    src_chat_id: Mapped[int | None]
    src_message_id: Mapped[int | None]
    dst_chat_id: Mapped[int | None]
    dst_message_id: Mapped[int | None]
    # pending | sent | failed | dropped | none (notes and context are never sent)
    delivery: Mapped[str] = mapped_column(String(8), default="none", server_default="none")
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class TicketEvent(Base):
    """What happened to a ticket and who did it: feeds /history and per-agent numbers."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None]
    data: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class CustomerTopic(Base):
    """The customer's forum topic in the support group, reused for all their tickets."""

    __tablename__ = "customer_topics"
    __table_args__ = (UniqueConstraint("chat_id", "thread_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    chat_id: Mapped[int]
    thread_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(8), default="none")  # none | ok | lost
    generation: Mapped[int] = mapped_column(default=0, server_default="0")
    shown_name: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class DeskBoard(Base):
    """The queue board: one message in the support group's General topic, edited in place."""

    __tablename__ = "desk_boards"

    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message_id: Mapped[int | None]  # None: not posted yet (or deleted by someone)
    digest: Mapped[str | None] = mapped_column(String(64))  # what it shows, hashed
    updated_at: Mapped[datetime]


class Csat(Base):
    """The customer's rating of a closed ticket: asked once, rated once, one optional comment."""

    __tablename__ = "csat"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(index=True)
    asked_at: Mapped[datetime]
    score: Mapped[int | None]
    rated_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    comment_until: Mapped[datetime | None]
    commented_at: Mapped[datetime | None]


class CannedReply(Base):
    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("key", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8))  # zh | en | * (any)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A Telegram call to make, stored in the same transaction as the change that needs it.

    One sender claims due rows (a conditional UPDATE, so two senders never take the same
    row), sends them at Telegram's limits and records the outcome. Rows of one `lane` go out
    in (`lane_order`, `id`) order.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_lane_pending",
            "lane",
            "lane_order",
            "id",
            postgresql_where=PENDING_OUTBOX,
            sqlite_where=PENDING_OUTBOX,
        ),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    lane: Mapped[str] = mapped_column(String(48))
    lane_order: Mapped[int] = mapped_column(default=1, server_default="1")
    chat_id: Mapped[int | None]
    priority: Mapped[int] = mapped_column(default=0, server_default="0")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    ticket_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="CASCADE")
    )
    payload: Mapped[Any | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    # pending | sending | sent | failed | dropped
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class RatePause(Base):
    """A 429 pauses every sender: `global` or `chat:<id>` until the time Telegram named."""

    __tablename__ = "rate_pauses"

    scope: Mapped[str] = mapped_column(String(48), primary_key=True)
    until: Mapped[datetime]


class ProcessedUpdate(Base):
    """Update ids already handled: Telegram delivers at least once, we act at most once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(index=True)


class InboxUpdate(Base):
    """Updates as they came from getUpdates, stored before Telegram is told they arrived.

    Polling confirms updates by asking for the next ones; the bot stores each batch first,
    so a crash (even kill -9) mid-handling loses nothing: pending rows are replayed at
    start. The payload is cleared once handled; rows are pruned after two days.
    """

    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index(
            "ix_inbox_updates_pending",
            "update_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    update_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    payload: Mapped[Any | None] = mapped_column(JSON)
    # pending | handling (claimed by a webhook replica, storage/inbox.py) | done | failed
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    received_at: Mapped[datetime] = mapped_column(index=True)
    handled_at: Mapped[datetime | None]


# --- community: points, check-ins, coupon drops ------------------------------------------


class Member(Base):
    """A customer's standing in the community: points balance, lifetime earnings, cards.

    The balance is a cache of the ledger kept in the same transaction as each ledger row;
    the CHECK makes a negative balance impossible, whatever the race.
    """

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("makeup_cards >= 0", name="cards_not_negative"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    balance: Mapped[int] = mapped_column(default=0, server_default="0")
    earned: Mapped[int] = mapped_column(default=0, server_default="0")  # lifetime, for tiers
    spend: Mapped[int] = mapped_column(default=0, server_default="0")  # imported shop spend
    tier: Mapped[int] = mapped_column(default=0, server_default="0")  # index into TIERS
    makeup_cards: Mapped[int] = mapped_column(default=0, server_default="0")
    streak: Mapped[int] = mapped_column(default=0, server_default="0")
    last_checkin_day: Mapped[date | None] = mapped_column(Date)
    joined_group_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PointsEntry(Base):
    """One change of a member's points: the auditable history the balance comes from."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        Index("ix_points_ledger_user_created", "user_id", "created_at"),
        # A reference (a check-in day, a redemption) earns or costs once.
        UniqueConstraint("user_id", "reason", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delta: Mapped[int]
    # checkin | bonus | redeem | expiry | adjust | makeup
    reason: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


class Checkin(Base):
    """One check-in per member per shop day (the primary key guards it)."""

    __tablename__ = "checkins"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int]
    streak: Mapped[int]
    made_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]


class CouponDrop(Base):
    """A batch of coupons: posted in the group, claimed first come, first served.

    `claimed` only grows through a conditional UPDATE (`claimed < quantity`), so the
    quantity can never be exceeded, with any number of bot processes.
    """

    __tablename__ = "coupon_drops"
    __table_args__ = (
        CheckConstraint("claimed <= quantity", name="never_over_issued"),
        CheckConstraint("per_user_limit >= 1", name="per_user_limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    discount: Mapped[str] = mapped_column(String(256))
    quantity: Mapped[int]
    claimed: Mapped[int] = mapped_column(default=0, server_default="0")
    per_user_limit: Mapped[int] = mapped_column(default=1, server_default="1")
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None]
    audience: Mapped[str] = mapped_column(String(16), default="all")  # all | tier:N | new
    cost_points: Mapped[int | None]  # set for /shop items redeemed with points
    starts_at: Mapped[datetime]
    # draft | scheduled | live | sold_out | ended
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    chat_id: Mapped[int | None]
    message_id: Mapped[int | None]
    codes_source: Mapped[str] = mapped_column(String(12), default="generated")
    created_by: Mapped[int | None]
    created_at: Mapped[datetime]


class CouponCode(Base):
    """A code of a drop; `user_id` is set when it is claimed (once, by the slot guards)."""

    __tablename__ = "coupon_codes"
    __table_args__ = (
        UniqueConstraint("drop_id", "seq"),
        UniqueConstraint("drop_id", "user_id", "user_n"),  # the per-user limit, by slot
        Index("ix_coupon_codes_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    drop_id: Mapped[int] = mapped_column(ForeignKey("coupon_drops.id", ondelete="CASCADE"))
    seq: Mapped[int]  # 1..quantity: the n-th claim takes the n-th code
    code: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_n: Mapped[int | None]  # 1..per_user_limit
    claimed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]


class Sale(Base):
    """A flash sale: its lifecycle posts are rows of `sale_posts`, claimed when they are due."""

    __tablename__ = "sales"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="sale_ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(128))
    price: Mapped[str] = mapped_column(String(32))
    original_price: Mapped[str | None] = mapped_column(String(32))
    stock: Mapped[int | None]
    image_file_id: Mapped[str | None] = mapped_column(String(256))
    url: Mapped[str | None] = mapped_column(String(512))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    targets: Mapped[Any] = mapped_column(JSON)  # list of chat ids
    teaser_offsets: Mapped[Any] = mapped_column(JSON)  # minutes before the start
    ending_soon_minutes: Mapped[int]
    # scheduled | cancelled (live and ended are read from the clock and the posts)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    copy_override: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SalePost(Base):
    """One lifecycle post of a sale in one chat: handed to the outbox once (conditional
    UPDATE pending -> queued), or skipped when it came too late."""

    __tablename__ = "sale_posts"
    __table_args__ = (
        UniqueConstraint("sale_id", "chat_id", "stage"),
        Index("ix_sale_posts_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"))
    chat_id: Mapped[int]
    stage: Mapped[str] = mapped_column(String(16))  # teaser:<minutes> | start | ending | end
    due_at: Mapped[datetime]
    # pending | queued | sent | skipped | cancelled
    status: Mapped[str] = mapped_column(String(10), default="pending")
    message_id: Mapped[int | None]
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class SaleReminder(Base):
    """A member who tapped 🔔 on a teaser: a private message when the sale starts."""

    __tablename__ = "sale_reminders"

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("sales.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]


class Broadcast(Base):
    """A private message to a segment of subscribers (or an automation's daily batch)."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), default="manual")  # manual | welcome | winback
    text: Mapped[str] = mapped_column(Text)  # HTML
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    buttons: Mapped[Any | None] = mapped_column(JSON)  # [[label, url], ...]
    segment: Mapped[Any | None] = mapped_column(JSON)
    drop_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_drops.id", ondelete="SET NULL"))
    # draft | sending | done | cancelled
    status: Mapped[str] = mapped_column(String(10), default="draft")
    total: Mapped[int] = mapped_column(default=0, server_default="0")
    capped: Mapped[int] = mapped_column(default=0, server_default="0")
    copy_override: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[int | None]
    progress_chat_id: Mapped[int | None]
    progress_message_id: Mapped[int | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class BroadcastRecipient(Base):
    """One recipient of one broadcast: the primary key means nobody gets it twice."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        Index("ix_broadcast_recipients_user_sent", "user_id", "sent_at"),
        Index("ix_broadcast_recipients_status", "broadcast_id", "status"),
    )

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # queued | sending | sent | failed | blocked | cancelled | unknown
    status: Mapped[str] = mapped_column(String(10), default="queued")
    sent_at: Mapped[datetime | None]
    # The recipient's first interaction with the bot after it was sent ("came back").
    returned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(Text)


class AutomationSend(Base):
    """An automation reached a user for `ref` (welcome: once; win-back: once per dormancy)."""

    __tablename__ = "automation_sends"
    __table_args__ = (UniqueConstraint("kind", "user_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # welcome | winback
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(32))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Decisions a person must answer for, e.g. publishing over a copy-guard warning."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # e.g. sale:3, broadcast:7, drop:2
    detail: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)


class Order(Base):
    """A shop order as the shop's platform exported or posted it; the shop's id is the key.

    Written by `orders.intake` only (CSV import and ``POST /api/orders``), so a re-sent
    order updates its row and never makes a second one.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'paid', 'shipped', 'in_transit', 'delivered', "
            "'cancelled', 'returned', 'refunded')",
            name="status_known",
        ),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        Index("ix_orders_telegram_id", "telegram_id"),
        Index("ix_orders_phone", "phone"),
        Index("ix_orders_status_eta", "status", "eta"),
    )

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_id: Mapped[int | None]
    phone: Mapped[str | None] = mapped_column(String(20))  # digits only, country code first
    status: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    items: Mapped[str] = mapped_column(Text, default="")
    amount_minor: Mapped[int]  # in the currency's minor unit (分, cents)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    eta: Mapped[datetime | None]
    # The last logistics events the shop sent, oldest first: [{"at": ISO, "text": str}].
    # None (none sent) is SQL NULL, not the JSON text 'null'.
    events: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomerPhone(Base):
    """A phone number a customer shared with Telegram's own contact button (the contact's
    user_id was the sender's): orders placed with that number are theirs."""

    __tablename__ = "customer_phones"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # digits only
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    shared_at: Mapped[datetime]


class OrderLink(Base):
    """An order linked to a customer by the shop's signed deep link. No foreign key to
    `orders`: the link on the shop's order page may be opened before the order reaches the
    bot, and it counts once the order arrives."""

    __tablename__ = "order_links"
    # The primary key starts with order_id; ownership looks a customer's links up by user.
    __table_args__ = (Index("ix_order_links_user_id", "user_id"),)

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    linked_at: Mapped[datetime]


ACTIVE_CASE = text("status IN ('open', 'approved')")


class AfterSalesCase(Base):
    """A customer's return or exchange request for one order (orders.returns).

    open -> approved (return instructions sent) -> refunded (refund paid or exchange sent),
    or open -> rejected. One open or approved case per order, guarded by the database.
    """

    __tablename__ = "after_sales_cases"
    __table_args__ = (
        Index(
            "uq_after_sales_cases_order_active",
            "order_id",
            unique=True,
            sqlite_where=ACTIVE_CASE,
            postgresql_where=ACTIVE_CASE,
        ),
        Index("ix_after_sales_cases_user_created", "user_id", "created_at"),
        CheckConstraint(
            "status IN ('open', 'approved', 'rejected', 'refunded')", name="status_known"
        ),
        CheckConstraint(
            "reason IN ('no_reason', 'size', 'quality', 'wrong_item', 'not_received')",
            name="reason_known",
        ),
        CheckConstraint("resolution IN ('refund', 'exchange')", name="resolution_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))  # the customer's, for what they are told
    items: Mapped[str] = mapped_column(Text)  # what is returned, in the customer's words
    reason: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str] = mapped_column(String(8))  # refund | exchange
    new_size: Mapped[str | None] = mapped_column(String(64))  # exchange: size or variant
    photos: Mapped[list[str] | None] = mapped_column(JSON)  # Telegram file_ids
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    reject_reason: Mapped[str | None] = mapped_column(String(16))
    instructions: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None]
