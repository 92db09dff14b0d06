"""The support desk's texts: ticket cards, topic names, times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.models import Ticket, User
from support.cards import CardFacts
from views.texts import Catalogue, Texts

STATE_ICONS = {"new": "🆕", "assigned": "🙋", "waiting": "⏳", "answered": "💬", "closed": "✅"}


BREACH_ICON = "🔥"


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


def render_card(t: Texts, facts: CardFacts, *, reply_mode: bool) -> str:
    """The ticket card in the support group, from what support.cards gathered."""
    ticket, user = facts.ticket, facts.user
    username = f" @{user.username}" if user and user.username else ""
    lines = [
        t("card-title", icon=state_icon(ticket), id=ticket.id, state=t(f"state-{ticket.state}")),
        t(
            "card-customer",
            name=_display_name(user, ticket.user_id),
            username=username,
            user_id=ticket.user_id,
            language=ticket.lang,
        ),
        t("card-reason", reason=ticket.reason),
    ]
    if ticket.question:
        lines.append(t("card-question", question=clip(ticket.question, 300)))
    if facts.faq_shown:
        lines.append(t("card-faq-shown"))
        for shown in facts.faq_shown:
            answer = f"{shown.answer} 👎" if shown.disliked else shown.answer
            lines.append(t("card-faq-line", question=clip(shown.question, 80), answer=answer))
    if facts.orders:
        lines.append(t("card-orders", orders=", ".join(facts.orders)))
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


def topic_name(t: Texts, ticket: Ticket, user: User | None) -> str:
    name = _display_name(user, ticket.user_id)
    if user and user.username and user.username not in name:
        name = f"{name} @{user.username}"
    return t("topic-name", icon=state_icon(ticket), name=clip(name, 90), id=ticket.id)[:128]


def desk_time(at: datetime, tz: Any) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


