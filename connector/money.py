"""Money: Decimal amounts, currency codes and the integer minor units the store keeps.

The store holds amounts as integers in each currency's minor unit so that SQLite sums them exactly;
everything above the store works in `Decimal`.  An amount with more decimal places than its currency
allows is an input error, never silently rounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

# ISO 4217 currencies whose minor unit is not 2 decimal places.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
         "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class MoneyError(ValueError):
    """An amount or currency that cannot be taken as money; the message says why."""


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency, 2)


def check_currency(code: str) -> str:
    """Return an ISO 4217-shaped code, or raise naming what is wrong with it."""
    if not _CURRENCY.match(code):
        raise MoneyError(f"'{code}' is not a currency code (three capital letters, like GBP)")
    return code


def parse_amount(text: str, currency: str) -> Decimal:
    """Parse a plain decimal ('1234.50', '-3') for the currency, refusing anything else.

    Thousands separators, currency symbols, exponents and excess decimal places are refused because
    each of them has silently shifted amounts in somebody's books.
    """
    text = text.strip()
    if not _PLAIN_DECIMAL.match(text):
        raise MoneyError(f"'{text}' is not a plain decimal amount (like 1234.50)")
    places = len(text.partition(".")[2])
    if places > exponent(currency):
        raise MoneyError(f"'{text}' has {places} decimal places; {currency} has {exponent(currency)}")
    return Decimal(text)


def parse_rate(text: str) -> Decimal:
    """Parse a positive exchange rate (units of home currency per unit of the foreign one)."""
    text = text.strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"'{text}' is not a decimal exchange rate") from None
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(f"'{text}' is not a positive exchange rate")
    return rate


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal → integer minor units; refuses amounts finer than the currency's minor unit."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} is finer than the minor unit of {currency}")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    """Integer minor units → Decimal with the currency's number of places."""
    return Decimal(units).scaleb(-exponent(currency))  # exact, with the currency's number of places


def total(amounts: Iterable[tuple[Decimal, str]]) -> tuple[Decimal, str] | None:
    """Sum (amount, currency) pairs of one currency; mixing currencies is an error, not a total."""
    result: tuple[Decimal, str] | None = None
    for amount, currency in amounts:
        if result is None:
            result = (amount, currency)
        elif result[1] != currency:
            raise MoneyError(f"cannot add {currency} to {result[1]}: convert to one currency first")
        else:
            result = (result[0] + amount, currency)
    return result


def to_home(amount: Decimal, rate: Decimal | None, home: str) -> Decimal:
    """Convert at `rate` (None: already in the home currency), rounded half up to the home minor unit.

    Reports convert item by item with this, then add, so that their lines always add up to their totals.
    """
    converted = amount if rate is None else amount * rate
    return converted.quantize(_minor_unit(home), rounding=ROUND_HALF_UP)


@cache
def _minor_unit(currency: str) -> Decimal:
    """The currency's minor unit as a quantum (0.01 for GBP): built once, since reports convert per item."""
    return Decimal(1).scaleb(-exponent(currency))
