"""Teaching the FAQ: the offer at a ticket's close, /unanswered triage, and what a tap did.

Questions are the customers' words: these texts are plain (no HTML)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from faq import Entry, KnowledgeBase
from support.learning import LearnOffer, LearnResult, LearnStatus, TriageItem, TriagePage
from views.callbacks import (
    AttachQuestion,
    HandQuestion,
    IgnoreQuestion,
    MoreQuestions,
    TeachEntry,
    TeachNew,
)
from views.texts import Texts

QUESTION_CHARS = 300
LABEL_CHARS = 40
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry_label(entry: Entry, lang: str) -> str:
    """An entry as people know it: its first question in `lang` (else any), clipped."""
    questions = entry.questions.get(lang) or next(iter(entry.questions.values()), ())
    return clip(questions[0], LABEL_CHARS) if questions else entry.id


def learn_offer(t: Texts, offer: LearnOffer) -> tuple[str, InlineKeyboardMarkup]:
    """The lesson a closed ticket offers its agent: best guesses, or a new entry."""
    question = clip(offer.question, QUESTION_CHARS)
    key = "learn-offer" if offer.guesses else "learn-offer-no-guess"
    kb = InlineKeyboardBuilder()
    for entry in offer.guesses:
        kb.button(
            text=f"➕ {entry_label(entry, t.lang)}",
            callback_data=TeachEntry(ticket=offer.ticket_id, entry=entry.id),
        )
    if offer.can_create:
        kb.button(text=t("learn-btn-new"), callback_data=TeachNew(ticket=offer.ticket_id))
    kb.adjust(1)
    return t(key, question=question), kb.as_markup()


def learn_answer(t: Texts, result: LearnResult, kb: KnowledgeBase) -> str:
    """What a tap did (desk or triage), edited into the message that offered it."""
    question = clip(result.question, QUESTION_CHARS)
    entry = kb.get(result.entry_id) if result.entry_id else None
    named = {
        "id": result.entry_id or "-",
        "entry": entry_label(entry, t.lang) if entry else (result.entry_id or "-"),
        "question": question,
    }
    status = result.status
    if status is LearnStatus.LEARNED:
        return t("learn-created" if result.created else "learn-learned", **named)
    if status is LearnStatus.ALREADY:
        return t("learn-already-created" if result.created else "learn-already", **named)
    if status is LearnStatus.NO_LANGUAGE:
        language = LANGUAGE_NAMES.get(result.lang, result.lang)
        return t("learn-no-language", language=language, **named)
    if status is LearnStatus.HANDED:
        return t("learn-handed", question=question, id=result.ticket_id or 0)
    keys = {
        LearnStatus.IGNORED: "learn-ignored",
        LearnStatus.NO_ENTRY: "learn-no-entry",
        LearnStatus.NOT_CLOSED: "learn-not-closed",
        LearnStatus.TRIAGED: "learn-triaged",
        LearnStatus.NO_QUESTION: "learn-no-question",
        LearnStatus.NO_REPLY: "learn-no-reply",
        LearnStatus.NO_DESK: "learn-no-desk",
    }
    return t(keys.get(status, "learn-not-found"), question=question)


def triage_title(t: Texts, page: TriagePage) -> str:
    if not page.items:
        return t("unanswered-none")
    first = page.offset + 1
    last = page.offset + len(page.items)
    return "\n".join(
        [
            t("triage-title", total=page.total, first=first, last=last),
            t("unanswered-footer"),
        ]
    )


def triage_item(
    t: Texts, item: TriageItem, *, more: int | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """One question to triage; `more` puts the "more questions" button (that offset) on it."""
    lines = [
        t(
            "triage-item",
            times=item.times,
            question=clip(item.question, QUESTION_CHARS),
            customers=item.customers,
            language=LANGUAGE_NAMES.get(item.lang, item.lang),
        )
    ]
    if not item.guesses:
        lines.append(t("triage-no-guess"))
    kb = InlineKeyboardBuilder()
    for entry in item.guesses:
        kb.button(
            text=f"➕ {entry_label(entry, t.lang)}",
            callback_data=AttachQuestion(question=item.question_id, entry=entry.id),
        )
    kb.button(text=t("triage-btn-ignore"), callback_data=IgnoreQuestion(question=item.question_id))
    kb.button(text=t("triage-btn-hand"), callback_data=HandQuestion(question=item.question_id))
    sizes = [1] * len(item.guesses) + [2]
    if more is not None:
        kb.button(text=t("triage-btn-more"), callback_data=MoreQuestions(offset=more))
        sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()
