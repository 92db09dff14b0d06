"""The order contract: CSV rows and JSON objects checked field by field, every error named."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from orders.records import (
    HEADER,
    Event,
    FieldError,
    HeaderError,
    OrderRecord,
    check_header,
    parse_object,
    parse_row,
    read_csv,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def row(**fields: str) -> dict[str, str]:
    base = dict.fromkeys(HEADER, "")
    base.update(order_id="SO-1001", status="paid", amount="199.00", currency="CNY")
    base.update(fields)
    return base


def ok(parsed: OrderRecord | list[FieldError]) -> OrderRecord:
    assert isinstance(parsed, OrderRecord), parsed
    return parsed


def errors(parsed: OrderRecord | list[FieldError]) -> dict[str, str]:
    assert isinstance(parsed, list), parsed
    return {e.field: e.message for e in parsed}


def test_the_header_is_the_public_contract() -> None:
    assert ",".join(HEADER) == (
        "order_id,telegram_id,phone,status,carrier,tracking_number,items,amount,currency,"
        "paid_at,shipped_at,delivered_at,eta"
    )


def test_a_full_row() -> None:
    record = ok(
        parse_row(
            row(
                order_id="  SO-1001 ",
                telegram_id="123456789",
                phone="+86 138-0013-8000",
                status="Shipped",
                carrier="SF Express",
                tracking_number="SF1234567890",
                items="T-shirt x2; Mug x1",
                amount="1,299.50".replace(",", ""),
                currency="cny",
                paid_at="2026-11-20T10:00:00+08:00",
                shipped_at="2026-11-21T09:30:00Z",
                delivered_at="",
                eta="2026-11-24",
            ),
            SHANGHAI,
        )
    )
    assert record == OrderRecord(
        order_id="SO-1001",
        status="shipped",
        amount_minor=129950,
        currency="CNY",
        telegram_id=123456789,
        phone="8613800138000",
        carrier="SF Express",
        tracking_number="SF1234567890",
        items="T-shirt x2; Mug x1",
        paid_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        shipped_at=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
        delivered_at=None,
        eta=datetime(2026, 11, 23, 16, 0, tzinfo=UTC),  # midnight in Shanghai
        events=None,
    )


def test_a_minimal_row_leaves_the_optional_fields_empty() -> None:
    record = ok(parse_row(row(), SHANGHAI))
    assert (record.telegram_id, record.phone, record.carrier, record.paid_at) == (
        None,
        None,
        None,
        None,
    )
    assert record.items == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("order_id", "", "is required"),
        ("order_id", "X" * 65, "is 65 characters long; at most 64"),
        ("order_id", "SO\x001", "contains control characters"),
        ("order_id", "SO\n1", "contains control characters"),
        ("telegram_id", "@alice", "'@alice' is not a Telegram user id (a positive number)"),
        ("telegram_id", "-5", "'-5' is not a Telegram user id (a positive number)"),
        ("phone", "call me", "'call me' is not a phone number"),
        (
            "status",
            "sent",
            "'sent' is not one of pending, paid, shipped, in_transit, delivered, cancelled, "
            "returned, refunded",
        ),
        (
            "status",
            "",
            "is required (one of pending, paid, shipped, in_transit, delivered, "
            "cancelled, returned, refunded)",
        ),  # fmt: skip
        ("carrier", "C" * 65, "is 65 characters long; at most 64"),
        ("tracking_number", "T" * 65, "is 65 characters long; at most 64"),
        ("items", "i" * 2001, "is 2001 characters long; at most 2000"),
        ("amount", "", "is required (e.g. 199.00)"),
        ("amount", "-1.00", "'-1.00' is negative"),
        (
            "amount",
            "1,299.00",
            "'1,299.00' is not an amount (digits and a decimal point, e.g. 199.00)",
        ),  # fmt: skip
        ("amount", "199.999", "'199.999' has more decimals than CNY has (2 decimals)"),
        ("amount", "1e3", "'1e3' is not an amount (digits and a decimal point, e.g. 199.00)"),
        ("currency", "RMB!", "'RMB!' is not a currency code (three letters, e.g. CNY)"),
        ("currency", "", "is required (three letters, e.g. CNY)"),
        (
            "paid_at",
            "yesterday",
            "'yesterday' is not an ISO 8601 date or time (e.g. 2026-11-20T10:00:00+08:00)",
        ),  # fmt: skip
        (
            "eta",
            "2026-13-01",
            "'2026-13-01' is not an ISO 8601 date or time (e.g. 2026-11-20T10:00:00+08:00)",
        ),  # fmt: skip
    ],
)
def test_each_bad_field_is_named(field: str, value: str, message: str) -> None:
    assert errors(parse_row(row(**{field: value}), SHANGHAI)) == {field: message}


def test_every_bad_field_of_a_row_is_reported_at_once() -> None:
    found = errors(parse_row(row(status="sent", amount="abc", phone="x", eta="soon"), SHANGHAI))
    assert set(found) == {"status", "amount", "phone", "eta"}
    assert str(FieldError("status", "is required")) == "status: is required"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("199", "CNY", 19900),
        ("199.5", "CNY", 19950),
        ("199.99", "usd", 19999),
        ("0", "EUR", 0),
        ("0.01", "CNY", 1),
        ("1500", "JPY", 1500),
        ("1500.00", "JPY", 1500),  # written with cents but a whole number of yen: exact
        ("12000", "KRW", 12000),
        ("1.234", "KWD", 1234),
    ],
)
def test_amounts_are_minor_units_of_their_currency(amount: str, currency: str, minor: int) -> None:
    record = ok(parse_row(row(amount=amount, currency=currency), SHANGHAI))
    assert record.amount_minor == minor
    assert record.currency == currency.upper()


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1500.5", "JPY", "'1500.5' has more decimals than JPY has (no decimals)"),
        ("100.01", "KRW", "'100.01' has more decimals than KRW has (no decimals)"),
        ("1.0001", "KWD", "'1.0001' has more decimals than KWD has (3 decimals)"),
        ("10000000000000000", "CNY", "'10000000000000000' is too large"),
    ],
)
def test_amounts_finer_than_the_currency_are_refused(
    amount: str, currency: str, message: str
) -> None:
    assert errors(parse_row(row(amount=amount, currency=currency), SHANGHAI)) == {
        "amount": message
    }


def test_times_with_an_offset_are_kept_and_naive_ones_are_shop_time() -> None:
    record = ok(
        parse_row(
            row(
                paid_at="2026-11-20 10:00",  # shop time (Shanghai, +08:00)
                shipped_at="2026-11-20T10:00:00-05:00",
                delivered_at="2026-11-22",  # a bare date: midnight, shop time
            ),
            SHANGHAI,
        )
    )
    assert record.paid_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert record.shipped_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert record.delivered_at == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    in_ny = ok(parse_row(row(paid_at="2026-07-01 12:00"), ZoneInfo("America/New_York")))
    assert in_ny.paid_at == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)  # summer time, -04:00
    assert in_ny.paid_at is not None and in_ny.paid_at.tzinfo is UTC


def test_header_exact_in_any_order() -> None:
    assert check_header(list(HEADER)) is None
    assert check_header(list(reversed(HEADER))) is None
    assert check_header([" order_id", *HEADER[1:]]) is None  # spaces around names are fine


def test_header_errors_name_the_column() -> None:
    missing = check_header([c for c in HEADER if c != "currency"])
    assert missing is not None and missing.startswith("missing column: currency (")
    unknown = check_header([*HEADER, "coupon"])
    assert unknown is not None and unknown.startswith("unknown column: 'coupon' (")
    both = check_header(["order_no", *HEADER[1:]])
    assert both is not None
    assert both.startswith("missing column: order_id; unknown column: 'order_no'")
    repeated = check_header([*HEADER, "status"])
    assert repeated is not None and repeated.startswith("repeated column: status")
    assert ",".join(HEADER) in both


def test_a_json_object_takes_numbers_and_events() -> None:
    record = ok(
        parse_object(
            {
                "order_id": 1001,
                "telegram_id": "42",
                "status": "in_transit",
                "amount": 99.9,
                "currency": "CNY",
                "tracking_number": 7788,
                "events": [
                    {"at": "2026-11-21T08:00:00+08:00", "text": " arrived in Shanghai "},
                    {"at": "2026-11-20T20:00:00+08:00", "text": "picked up"},
                ],
            },
            SHANGHAI,
        )
    )
    assert (record.order_id, record.telegram_id, record.amount_minor) == ("1001", 42, 9990)
    assert record.tracking_number == "7788" and record.items == ""
    assert record.events == (  # oldest first
        Event(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), "picked up"),
        Event(datetime(2026, 11, 21, 0, 0, tzinfo=UTC), "arrived in Shanghai"),
    )


def test_a_json_object_without_events_keeps_none() -> None:
    record = ok(parse_object({"order_id": "A", "status": "paid", "amount": "1", "currency": "CNY"},
                             SHANGHAI))  # fmt: skip
    assert record.events is None
    empty = ok(parse_object({"order_id": "A", "status": "paid", "amount": 1, "currency": "CNY",
                             "events": []}, SHANGHAI))  # fmt: skip
    assert empty.events == ()


def test_bad_json_fields_are_named() -> None:
    found = errors(
        parse_object(
            {
                "order_id": None,
                "status": True,
                "amount": [1],
                "currency": "CNY",
                "telegram_id": 1.5,
                "colour": "red",
                "events": [{"at": "nope", "text": "x"}, {"text": "no time"}, {"at": "2026-11-20"}],
            },
            SHANGHAI,
        )
    )
    assert found == {
        "colour": "unknown field",
        "order_id": "is required",
        "status": "must be text, not a boolean",
        "amount": "must be a number or text, not a list",
        "telegram_id": "1.5 is not a Telegram user id (a positive number)",
        "events[0].at": "'nope' is not an ISO 8601 date or time (e.g. 2026-11-20T10:00:00+08:00)",
        "events[1]": 'must be an object with exactly "at" and "text"',
        "events[2]": 'must be an object with exactly "at" and "text"',
    }


@pytest.mark.parametrize("value", [[], "order", 3, None])
def test_a_json_order_must_be_an_object(value: object) -> None:
    kind = {list: "a list", str: "text", int: "a number", type(None): "null"}[type(value)]
    assert errors(parse_object(value, SHANGHAI)) == {"order": f"must be an object, not {kind}"}


def test_json_amount_rejects_nan_and_floats_finer_than_the_currency() -> None:
    base = {"order_id": "A", "status": "paid", "currency": "CNY"}
    assert "amount" in errors(parse_object({**base, "amount": float("nan")}, SHANGHAI))
    assert errors(parse_object({**base, "amount": 0.001}, SHANGHAI)) == {
        "amount": "'0.001' has more decimals than CNY has (2 decimals)"
    }


def test_read_csv_numbers_rows_by_their_first_line() -> None:
    lines = [
        ",".join(HEADER) + "\n",
        "A1,,,paid,,,,1,CNY,,,,\n",
        '"A2",,,paid,,,"a\n',
        'b",x,CNY,,,,\n',
        "\n",
        'A3,,,paid,,,"bad"quote,1,CNY,,,,\n',
        "A4,,,paid,,,,1,CNY,,,,\n",
    ]
    found = read_csv(lines, SHANGHAI)
    assert [r.order_id for r in found.records] == ["A1", "A4"]
    assert [(r.line, [e.field for e in r.errors]) for r in found.rejected] == [
        (3, ["amount"]),
        (6, ["row"]),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the file is empty"),
        (["order_id,status\n"], "line 1: missing columns: telegram_id, phone, carrier,"),
    ],
)
def test_read_csv_refuses_a_bad_header(lines: list[str], message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        read_csv(lines, SHANGHAI)
