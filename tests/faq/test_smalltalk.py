"""Small talk rules (faq.smalltalk) and the words-only language rule (faq.language)."""

from __future__ import annotations

import pytest

from faq.language import words_language
from faq.smalltalk import Talk, is_complaint, small_talk

GREETINGS = [
    "hi",
    "Hi!",
    "HELLO",
    "hello!!!",
    "hiii 👋",
    "helloooo",
    "hey there",
    "Hey, anyone there?",
    "good morning",
    "Goood Morning :)",
    "good evening everyone",
    "how are you?",
    "nihao",
    "你好",
    "您好",
    "你们好",
    "你們好",  # 繁體
    "您好，在吗？",
    "在嗎",
    "在吗亲",
    "哈喽",
    "嗨",
    "早上好",
    "早安呀",
    "你好呀",
    "老板在吗",
    "有人吗？",
    "ｈｉ",  # full-width
    "hello 你好",
]

THANKS = [
    "thanks",
    "Thanks!",
    "thx",
    "ty",
    "tysm",
    "thank you",
    "Thank you so much!!",
    "thank u",
    "thankss",
    "thanks a lot 🙏",
    "many thanks",
    "ok thanks",
    "got it, thanks",
    "hi, thanks",
    "no complaints, thanks!",
    "谢谢",
    "謝謝",  # 繁體
    "多谢",
    "感谢",
    "非常感谢！",
    "好的谢谢",
    "好的，谢谢亲",
    "谢谢你们的耐心解答",
    "辛苦了",
    "3q",
    "xiexie",
]

GOODBYES = [
    "ok",
    "OK👌",
    "okay",
    "got it",
    "bye",
    "Bye bye!",
    "see you",
    "have a nice day",
    "好的",
    "好滴",
    "收到",
    "明白了",
    "嗯嗯",
    "再见",
    "拜拜",
]

NOT_SMALL_TALK = [
    "hi, where is my order",
    "hello can I return this",
    "hey how long does shipping take",
    "good morning, I ordered a dress last week",
    "你好，我的快递到哪了",
    "您好 请问怎么退货",
    "在吗 发货了吗",
    "谢谢，还有一个问题：能退吗",
    "hi 123",
    "hi agent",  # asking for a person: the matcher and the human rule decide
    "客服你好",
    "yes",
    "you",
    "please",
    "可以吗",
    "S",
    "12-05 20:00",
    "https://shop.example.com/item/1",
    "",
    "👍",
    "hi " * 30,
]

COMPLAINTS = [
    "投诉",
    "我要投诉",
    "我要投訴",  # 繁體
    "差评",
    "给差评",
    "我要给你们差评！",
    "要举报",
    "衣服质量太差了我要投诉",
    "你们服务态度太差了",
    "再不处理我就打12315",
    "不处理就给差评",
    "I want to complain",
    "i want to file a complaint",
    "I WANT TO MAKE A COMPLAINT!!!",
    "I'd like to file a compliant about my order",  # a common typo
    "this is unacceptable",
    "Terrible service.",
    "worst customer service ever",
    "you scammed me",
    "I'll leave a bad review",
    "hi, the dress is torn and I want to complain",
]

NOT_COMPLAINTS = [
    "不是投诉，就问一下",
    "我没有投诉",
    "不会给差评的，放心",
    "no complaints",
    "I'm not complaining, just asking where my order is",
    "I don't want to complain",
    "is this product GDPR compliant",
    "good service, thanks",
    "好评",
    "how do I return this",
]


@pytest.mark.parametrize("text", GREETINGS)
def test_greetings(text: str) -> None:
    assert small_talk(text) is Talk.GREETING


@pytest.mark.parametrize("text", THANKS)
def test_thanks(text: str) -> None:
    assert small_talk(text) is Talk.THANKS


@pytest.mark.parametrize("text", GOODBYES)
def test_goodbyes_and_acknowledgements(text: str) -> None:
    assert small_talk(text) is Talk.GOODBYE


@pytest.mark.parametrize("text", NOT_SMALL_TALK)
def test_a_question_or_anything_else_is_not_small_talk(text: str) -> None:
    assert small_talk(text) is None


@pytest.mark.parametrize("text", COMPLAINTS)
def test_complaints_count_anywhere_in_the_message(text: str) -> None:
    assert is_complaint(text)
    assert small_talk(text) is Talk.COMPLAINT


@pytest.mark.parametrize("text", NOT_COMPLAINTS)
def test_negated_or_unrelated_is_not_a_complaint(text: str) -> None:
    assert not is_complaint(text)
    assert small_talk(text) is not Talk.COMPLAINT


def test_a_long_message_is_never_only_small_talk_but_a_complaint_in_it_counts() -> None:
    long = "hello " + "thanks " * 20
    assert small_talk(long) is None
    assert small_talk("hello, " + "the zipper broke after one day, " * 5 + "我要投诉") is (
        Talk.COMPLAINT
    )


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("https://shop.example.com/item/123?ref=abc", None),
        ("www.taobao.com", None),
        ("shop.com/p/1", None),
        ("12-05 20:00", None),
        ("#A1234", None),
        ("123456789", None),
        ("XL", None),
        ("m", None),
        ("3pm", None),
        ("👍👍", None),
        ("see https://x.com/a", "en"),
        ("where is my order #A1234", "en"),
        ("订单#A1234", "zh"),
        ("https://item.taobao.com/x 这个有货吗", "zh"),
        ("ok", "en"),
    ],
)
def test_language_is_read_from_words_only(text: str, lang: str | None) -> None:
    assert words_language(text) == lang
