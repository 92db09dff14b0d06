"""Turn domain results into a text and a keyboard. No rules here, only presentation."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.texts import Texts
from faq import Entry, SizeAdvice
from handlers import keyboards as kb
from support.assistant import Reply, ReplyKind
from support.handoff import HandoffReason, HandoffResult


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


def render_human(t: Texts, result: HandoffResult, reason: HandoffReason) -> str:
    if not result.created:
        return t("human-already", id=result.request_id)
    if reason is HandoffReason.MISSES:
        return t("human-after-misses", id=result.request_id)
    return t("human-recorded", id=result.request_id)


def render_reply(t: Texts, reply: Reply) -> tuple[str, InlineKeyboardMarkup | None]:
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
        return render_human(t, reply.handoff, reason), None
    if reply.kind is ReplyKind.EMPTY:
        return t("empty-text"), None
    if reply.kind is ReplyKind.TOO_LONG:
        return t("too-long"), None
    return t("no-match"), kb.human_button(t)
