from __future__ import annotations

import pytest

from faq import wants_human


@pytest.mark.parametrize(
    "text",
    [
        "转人工",
        "轉人工",
        "人工客服",
        "我要找客服",
        "客服在吗",
        "客服",
        "找真人",
        "I want to talk to a real person",
        "HUMAN please",
        "ｈｕｍａｎ",
        "agent",
        "connect me to an agent",
        "let me speak to customer service",
        "can I talk to someone",
        "get me a humna",
        "representitive pls",
    ],
)
def test_wants_human(text: str) -> None:
    assert wants_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "customer service hours?",
        "when is customer service open",
        "客服几点上班",
        "客服工作时间",
        "不用转人工",
        "is this wig made of human hair",
        "where is my order",
        "多久发货",
        "",
        "😀",
    ],
)
def test_not_wants_human(text: str) -> None:
    assert not wants_human(text)


def test_times_as_count_is_still_a_request() -> None:
    assert wants_human("I HAVE ASKED THREE TIMES ALREADY, PUT ME THROUGH TO A HUMAN")
    assert not wants_human("what times are your human agents online")
