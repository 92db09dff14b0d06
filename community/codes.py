"""Coupon codes: generated here, or read from the shop's files. Pure: no database.

* :func:`generate_codes` makes unguessable codes with :mod:`secrets` from an alphabet a person
  can read aloud and type back (no ``0``/``O``, no ``1``/``I``): 32 symbols, 5 bits each, so
  the default 10 symbols carry 50 random bits.
* :func:`parse_code_file` reads what a manager uploads or pastes: a CSV export from the shop
  (the first column, or the column headed ``code``/``coupon``/``券码``…) or one code per line;
  UTF-8 with or without a BOM, UTF-16 (Excel's "Unicode text"), GBK/GB18030 otherwise.
  Blanks are skipped and duplicates kept once (and reported on the result).
* :class:`CodeFileError` carries a message for the manager.
"""

from __future__ import annotations

import csv
import io
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 symbols: digits 2-9 and the letters without I and O."""
MAX_CODE_LENGTH = 64
"""The width of ``coupon_codes.code``."""
MIN_GENERATED_LENGTH = 6
MAX_GENERATED = 1_000_000
GUESS_ODDS = 1_000_000
"""A random guess must hit one of the generated codes at most once in this many tries."""

HEADER_NAMES = frozenset(
    {
        "code",
        "codes",
        "coupon",
        "coupons",
        "couponcode",
        "couponcodes",
        "voucher",
        "vouchercode",
        "券码",
        "优惠码",
        "优惠券",
        "优惠券码",
        "兑换码",
        "券号",
        "卡密",
    }
)
"""Header cells (lower case, without spaces, ``_`` and ``-``) that name the code column."""

_DELIMITERS = (",", "\t", ";", "，")
# Random bytes to symbols: 256 is a multiple of 32, so `byte & 31` is uniform.
_SYMBOLS = bytes(ord(ALPHABET[b & 31]) for b in range(256))


class CodeFileError(ValueError):
    """A code file that cannot be used; the message is for a person."""


class CodeList(list[str]):
    """The codes of a file, in file order, each once; `duplicates` lists the codes that
    appeared more than once (each named once, in order of first repeat)."""

    def __init__(self, codes: list[str], duplicates: list[str]) -> None:
        super().__init__(codes)
        self.duplicates = duplicates


def generate_codes(n: int, *, prefix: str = "", length: int = 10) -> list[str]:
    """`n` distinct random codes: `prefix` followed by `length` symbols of :data:`ALPHABET`."""
    if n < 0 or n > MAX_GENERATED:
        raise CodeFileError(f"can generate 0 to {MAX_GENERATED:,} codes, not {n:,}")
    if length < MIN_GENERATED_LENGTH:
        raise CodeFileError(
            f"generated codes need at least {MIN_GENERATED_LENGTH} random characters"
        )
    if len(prefix) + length > MAX_CODE_LENGTH:
        raise CodeFileError(f"prefix and code together must fit in {MAX_CODE_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in prefix):
        raise CodeFileError("the prefix cannot contain spaces or control characters")
    if n * GUESS_ODDS > len(ALPHABET) ** length:
        raise CodeFileError(
            f"{n:,} codes of {length} characters would be guessable: make them longer"
        )
    seen: set[str] = set()
    codes: list[str] = []
    while len(codes) < n:
        want = n - len(codes)
        symbols = secrets.token_bytes(want * length).translate(_SYMBOLS).decode("ascii")
        for i in range(0, want * length, length):
            code = prefix + symbols[i : i + length]
            if code not in seen:
                seen.add(code)
                codes.append(code)
    return codes


def parse_code_file(data: bytes | str) -> CodeList:
    """The codes in a CSV export or a one-code-per-line text; raises CodeFileError."""
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if "\x00" in text:
        raise CodeFileError("this looks like a binary file, not text: send a CSV or .txt file")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CodeFileError("the file is empty: no codes found")
    delimiter = _delimiter(lines)
    if delimiter is None:
        rows = [(n, [line]) for n, line in enumerate(text.splitlines(), start=1)]
    else:
        rows = _csv_rows(text, delimiter)
    rows = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    column, start = _code_column(rows[0][1]) if rows else (0, 0)
    codes: list[str] = []
    seen: set[str] = set()
    duplicates: dict[str, None] = {}
    for n, cells in rows[start:]:
        code = _clean(cells[column]) if column < len(cells) else ""
        if not code:
            continue
        _check(code, n)
        if code in seen:
            duplicates[code] = None
        else:
            seen.add(code)
            codes.append(code)
    if not codes:
        raise CodeFileError("no codes found in the file")
    return CodeList(codes, list(duplicates))


def _decode(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise CodeFileError(
            "this is an Excel or zip file: open it and save it as CSV (UTF-8), then send that"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CodeFileError("the file is not readable UTF-16 text") from None
    if b"\x00" in data:
        raise CodeFileError("this looks like a binary file, not text: send a CSV or .txt file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CodeFileError("cannot read the file's text encoding: save it as UTF-8 and send it again")


def _delimiter(lines: list[str]) -> str | None:
    """The CSV delimiter used on most lines, or None for one code per line."""
    best, best_count = None, 0
    for delimiter in _DELIMITERS:
        count = sum(delimiter in line for line in lines[:200])
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _csv_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    if delimiter == "，":  # a full-width comma: csv wants one character, and it is one
        text = text.replace("，", ",")
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise CodeFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None


def _code_column(first: list[str]) -> tuple[int, int]:
    """(index of the code column, index of the first data row): a header names the column."""
    for i, cell in enumerate(first):
        name = cell.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
        if name in HEADER_NAMES:
            return i, 1
    return 0, 0


def _clean(cell: str) -> str:
    code = cell.strip()
    if code.startswith('="') and code.endswith('"'):  # Excel's way to keep leading zeros
        code = code[2:-1]
    return code.strip("\"'").strip()


def _check(code: str, line: int) -> None:
    if len(code) > MAX_CODE_LENGTH:
        raise CodeFileError(
            f"line {line}: a code is longer than {MAX_CODE_LENGTH} characters "
            f"({code[:20]}…): is this the right column?"
        )
    if any(c.isspace() for c in code):
        raise CodeFileError(
            f"line {line}: {code[:40]!r} has a space in it: put one code per line, "
            "or send a CSV with the codes in the first column"
        )
    if not code.isprintable():
        raise CodeFileError(f"line {line}: {code[:40]!r} contains control characters")
