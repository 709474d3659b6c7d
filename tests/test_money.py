from decimal import Decimal

import pytest

from connector.money import MoneyError, from_minor, parse_amount, to_minor, total


def test_amounts_round_trip_through_minor_units_per_currency() -> None:
    assert to_minor(Decimal("1234.50"), "GBP") == 123450
    assert to_minor(Decimal("1234"), "JPY") == 1234
    assert to_minor(Decimal("1.234"), "KWD") == 1234
    assert from_minor(123450, "GBP") == Decimal("1234.50")
    assert str(from_minor(5, "GBP")) == "0.05"
    assert str(from_minor(1234, "KWD")) == "1.234"


@pytest.mark.parametrize("text, why", [
    ("1,234.50", "not a plain decimal"), ("£12", "not a plain decimal"), ("1e3", "not a plain decimal"),
    ("12.345", "3 decimal places; GBP has 2"), ("", "not a plain decimal"), ("12.", "not a plain decimal"),
])
def test_malformed_amounts_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(MoneyError, match=why):
        parse_amount(text, "GBP")


def test_amount_finer_than_the_minor_unit_is_refused_not_rounded() -> None:
    with pytest.raises(MoneyError):
        to_minor(Decimal("10.5"), "JPY")


def test_mixing_currencies_in_one_total_is_an_error() -> None:
    assert total([(Decimal("1.10"), "GBP"), (Decimal("2.20"), "GBP")]) == (Decimal("3.30"), "GBP")
    with pytest.raises(MoneyError, match="cannot add USD to GBP"):
        total([(Decimal("1"), "GBP"), (Decimal("1"), "USD")])
