from __future__ import annotations

import pytest

from faq import normalize
from faq.normalize import detect_lang


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＨＥＬＬＯ　Ｗｏｒｌｄ！", "hello world"),  # full-width
        ("Where IS my Order??", "where is my order"),
        ("運費多少？", "运费多少"),  # traditional -> simplified
        ("我的訂單到哪了", "我的订单到哪了"),
        ("我的order到哪了", "我的 order 到哪了"),  # mixed scripts split
        ("pls help, i wanna refnd", "please help i want to refund"),
        ("u recieve my adress?", "you receive my address"),
        ("I don't know", "i do not know"),
        ("shiping to u.s.", "shipping to us"),
        ("size 7.5 please", "size 7.5 please"),
        ("😀😀!!", ""),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("where is my order", "en"),
        ("我的order到哪了", "zh"),
        ("多久发货", "zh"),
        ("what does 尺码 mean in english", "en"),
        ("", "en"),
    ],
)
def test_detect_lang(text: str, lang: str) -> None:
    assert detect_lang(text) == lang
