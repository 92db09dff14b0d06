from decimal import Decimal

from orders.money import exponent, format_amount, to_major


def test_amounts_are_shown_in_the_currencys_own_units() -> None:
    assert (exponent("CNY"), exponent("usd"), exponent("JPY")) == (2, 2, 0)
    assert to_major(19900, "CNY") == Decimal("199.00")
    assert format_amount(19905, "cny") == "199.05 CNY"
    assert format_amount(1500, "JPY") == "1500 JPY"
    assert format_amount(0, "USD") == "0.00 USD"
