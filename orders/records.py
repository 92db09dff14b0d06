"""An order as the shop sends it: the CSV row or JSON object, checked field by field.

Pure: no database. `parse_row` (a CSV row of strings) and `parse_object` (a JSON object)
give an `OrderRecord` or every `FieldError` of the input, never just the first.

The CSV header is a public contract (`HEADER`): exactly these columns, in any order. JSON
objects use the same names; amounts and ids may be numbers or strings, and they may carry
`events`, the last logistics events: a list of {"at": ISO 8601, "text": str}.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from orders.money import exponent
from orders.ownership import normalize_phone

HEADER: tuple[str, ...] = (
    "order_id",
    "telegram_id",
    "phone",
    "status",
    "carrier",
    "tracking_number",
    "items",
    "amount",
    "currency",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "eta",
)
STATUSES: tuple[str, ...] = (
    "pending",
    "paid",
    "shipped",
    "in_transit",
    "delivered",
    "cancelled",
    "returned",
    "refunded",
)

MAX_ID = 64  # order_id, carrier, tracking_number: the columns' lengths
MAX_ITEMS = 2000
MAX_AMOUNT_MINOR = 10**15  # far above any order, far below BIGINT
MAX_EVENTS = 20  # the most recent ones are kept
MAX_EVENT_TEXT = 500

_CURRENCY = re.compile(r"[A-Za-z]{3}")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class Event:
    """A logistics event: when (UTC) and what the carrier said."""

    at: datetime
    text: str

    def as_json(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "text": self.text}


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order, checked. Times are aware UTC; `events` None: none were sent (the stored
    ones stay), a tuple (maybe empty): the order's last events, oldest first."""

    order_id: str
    status: str
    amount_minor: int
    currency: str
    telegram_id: int | None = None
    phone: str | None = None  # digits, country code first (orders.ownership.normalize_phone)
    carrier: str | None = None
    tracking_number: str | None = None
    items: str = ""
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    eta: datetime | None = None
    events: tuple[Event, ...] | None = None


def check_header(columns: Sequence[str | None]) -> str | None:
    """None when the columns are exactly HEADER's (in any order), else one message naming
    what is missing, unknown or repeated."""
    names = [(c or "").strip() for c in columns]
    problems: list[str] = []
    missing = [c for c in HEADER if c not in names]
    unknown = [c for c in dict.fromkeys(names) if c not in HEADER]
    repeated = [c for c in dict.fromkeys(names) if c in HEADER and names.count(c) > 1]
    if missing:
        problems.append("missing column" + "s" * (len(missing) > 1) + ": " + ", ".join(missing))
    if unknown:
        shown = ", ".join(repr(c) for c in unknown)
        problems.append("unknown column" + "s" * (len(unknown) > 1) + ": " + shown)
    if repeated:
        problems.append("repeated column" + "s" * (len(repeated) > 1) + ": " + ", ".join(repeated))
    if not problems:
        return None
    return "; ".join(problems) + f" (the header must be exactly: {','.join(HEADER)})"


