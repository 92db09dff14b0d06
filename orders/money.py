"""Amounts of money: stored as integers in the currency's minor unit (分, cents)."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 currencies whose minor unit is not a hundredth; every other one has 2 decimals.
ZERO_DECIMAL_CURRENCIES = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
     "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"]
)  # fmt: skip
THREE_DECIMAL_CURRENCIES = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def exponent(currency: str) -> int:
    """Digits after the decimal point in `currency`: 2 for CNY, 0 for JPY, 3 for KWD."""
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def minor_units(currency: str) -> int:
    """How many minor units make one major unit: 100 for CNY (分), 1 for JPY."""
    return int(10 ** exponent(currency))


def to_major(amount_minor: int, currency: str) -> Decimal:
    """199.00 for 19900 CNY; 1500 for 1500 JPY."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_amount(amount_minor: int, currency: str) -> str:
    """ "199.00 CNY", "1500 JPY": for cards and messages."""
    digits = exponent(currency)
    return f"{to_major(amount_minor, currency):.{digits}f} {currency.upper()}"
