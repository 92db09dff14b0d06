"""The support desk's texts: ticket cards, topic names, times, answers to agents."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from orders.money import format_amount
from storage.models import Ticket, User
from support.agents import (
    AgentAction,
    AgentOutcome,
    CannedResult,
    CannedStatus,
    PastTicket,
    TransferChoices,
)
from support.board import Waiting
from support.cards import CardFacts
from support.relay import CustomerWrote
from support.replies import CannedEntry
from support.tickets import HandoffReason
from views import keyboards
from views.orders import DATE, local_time, status_text
from views.render import render_human
from views.texts import Catalogue, Texts

STATE_ICONS = {"new": "🆕", "assigned": "🙋", "waiting": "⏳", "answered": "💬", "closed": "✅"}


MESSAGE_CHARS = 4096
BREACH_ICON = "🔥"
COMPLAINT_ICON = "⚠️"  # after the state icon in the topic name of a complaint
VIP_ICON = "⭐"  # after the state icon in the topic name of a VIP's ticket


def state_icon(ticket: Ticket) -> str:
    if ticket.sla_breached_at is not None and ticket.state in ("new", "assigned", "waiting"):
        return BREACH_ICON
    return STATE_ICONS.get(ticket.state, "•")


def _display_name(user: User | None, user_id: int) -> str:
    if user is None:
        return str(user_id)
    return (user.first_name or "").strip() or (
        f"@{user.username}" if user.username else str(user_id)
    )


def customer_texts(catalogue: Catalogue, user: User | None, ticket: Ticket) -> Texts:
    return catalogue.for_lang((user.language if user else None) or ticket.lang)


def clip(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_card(
    t: Texts,
    facts: CardFacts,
    *,
    reply_mode: bool,
    tz: ZoneInfo,
    tier_names: tuple[str, ...] = (),
) -> str:
    """The ticket card in the support group, from what support.cards gathered; the shop's
    orders with their status in the agents' words and their day in TIMEZONE (``tz``)."""
    ticket, user = facts.ticket, facts.user
    username = f" @{user.username}" if user and user.username else ""
    lines = [
        t("card-title", icon=state_icon(ticket), id=ticket.id, state=t(f"state-{ticket.state}")),
        *([t("card-complaint")] if ticket.complaint else []),
        *([t("card-vip")] if ticket.vip else []),
        t(
            "card-customer",
            name=_display_name(user, ticket.user_id),
            username=username,
            user_id=ticket.user_id,
            language=ticket.lang,
        ),
        t("card-reason", reason=ticket.reason),
    ]
    if facts.tier < len(tier_names):
        lines.append(t("card-tier", tier=tier_names[facts.tier]))
    if ticket.question:
        lines.append(t("card-question", question=clip(ticket.question, 300)))
    if facts.bot_answered:
        lines.append(t("card-bot-answered"))
        for shown in facts.bot_answered:
            answer = f"{shown.answer} 👎" if shown.disliked else shown.answer
            lines.append(t("card-faq-line", question=clip(shown.question, 80), answer=answer))
    if facts.bot_missed:
        lines.append(t("card-bot-missed"))
        lines.extend(
            t("card-faq-missed-line", question=clip(s.question, 80)) for s in facts.bot_missed
        )
    if facts.orders:
        lines.append(t("card-orders", orders=", ".join(facts.orders)))
    if facts.shop_orders:
        lines.append(t("card-shop-orders"))
        lines.extend(
            t(
                "card-shop-order",
                order=o.order_id,
                status=status_text(t, o.status),
                amount=format_amount(o.amount_minor, o.currency),
                date=local_time(o.paid_at or o.created_at, tz, DATE),  # as orders_of sorts them
            )
            for o in facts.shop_orders
        )
    if facts.previous_tickets:
        avg = (
            t("card-previous-csat", avg=f"{facts.previous_csat:.1f}")
            if facts.previous_csat is not None
            else ""
        )
        lines.append(t("card-previous", count=facts.previous_tickets, csat=avg))
    if ticket.assignee_id is not None:
        lines.append(t("card-assignee", agent=facts.agent_name or ticket.assignee_id))
    else:
        lines.append(t("card-unassigned"))
    if ticket.out_of_hours:
        lines.append(t("card-out-of-hours"))
    if ticket.reopen_count:
        lines.append(t("card-reopened", count=ticket.reopen_count))
    if ticket.sla_breached_at is not None:
        lines.append(t("card-breached"))
    if ticket.customer_blocked_at is not None:
        lines.append(t("card-blocked"))
    lines.append("")
    lines.append(t("card-help-reply" if reply_mode else "card-help"))
    return "\n".join(lines)[:4096]