class _Checker:
    """Collects the errors of one input while turning its fields into values."""

    def __init__(self, tz: tzinfo, country_code: str) -> None:
        self.tz = tz
        self.country_code = country_code
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def text(self, field: str, value: object, expected: str = "text") -> str | None:
        """A trimmed string, None when empty; whole numbers (not booleans) are taken as text."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(field, f"must be {expected}, not {_json_kind(value)}")
            return None
        text = str(value).strip()
        return text or None

    def short(self, field: str, value: object, *, required: bool = False) -> str | None:
        text = self.text(field, value)
        if text is None:
            if required and not any(e.field == field for e in self.errors):
                self.fail(field, "is required")
            return None
        if len(text) > MAX_ID:
            self.fail(field, f"is {len(text)} characters long; at most {MAX_ID}")
            return None
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            self.fail(field, "contains control characters")
            return None
        return text

    def telegram_id(self, value: object) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            number: int | None = value
        elif isinstance(value, float):
            number = None
        else:
            text = self.text("telegram_id", value)
            if text is None:
                return None
            number = int(text) if text.isdecimal() and text.isascii() else None
        if number is None or not 0 < number < 2**63:
            self.fail("telegram_id", f"{value!r} is not a Telegram user id (a positive number)")
            return None
        return number

    def phone(self, value: object) -> str | None:
        text = self.text("phone", value)
        if text is None:
            return None
        phone = normalize_phone(text, self.country_code)
        if phone is None:
            self.fail("phone", f"{text!r} is not a phone number")
        return phone

    def status(self, value: object) -> str | None:
        text = self.text("status", value)
        if text is None:
            if not any(e.field == "status" for e in self.errors):
                self.fail("status", "is required (one of " + ", ".join(STATUSES) + ")")
            return None
        status = text.lower()
        if status not in STATUSES:
            self.fail("status", f"{text!r} is not one of " + ", ".join(STATUSES))
            return None
        return status

    def currency(self, value: object) -> str | None:
        text = self.text("currency", value)
        if text is None:
            if not any(e.field == "currency" for e in self.errors):
                self.fail("currency", "is required (three letters, e.g. CNY)")
            return None
        if not (_CURRENCY.fullmatch(text) and text.isascii()):
            self.fail("currency", f"{text!r} is not a currency code (three letters, e.g. CNY)")
            return None
        return text.upper()

    def amount(self, value: object, currency: str | None) -> int | None:
        if isinstance(value, float):
            value = repr(value)  # 199.9, not 199.900000000000005684...
        text = self.text("amount", value, "a number or text")
        if text is None:
            if not any(e.field == "amount" for e in self.errors):
                self.fail("amount", "is required (e.g. 199.00)")
            return None
        if text.startswith("-"):
            self.fail("amount", f"{text!r} is negative")
            return None
        if not _DECIMAL.fullmatch(text):
            self.fail(
                "amount", f"{text!r} is not an amount (digits and a decimal point, e.g. 199.00)"
            )
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            self.fail("amount", f"{text!r} is not an amount")
            return None
        if currency is None:
            return None  # the currency's error says it; the minor unit is unknown
        places = exponent(currency)
        minor = amount.scaleb(places)
        if minor != minor.to_integral_value():
            unit = "no decimals" if places == 0 else f"{places} decimals"
            self.fail("amount", f"{text!r} has more decimals than {currency} has ({unit})")
            return None
        if minor > MAX_AMOUNT_MINOR:
            self.fail("amount", f"{text!r} is too large")
            return None
        return int(minor)

    def when(self, field: str, value: object) -> datetime | None:
        text = self.text(field, value)
        if text is None:
            return None
        try:
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:  # a bare date or a local time: the shop's time zone
                at = at.replace(tzinfo=self.tz)
            return at.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail(
                field, f"{text!r} is not an ISO 8601 date or time (e.g. 2026-11-20T10:00:00+08:00)"
            )
            return None

    def items(self, value: object) -> str:
        text = (self.text("items", value) or "").replace("\r\n", "\n")
        if len(text) > MAX_ITEMS:
            self.fail("items", f"is {len(text)} characters long; at most {MAX_ITEMS}")
            return ""
        return text

    def events(self, value: object) -> tuple[Event, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(
                "events", f'must be a list of {{"at", "text"}} objects, not {_json_kind(value)}'
            )
            return None
        found: list[Event] = []
        for i, item in enumerate(value):
            where = f"events[{i}]"
            if not isinstance(item, dict) or set(item) != {"at", "text"}:
                self.fail(where, 'must be an object with exactly "at" and "text"')
                continue
            at = self.when(f"{where}.at", item["at"])
            text = item["text"]
            if not isinstance(text, str) or not text.strip():
                self.fail(f"{where}.text", "must be non-empty text")
                continue
            if len(text) > MAX_EVENT_TEXT:
                self.fail(
                    f"{where}.text", f"is {len(text)} characters long; at most {MAX_EVENT_TEXT}"
                )
                continue
            if at is None:
                if not any(e.field == f"{where}.at" for e in self.errors):
                    self.fail(f"{where}.at", "is required")
                continue
            found.append(Event(at=at, text=text.strip()))
        found.sort(key=lambda e: e.at)
        return tuple(found[-MAX_EVENTS:])


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _build(
    fields: Mapping[str, object], tz: tzinfo, country_code: str, events: object = None
) -> OrderRecord | list[FieldError]:
    c = _Checker(tz, country_code)
    order_id = c.short("order_id", fields.get("order_id"), required=True)
    telegram_id = c.telegram_id(fields.get("telegram_id"))
    phone = c.phone(fields.get("phone"))
    status = c.status(fields.get("status"))
    carrier = c.short("carrier", fields.get("carrier"))
    tracking = c.short("tracking_number", fields.get("tracking_number"))
    items = c.items(fields.get("items"))
    currency = c.currency(fields.get("currency"))
    amount = c.amount(fields.get("amount"), currency)
    paid_at = c.when("paid_at", fields.get("paid_at"))
    shipped_at = c.when("shipped_at", fields.get("shipped_at"))
    delivered_at = c.when("delivered_at", fields.get("delivered_at"))
    eta = c.when("eta", fields.get("eta"))
    checked_events = c.events(events)
    if c.errors:
        return c.errors
    assert order_id is not None
    assert status is not None
    assert currency is not None
    assert amount is not None
    return OrderRecord(
        order_id=order_id,
        status=status,
        amount_minor=amount,
        currency=currency,
        telegram_id=telegram_id,
        phone=phone,
        carrier=carrier,
        tracking_number=tracking,
        items=items,
        paid_at=paid_at,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        eta=eta,
        events=checked_events,
    )


def parse_row(
    row: Mapping[str, str | None], tz: tzinfo, *, country_code: str = "86"
) -> OrderRecord | list[FieldError]:
    """A CSV row (column -> text, as csv.DictReader gives it; the header already checked)."""
    return _build(row, tz, country_code)


def parse_object(
    obj: object, tz: tzinfo, *, country_code: str = "86"
) -> OrderRecord | list[FieldError]:
    """A JSON object (as json.loads gives it): HEADER's fields plus an optional `events`.
    An unknown field is an error, as an unknown CSV column is."""
    if not isinstance(obj, dict):
        return [FieldError("order", f"must be an object, not {_json_kind(obj)}")]
    unknown = [
        FieldError(str(k), "unknown field") for k in obj if k not in HEADER and k != "events"
    ]
    built = _build(obj, tz, country_code, obj.get("events"))
    if isinstance(built, list):
        return unknown + built
    return unknown or built


def record_lines(errors: Iterable[FieldError]) -> str:
    """The errors of one input on one line: "status: ...; amount: ..."."""
    return "; ".join(str(e) for e in errors)


class HeaderError(ValueError):
    """The CSV's header is not the contract's (or there is none); nothing can be read."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int  # where the row starts in the file, 1 = the header
    errors: tuple[FieldError, ...]


