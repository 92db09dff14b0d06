"""Canned replies: variables, rendering, checks, order numbers and keys."""

from __future__ import annotations

import re

import pytest

from support.canned import (
    VARIABLES,
    MissingVariable,
    UnknownVariable,
    check_key,
    check_template,
    find_order_numbers,
    render,
    variables_in,
)

ALL = {
    "name": "小明",
    "order": "1234567890123",
    "agent": "Alice",
    "ticket": "T-42",
    "shop": "Cotton & Co",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{name}您好，我是{agent}。订单{order}（工单 {ticket}）已发货，{shop}感谢您！",
            "小明您好，我是Alice。订单1234567890123（工单 T-42）已发货，Cotton & Co感谢您！",
        ),
        ("Hi {name}, {name}!", "Hi 小明, 小明!"),
        ("no variables at all", "no variables at all"),
        ("{{name}} is written as {{{name}}}", "{name} is written as {小明}"),
        (
            "{ } {1} {} price {50% off} {名字} { name } }{",
            "{ } {1} {} price {50% off} {名字} { name } }{",
        ),
        ("a }} b {{ c", "a } b { c"),
        ("{order}号订单", "1234567890123号订单"),
    ],
)
def test_render(template: str, expected: str) -> None:
    check_template(template)
    assert render(template, ALL) == expected


def test_values_are_not_read_again() -> None:
    assert render("{name}", {"name": "{agent} {{x}}"}) == "{agent} {{x}}"


def test_missing_variables_are_all_named_in_order() -> None:
    with pytest.raises(MissingVariable) as caught:
        render(
            "{name}, order {order} by {agent} for {shop}",
            {"name": "", "order": None, "agent": "Alice", "shop": "   ", "extra": "x"},
        )
    assert caught.value.names == ("name", "order", "shop")
    assert str(caught.value) == "no value for {name}, {order}, {shop}"
    with pytest.raises(MissingVariable) as caught:
        render("{ticket}", {})
    assert caught.value.names == ("ticket",)


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("Hi {Name} from {shop} {foo} {Name}", ("Name", "foo")),
        ("{order_id}", ("order_id",)),
    ],
)
def test_unknown_variables(template: str, names: tuple[str, ...]) -> None:
    with pytest.raises(UnknownVariable) as caught:
        check_template(template)
    assert caught.value.names == names
    with pytest.raises(UnknownVariable) as caught:
        render(template, {"Name": "x", "foo": "y", "order_id": "z", "shop": "s"})
    assert caught.value.names == names


def test_unknown_variable_message_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"\{foo\}") as caught:
        check_template("{foo}")
    assert str(caught.value) == (
        "unknown variable {foo} (use {name}, {order}, {agent}, {ticket}, {shop}; "
        "write {{ for a brace)"
    )


def test_unknown_wins_over_missing() -> None:
    with pytest.raises(UnknownVariable):
        render("{name} {foo}", {})


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("", "the template is empty"),
        (" \n\t", "the template is empty"),
        ("x" * 4097, "the template has 4097 characters; at most 4096 fit in a message"),
    ],
)
def test_check_template_refuses_empty_and_long(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_template(template)


def test_check_template_accepts_the_limit() -> None:
    check_template("{name}" + "x" * (4096 - len("{name}")))


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("{shop} {name} {shop} {foo}", ("shop", "name", "foo")),
        ("{{name}} { order } {1}", ()),
        ("{{{ticket}}}", ("ticket",)),
        ("", ()),
    ],
)
def test_variables_in(template: str, names: tuple[str, ...]) -> None:
    assert variables_in(template) == names


def test_variables_constant() -> None:
    assert VARIABLES == ("name", "order", "agent", "ticket", "shop")


@pytest.mark.parametrize(
    ("texts", "numbers"),
    [
        (["订单号1234567890123还没到"], ("1234567890123",)),
        (["订单号：１２３４５６７８９０１２３，请查一下"], ("1234567890123",)),
        (["order 123456789 and 12345678901234567890123"], ()),  # 9 and 23 digits
        (["#1234567890 / 12345678901234567890"], ("1234567890", "12345678901234567890")),
        (
            ["第一单9876543210，第二单1234567890", "还有9876543210", "和１２３４５６７８９０"],
            ("9876543210", "1234567890"),
        ),
        (["phone 138-0013-8000, price 199.00"], ()),
        ([], ()),
    ],
)
def test_find_order_numbers(texts: list[str], numbers: tuple[str, ...]) -> None:
    assert find_order_numbers(texts) == numbers


def test_find_order_numbers_with_own_pattern() -> None:
    texts = ["订单 SO-20261120-0001 和 so-20261121-0002", "SO-20261120-0001"]
    assert find_order_numbers(texts, r"(?i)SO-\d{8}-\d{4}") == (
        "SO-20261120-0001",
        "so-20261121-0002",
    )
    assert find_order_numbers(texts, r"(?i)SO-(\d{8}-\d{4})") == ("20261120-0001", "20261121-0002")
    with pytest.raises(ValueError, match="bad order number pattern"):
        find_order_numbers(texts, r"(\d+")


@pytest.mark.parametrize(
    ("key", "clean"),
    [
        ("shipping", "shipping"),
        ("  Refund_Policy-2 ", "refund_policy-2"),
        ("a", "a"),
        ("x" * 32, "x" * 32),
    ],
)
def test_good_keys(key: str, clean: str) -> None:
    assert check_key(key) == clean


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "the key is empty (use 1-32 characters: a-z, 0-9, _ or -)"),
        ("   ", "the key is empty (use 1-32 characters: a-z, 0-9, _ or -)"),
        ("refund policy", "bad key 'refund policy' (use 1-32 characters: a-z, 0-9, _ or -)"),
        ("退款", "bad key '退款' (use 1-32 characters: a-z, 0-9, _ or -)"),
        ("x" * 33, f"bad key '{'x' * 33}' (use 1-32 characters: a-z, 0-9, _ or -)"),
        ("ship.me", "bad key 'ship.me' (use 1-32 characters: a-z, 0-9, _ or -)"),
    ],
)
def test_bad_keys(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_key(key)