def customer_name(user: User | None, user_id: int) -> str:
    """The customer as agents see them: first name and @username (or the id)."""
    name = _display_name(user, user_id)
    if user and user.username and user.username not in name:
        name = f"{name} @{user.username}"
    return name


def topic_name(t: Texts, ticket: Ticket, user: User | None) -> str:
    name = customer_name(user, ticket.user_id)
    icon = state_icon(ticket) + (COMPLAINT_ICON if ticket.complaint else "")
    icon += VIP_ICON if ticket.vip else ""
    return t("topic-name", icon=icon, name=clip(name, 90), id=ticket.id)[:128]


# A run of digits long enough to be a phone or card number: not shown on the board, which
# everyone in the group sees at a glance (the card, in the customer's topic, has the text).
LONG_NUMBER = re.compile(r"\+?\d[\d \-()]{4,}\d")


def first_words(text: str | None, limit: int = 40) -> str:
    return clip(LONG_NUMBER.sub("…", text or ""), limit)


def render_board(
    t: Texts,
    tickets: Sequence[Waiting],
    more: int,
    *,
    tz: ZoneInfo,
    tier_names: tuple[str, ...] = (),
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The queue board: each waiting ticket on a line (VIP first), a Take button each."""
    if not tickets:
        return t("board-empty"), None
    lines = [t("board-title", count=len(tickets) + more), ""]
    budget = MESSAGE_CHARS - 300  # room for the footer
    cut = 0
    for w in tickets:
        tier = f" · {tier_names[w.tier]}" if 0 < w.tier < len(tier_names) else ""
        line = t(
            "board-line",
            icon=(VIP_ICON if w.ticket.vip else "")
            + (COMPLAINT_ICON if w.ticket.complaint else ""),
            id=w.ticket.id,
            name=clip(_display_name(w.user, w.ticket.user_id), 24),
            language=w.ticket.lang,
            tier=tier,
            since=w.ticket.opened_at.astimezone(tz).strftime("%H:%M"),
            words=first_words(w.ticket.question) or "-",
        )
        if sum(len(x) + 1 for x in lines) + len(line) > budget:
            cut += 1
            continue
        lines.append(line)
    if more or cut:
        lines.append(t("board-more", count=more + cut))
    lines += ["", t("board-help")]
    takes = [(w.ticket.id, clip(_display_name(w.user, w.ticket.user_id), 16)) for w in tickets]
    return "\n".join(lines)[:MESSAGE_CHARS], keyboards.queue_board(t, takes)


def desk_time(at: datetime, tz: Any) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# --- the agents' commands (handlers/support_group.py) -------------------------------------


def canned_list(t: Texts, rows: Iterable[CannedEntry]) -> str:
    """`/canned list`: every canned reply, its language and the start of its text."""
    lines = [t("canned-list")] + [
        t("canned-line", code=r.key, language=r.lang, text=r.text[:80]) for r in rows
    ]
    return "\n".join(lines)[:MESSAGE_CHARS]


def ticket_history(t: Texts, rows: Iterable[PastTicket]) -> str:
    """`/history`: the customer's tickets, newest first, with their rating."""
    lines = [t("history-tickets")] + [
        t(
            "history-ticket-line",
            id=r.id,
            opened=r.opened_at.strftime("%Y-%m-%d %H:%M"),
            state=t(f"state-{r.state}"),
            rating=f" · {r.score}★" if r.score else "",
        )
        for r in rows
    ]
    return "\n".join(lines)[:MESSAGE_CHARS]


def take_answer(t: Texts, result: AgentAction) -> str:
    if result.outcome is AgentOutcome.DONE:
        return t("ticket-taken", id=result.ticket_id)
    if result.outcome is AgentOutcome.CLOSED:
        return t("ticket-is-closed")
    if result.outcome is AgentOutcome.ALREADY and result.holder is not None:
        return t("ticket-already-taken", agent=result.holder)
    if result.outcome is AgentOutcome.NOT_HERE:
        return t("desk-command-here")
    return t("ticket-not-found")


def close_answer(t: Texts, result: AgentAction, agent_name: str) -> str:
    if result.outcome is AgentOutcome.DONE:
        return t("ticket-closed-note", agent=agent_name)
    if result.outcome is AgentOutcome.NOT_HERE:
        return t("desk-command-here")
    if result.outcome is AgentOutcome.NOT_FOUND:
        return t("ticket-not-found")
    return t("ticket-is-closed")


def reopen_answer(t: Texts, result: AgentAction) -> str:
    if result.outcome is AgentOutcome.DONE:
        return t("agent-ticket-reopened", id=result.ticket_id)
    if result.outcome is AgentOutcome.NOT_HERE:
        return t("desk-command-here")
    return t("ticket-not-found")


def transfer_answer(t: Texts, result: AgentAction, target: str) -> str | None:
    """Nothing when done: the transfer note in the topic says it."""
    if result.outcome is AgentOutcome.DONE:
        return None
    if result.outcome is AgentOutcome.NO_SUCH_AGENT:
        return t("transfer-unknown-agent", target=target[:40])
    if result.outcome is AgentOutcome.NOT_HERE:
        return t("desk-command-here")
    if result.outcome is AgentOutcome.CLOSED:
        return t("ticket-is-closed")
    return t("ticket-not-found")


def transfer_menu(t: Texts, choices: TransferChoices) -> tuple[str, InlineKeyboardMarkup | None]:
    if choices.ticket_id is None:
        key = (
            "desk-command-here" if choices.outcome is AgentOutcome.NOT_HERE else "ticket-not-found"
        )
        return t(key), None
    agents = list(choices.agents)
    text = t("transfer-choose", id=choices.ticket_id) if agents else t("transfer-nobody")
    return text, keyboards.transfer_targets(t, choices.ticket_id, agents)


def canned_answer(t: Texts, result: CannedResult) -> str:
    """What the agent is told after asking for a canned reply."""
    status = result.status
    if status is CannedStatus.SENT:
        return t("canned-sent", text=result.text[:300])
    if status is CannedStatus.NOT_HERE:
        return t("desk-command-here")
    if status is CannedStatus.NOT_FOUND:
        return t("ticket-not-found")
    if status is CannedStatus.CLOSED:
        return t("agent-ticket-closed")
    if status is CannedStatus.MISSING_VALUES:
        lines = [t("canned-no-shop-name")] if result.no_shop_name else []
        if result.missing:
            names = ", ".join(f"{{{n}}}" for n in result.missing)
            lines.append(t("canned-missing-var", names=names))
        return "\n".join(lines)
    if status is CannedStatus.BAD_KEY:
        return t("canned-bad-key", code=result.key[:40])
    return t("canned-missing", code=result.key)


def follow_up_notice(t: Texts, wrote: CustomerWrote) -> str | None:
    """What a customer writing soon after a close is told: reopened, or a new ticket."""
    if wrote.opened is not None:
        queue = render_human(t, wrote.opened, HandoffReason.FOLLOWUP, desk=True)
        return t("ticket-new-after-close") + "\n" + queue
    return t("ticket-reopened") if wrote.reopened else None
