"""Turn domain results into a text and a keyboard. No rules here, only presentation."""

from __future__ import annotations

import html

from aiogram.types import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup

from faq import Entry, SizeAdvice
from support.assistant import FeedbackResult, FeedbackStatus, Reply, ReplyKind
from support.relay import Incoming
from support.tickets import HandoffReason, OpenResult
from views import keyboards as kb
from views.texts import Texts


def render_entry(entry: Entry, lang: str) -> str:
    return entry.answer_for(lang)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_size(t: Texts, advice: SizeAdvice) -> str:
    if advice.kind == "shoes":
        return t(
            "size-advice-shoes", size=advice.size, foot=_num(advice.foot_cm or 0), note=advice.note
        )
    measures = []
    if advice.height_cm is not None:
        measures.append(t("size-measure-height", value=_num(advice.height_cm)))
    if advice.weight_kg is not None:
        measures.append(t("size-measure-weight", value=_num(advice.weight_kg)))
    sep = "、" if t.lang == "zh" else " / "
    return t(
        "size-advice-clothing", size=advice.size, measures=sep.join(measures), note=advice.note
    )


def render_human(t: Texts, result: OpenResult, reason: HandoffReason, *, desk: bool) -> str:
    """What the customer is told after asking for a person: the honest state of the queue."""
    if not desk:  # no support group configured: the request is recorded for the team
        if not result.created and not result.reopened:
            return _complaint_first(t, reason, t("human-already", id=result.ticket_id))
        if reason is HandoffReason.MISSES:
            return t("human-after-misses", id=result.ticket_id)
        return _complaint_first(t, reason, t("human-recorded", id=result.ticket_id))
    if result.reopened:
        text = t("ticket-reopened")
    elif not result.created:
        text = t("ticket-already-open", id=result.ticket_id)
    elif result.opens_at is not None:
        text = t("ticket-out-of-hours", opens=result.opens_at.strftime("%Y-%m-%d %H:%M"))
    elif not result.position:
        text = t("ticket-with-agent")
    elif result.eta_minutes is not None:
        text = t("ticket-opened", position=result.position, minutes=result.eta_minutes)
    else:
        text = t("ticket-opened-no-eta", position=result.position)
    if reason is HandoffReason.MISSES and result.created:
        text = f"{t('ticket-after-misses')} {text}"
    return _complaint_first(t, reason, text)


def _complaint_first(t: Texts, reason: HandoffReason, text: str) -> str:
    return f"{t('complaint-received')} {text}" if reason is HandoffReason.COMPLAINT else text


FILE_ATTRS = ("document", "voice", "video", "audio", "animation", "video_note", "sticker")


def incoming(message: Message) -> Incoming:
    """The parts of a message the desk stores (the file id lets it re-send if needed)."""
    file_id = message.photo[-1].file_id if message.photo else None
    for attr in FILE_ATTRS:
        media = getattr(message, attr, None)
        if file_id is None and media is not None:
            file_id = media.file_id
    entities = message.entities or message.caption_entities
    return Incoming(
        chat_id=message.chat.id,
        message_id=message.message_id,
        author_id=message.from_user.id if message.from_user else 0,
        kind=str(getattr(message.content_type, "value", message.content_type)),
        text=message.text if message.text is not None else message.caption,
        entities=[e.model_dump(exclude_none=True) for e in entities] if entities else None,
        file_id=file_id,
        media_group_id=message.media_group_id,
    )


def render_handoff(
    t: Texts, result: OpenResult, reason: HandoffReason, *, desk: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The honest state of the queue, with "End conversation" when the desk is on."""
    markup = kb.close_ticket(t, result.ticket_id) if desk else None
    return render_human(t, result, reason, desk=desk), markup


def render_feedback_follow_up(
    t: Texts, result: FeedbackResult
) -> tuple[str, InlineKeyboardMarkup] | None:
    """After 👎: other likely questions, or a person; nothing after 👍."""
    if result.status is FeedbackStatus.ALTERNATIVES and result.interaction_id:
        markup = kb.candidates(t, result.interaction_id, result.alternatives, t.lang)
        return t("feedback-sorry-alternatives"), markup
    if result.status is FeedbackStatus.NO_ALTERNATIVE:
        return t("feedback-sorry-human"), kb.human_button(t, "feedback")
    return None


SMALL_TALK_TEXTS = {
    ReplyKind.GREETING: "smalltalk-greeting",
    ReplyKind.THANKS: "smalltalk-thanks",
    ReplyKind.GOODBYE: "smalltalk-goodbye",
}


def render_reply(
    t: Texts, reply: Reply, *, desk: bool = False
) -> tuple[str, InlineKeyboardMarkup | ReplyKeyboardMarkup | None]:
    if reply.kind is ReplyKind.GREETING:  # the menu the customer saw on /start
        return t("smalltalk-greeting"), kb.main_menu(t)
    if reply.kind in SMALL_TALK_TEXTS:
        return t(SMALL_TALK_TEXTS[reply.kind]), None
    result = reply.result
    if reply.kind is ReplyKind.ANSWER and result is not None and result.entry is not None:
        assert reply.interaction_id is not None
        text = render_entry(result.entry, t.lang)
        if result.size_advice is not None:
            text = f"{render_size(t, result.size_advice)}\n{t('size-advice-footer')}"
        return text, kb.feedback(t, reply.interaction_id)
    if reply.kind is ReplyKind.CLARIFY and result is not None and reply.interaction_id:
        entries = tuple(c.entry for c in result.candidates)
        return t("clarify-intro"), kb.candidates(t, reply.interaction_id, entries, t.lang)
    if reply.kind is ReplyKind.HUMAN and reply.handoff is not None:
        reason = reply.handoff_reason or HandoffReason.KEYWORD
        return render_handoff(t, reply.handoff, reason, desk=desk)
    if reply.kind is ReplyKind.EMPTY:
        return t("empty-text"), None
    if reply.kind is ReplyKind.TOO_LONG:
        return t("too-long"), None
    return t("no-match"), kb.human_button(t)


def code_text(t: Texts, code: str, title: str, discount: str, expires: str | None) -> str:
    """A claimed coupon code, for its member's private chat (HTML)."""
    text = t(
        "code-delivered",
        title=html.escape(title),
        discount=html.escape(discount),
        code=html.escape(code),
    )
    return text + ("\n" + t("mycoupons-valid-until", date=expires) if expires else "")
