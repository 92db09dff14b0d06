"""Amounts of money: stored as integers in the currency's minor unit (分, cents)."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 currencies without a minor unit that shops here may use; all others have two.
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG"})


def exponent(currency: str) -> int:
    """Digits after the decimal point in `currency` (2 unless it has no minor unit)."""
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_major(amount_minor: int, currency: str) -> Decimal:
    """199.00 for 19900 CNY; 1500 for 1500 JPY."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_amount(amount_minor: int, currency: str) -> str:
    """ "199.00 CNY", "1500 JPY": for cards and messages."""
    digits = exponent(currency)
    return f"{to_major(amount_minor, currency):.{digits}f} {currency.upper()}"
