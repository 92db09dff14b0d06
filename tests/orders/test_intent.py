"""Which messages ask about the customer's own order, and the numbers in them."""

from __future__ import annotations

import pytest

from orders.intent import detect, order_numbers

ABOUT_THEIR_ORDER = [
    # (message, order numbers it names)
    ("where is my order", ()),
    ("Where is my order?", ()),
    ("hi, where's my parcel", ()),
    ("track my order", ()),
    ("how do I track my package", ()),
    ("has my order shipped", ()),
    ("has my order shipped yet?", ()),
    ("when will my parcel arrive", ()),
    ("I haven't received my package", ()),
    ("my order hasn't arrived yet", ()),
    ("what's my tracking number", ()),
    ("can you check my order status", ()),
    ("order 880123 status", ("880123",)),
    ("Order #SO880123 status?", ("SO880123",)),
    ("SO-880123 where is it", ("SO-880123",)),
    ("#880123", ("880123",)),
    ("880123", ("880123",)),
    # typos
    ("were is my pakage", ()),
    ("trak my ordr", ()),
    ("wher is my oder", ()),
    ("has my order shiped", ()),
    # Chinese
    ("我的订单到哪了", ()),
    ("我的訂單到哪了", ()),
    ("快递到哪了", ()),
    ("物流信息", ()),
    ("查一下订单880123", ("880123",)),
    ("订单８８０１２３到哪了", ("880123",)),
    ("我的包裹", ()),
    ("还没收到货", ()),
    ("发货了吗", ()),
    ("我的快递怎么还没到", ()),
    ("订单号1234567890123 还没到", ("1234567890123",)),
    ("帮我查查物流", ()),
    ("我的订单", ()),
    ("我的包裹呢？", ()),
    ("我的货到哪了", ()),
    ("东西到了吗", ()),
    ("什么时候能收到", ()),
]

NOT_ABOUT_THEIR_ORDER = [
    # generic shipping questions stay FAQ answers
    "how long does shipping take",
    "how much is shipping",
    "shipping cost to US",
    "do you ship to Canada?",
    "what courier do you use",
    "where can i see the logistics info",
    "运费多少",
    "发什么快递",
    "多久发货",
    "什么时候发货",
    "包邮吗",
    "快递能放邻居家吗",
    "我的快递能放邻居家吗",
    "我的订单可以合并发货吗",
    "这个宝贝什么时候到货",
    "新品什么时候到",
    "这个东西在哪里买",
    # returns, refunds, cancellations: their own answers
    "I want to return order 880123",
    "where is my refund",
    "cancel my order 880123",
    "我要退货",
    "订单880123取消",
    # complaints and asking for a person: a ticket
    "where is my order, I want a human",
    "my order is late, this is terrible service",
    # other things
    "how do I return this",
    "170cm 65kg what size?",
    "hello",
    "#A1234",
    "2026",
    "",
    "where is my order " * 30,
]


@pytest.mark.parametrize(("text", "numbers"), ABOUT_THEIR_ORDER)
def test_order_questions_are_recognised(text: str, numbers: tuple[str, ...]) -> None:
    found = detect(text)
    assert found is not None, text
    assert found.numbers == numbers


@pytest.mark.parametrize("text", NOT_ABOUT_THEIR_ORDER)
def test_other_messages_are_left_to_the_faq(text: str) -> None:
    assert detect(text) is None


def test_the_language_is_that_of_the_words() -> None:
    assert (found := detect("我的订单到哪了")) is not None and found.lang == "zh"
    assert (found := detect("where is my order")) is not None and found.lang == "en"
    assert (found := detect("#880123")) is not None and found.lang is None


def test_order_numbers_are_kept_as_written_without_repeats() -> None:
    assert order_numbers("SO880123, so880124 and SO880123 again") == ("SO880123", "so880124")
    assert order_numbers("size 42, 170cm") == ()


def test_after_the_word_order_a_short_number_counts() -> None:
    assert order_numbers("order P100 status") == ("P100",)
    assert order_numbers("订单号：A123 到哪了") == ("A123",)
    assert order_numbers("order 12") == ()
