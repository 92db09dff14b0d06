"""Coupon codes: generated ones are unique and unguessable; the shop's files are read as a
person would expect (CSV or one per line, UTF-8/BOM/GBK/UTF-16), with clear refusals."""

from __future__ import annotations

import re

import pytest

from community.codes import (
    ALPHABET,
    MAX_CODE_LENGTH,
    CodeFileError,
    CodeList,
    generate_codes,
    parse_code_file,
)


def test_alphabet_has_no_ambiguous_symbols() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("0O1I") & set(ALPHABET)


def test_generated_codes_are_unique_and_well_formed() -> None:
    codes = generate_codes(20_000)
    assert len(codes) == len(set(codes)) == 20_000
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{10}", c) for c in codes)


def test_generated_codes_are_spread_over_the_alphabet() -> None:
    # 50,000 symbols: each of the 32 should appear close to 1/32 of the time.
    symbols = "".join(generate_codes(5_000))
    counts = [symbols.count(c) for c in ALPHABET]
    expected = len(symbols) / 32
    assert all(0.85 * expected < n < 1.15 * expected for n in counts), counts
    assert generate_codes(3) != generate_codes(3)


def test_generated_codes_prefix_and_length() -> None:
    codes = generate_codes(5, prefix="XMAS-", length=8)
    assert all(re.fullmatch(r"XMAS-[2-9A-HJ-NP-Z]{8}", c) for c in codes)
    assert generate_codes(0) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "can generate 0 to"),
        ({"n": 5, "length": 4}, "at least 6 random characters"),
        ({"n": 5, "prefix": "X" * 60}, "must fit in 64 characters"),
        ({"n": 5, "prefix": "A B"}, "cannot contain spaces"),
        ({"n": 1_000_000, "length": 6}, "would be guessable"),
    ],
)
def test_generate_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CodeFileError, match=message):
        generate_codes(**kwargs)  # type: ignore[arg-type]


def test_one_code_per_line_with_blanks_and_duplicates() -> None:
    codes = parse_code_file(b"AAA111\n\n  BBB222  \r\nAAA111\nCCC333\nBBB222\n")
    assert codes == ["AAA111", "BBB222", "CCC333"]
    assert isinstance(codes, CodeList)
    assert codes.duplicates == ["AAA111", "BBB222"]


def test_text_pasted_in_a_message() -> None:
    assert parse_code_file("\ufeffAAA111\nBBB222") == ["AAA111", "BBB222"]


def test_single_column_header_is_skipped() -> None:
    assert parse_code_file("Code\nAAA111\nBBB222\n") == ["AAA111", "BBB222"]
    assert parse_code_file("券码\nAAA111\n") == ["AAA111"]


def test_csv_first_column_without_header() -> None:
    data = b"AAA111,10%,2026-12-31\nBBB222,10%,2026-12-31\n"
    assert parse_code_file(data) == ["AAA111", "BBB222"]


@pytest.mark.parametrize(
    "header", ["code", "Coupon Code", "coupon", "券码", "优惠码", "COUPON_CODE"]
)
def test_csv_named_column(header: str) -> None:
    data = f'id,name,{header},status\n1,"Winter, 10%",AAA111,new\n2,x,"BBB222",new\n'
    assert parse_code_file(data.encode()) == ["AAA111", "BBB222"]


def test_csv_utf8_with_bom_gbk_and_utf16() -> None:
    text = "序号,券码,面额\n1,AAA111,10元\n2,BBB222,10元\n"
    for data in (
        text.encode("utf-8-sig"),
        text.encode("utf-8"),
        text.encode("gbk"),
        text.encode("utf-16"),
    ):
        assert parse_code_file(data) == ["AAA111", "BBB222"], data[:10]


def test_tab_and_semicolon_separated() -> None:
    assert parse_code_file(b"code\tvalue\nAAA111\t5\nBBB222\t5\n") == ["AAA111", "BBB222"]
    assert parse_code_file(b"AAA111;5\nBBB222;5\n") == ["AAA111", "BBB222"]


def test_excel_quirks_are_unwrapped() -> None:
    assert parse_code_file(b'code\n="00123"\n"00456"\n') == ["00123", "00456"]


def test_rows_missing_the_code_column_are_skipped() -> None:
    data = b"name,code\nA,AAA111\nB\n,,\nC,CCC333\n"
    assert parse_code_file(data) == ["AAA111", "CCC333"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n \n\r\n", "empty"),
        (b"code\n", "no codes found"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel"),
        (b"\x00\x01\x02binary\x00", "binary"),
        ("AAA\x00BBB", "binary"),
        (b"\xff\xfa\xfb\xfc\xfd\xfe", "encoding"),
        (("X" * (MAX_CODE_LENGTH + 1)).encode(), "line 1: a code is longer than 64"),
        (b"AAA111\nAAA 222 ten percent\n", "line 2: 'AAA 222 ten percent' has a space"),
        (b"AAA111\nBB\x07B\n", "control characters"),
    ],
)
def test_refusals_explain_themselves(data: bytes | str, message: str) -> None:
    with pytest.raises(CodeFileError, match=message):
        parse_code_file(data)


def test_large_file_is_fast() -> None:
    codes = generate_codes(100_000)
    data = ("code,status\n" + "\n".join(f"{c},new" for c in codes)).encode()
    assert parse_code_file(data) == codes