@dataclass(frozen=True, slots=True)
class CsvOrders:
    records: list[OrderRecord]
    rejected: list[RejectedRow]


def read_csv(lines: Iterable[str], tz: tzinfo, *, country_code: str = "86") -> CsvOrders:
    """Every row of a CSV export (text lines, e.g. a file opened with newline=""): the good
    ones as records, the bad ones by line number. HeaderError for a missing or wrong header.
    Blank lines are skipped."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise HeaderError(f"the file is empty (the header must be: {','.join(HEADER)})") from None
    except csv.Error as exc:
        raise HeaderError(f"line 1: not a CSV header ({exc})") from None
    problem = check_header(header)
    if problem is not None:
        raise HeaderError(f"line 1: {problem}")
    names = [c.strip() for c in header]
    records: list[OrderRecord] = []
    rejected: list[RejectedRow] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a stray quote; the reader goes on at the next line
            rejected.append(RejectedRow(start, (FieldError("row", f"not valid CSV ({exc})"),)))
            end = reader.line_num
            continue
        end = reader.line_num
        if not fields or fields == [""]:
            continue
        if len(fields) != len(names):
            message = f"has {len(fields)} fields; the header has {len(names)}"
            rejected.append(RejectedRow(start, (FieldError("row", message),)))
            continue
        parsed = parse_row(dict(zip(names, fields, strict=True)), tz, country_code=country_code)
        if isinstance(parsed, OrderRecord):
            records.append(parsed)
        else:
            rejected.append(RejectedRow(start, tuple(parsed)))
    return CsvOrders(records, rejected)


def event_payload(events: tuple[Event, ...] | None) -> list[dict[str, str]] | None:
    return None if events is None else [e.as_json() for e in events]


def as_mapping(record: OrderRecord) -> dict[str, Any]:
    """The record as the `orders` table's column values (without created/updated times)."""
    return {
        "order_id": record.order_id,
        "telegram_id": record.telegram_id,
        "phone": record.phone,
        "status": record.status,
        "carrier": record.carrier,
        "tracking_number": record.tracking_number,
        "items": record.items,
        "amount_minor": record.amount_minor,
        "currency": record.currency,
        "paid_at": record.paid_at,
        "shipped_at": record.shipped_at,
        "delivered_at": record.delivered_at,
        "eta": record.eta,
        "events": event_payload(record.events),
    }
