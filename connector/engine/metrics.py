"""Collection metrics over a period, with the formulas of peers.md D.1 (each documented in the README).

Conventions:
- The period is `start`..`end` inclusive; its length in days is the `days` of the DSO formulas.
- Receivables (AR) at a date are the open balances as of that date (`inputs.open_items`), in the home
  currency; "current" AR is the part not yet due (due on or after the date).  Opening AR is AR at the day
  before `start`; ending AR is AR at `end`.
- Credit sales are the invoices issued in the period (void and deleted ones excluded).
- A ratio whose denominator is zero is `None` (no sales, no paid invoices), never a division error or 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from connector.engine.figures import Amounts, Settled
from connector.engine.inputs import Sale
from connector.money import to_home

TWO = Decimal("0.01")
HUNDRED = Decimal(100)
DAYS_PER_MONTH = Decimal("30.4375")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, end: dt.date, days: int = 90) -> Period:
        """The `days` days ending on `end` (the default metrics period is the 90 days to the as-of date)."""
        return cls(end - dt.timedelta(days=days - 1), end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class MetricsInputs:
    """Everything the metrics need, summed from the store by `connector.engine.figures`."""

    period: Period
    home: str
    opening: Amounts  # AR at the day before the period
    closing: Amounts  # AR at the period's end
    closing_current: Amounts  # the part of it not yet due
    sales: Amounts
    history: Sequence[Sale]  # sales by month, back far enough for the countback DSO
    settled: Settled
    receipts: Amounts
    write_offs: Amounts
    rates: Mapping[str, Decimal]  # a rate per foreign currency, for amounts that carry none
    cei_sales: Literal["period_total", "monthly_average"] = "period_total"


@dataclass(frozen=True)
class Metrics:
    period: Period
    total_outstanding: Decimal
    overdue_pct: Decimal | None
    dso: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    add: Decimal | None
    cei: Decimal | None
    collection_rate: Decimal | None
    bad_debt_ratio: Decimal | None
    avg_days_to_pay: Decimal | None
    avg_days_to_pay_weighted: Decimal | None
    avg_days_late: Decimal | None
    pct_paid_late: Decimal | None

    def as_json(self, as_of: dt.date) -> dict[str, object]:
        """The `metrics --json` keys (the README's): money as a decimal string, ratios and days as numbers."""
        ratios = ("overdue_pct", "dso", "dso_countback", "best_possible_dso", "add", "cei", "collection_rate",
                  "bad_debt_ratio", "avg_days_to_pay", "avg_days_to_pay_weighted", "avg_days_late", "pct_paid_late")
        return {"as_of": str(as_of), "from": str(self.period.start), "to": str(self.period.end),
                "total_outstanding": str(self.total_outstanding),
                **{name: _number(getattr(self, name)) for name in ratios}}


def _number(value: Decimal | None) -> float | int | None:
    """A 2-place ratio for JSON: an exact decimal written as a JSON number (not money)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)  # ok: a 2-place ratio, not money


def _ratio(numerator: Decimal, denominator: Decimal, scale: Decimal = HUNDRED) -> Decimal | None:
    if denominator == 0:
        return None
    return (numerator / denominator * scale).quantize(TWO, rounding=ROUND_HALF_UP)


def compute(inputs: MetricsInputs) -> Metrics:
    """Every metric of the period, each `None` where it has no denominator."""
    home, rates, period = inputs.home, inputs.rates, inputs.period
    ending, current = inputs.closing.home(home, rates), inputs.closing_current.home(home, rates)
    opening, sold = inputs.opening.home(home, rates), inputs.sales.home(home, rates)
    days = Decimal(period.days)
    dso, best = _ratio(ending, sold, days), _ratio(current, sold, days)
    months = max(Decimal(1), (days / DAYS_PER_MONTH).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    cei_sold = sold if inputs.cei_sales == "period_total" else sold / months
    return Metrics(
        period=period, total_outstanding=ending,
        overdue_pct=_ratio(ending - current, ending),
        dso=dso, dso_countback=countback_dso(ending, inputs.history, period.end, home, rates),
        best_possible_dso=best, add=None if dso is None or best is None else dso - best,
        cei=_ratio(opening + cei_sold - ending, opening + cei_sold - current),
        collection_rate=_ratio(inputs.receipts.home(home, rates), opening + sold),
        bad_debt_ratio=_ratio(inputs.write_offs.home(home, rates), sold),
        **_payment_behaviour(inputs.settled, home, rates))


def _home(amount: Decimal, currency: str, rate: Decimal | None, home: str, rates: Mapping[str, Decimal]) -> Decimal:
    if currency != home and rate is None:
        rate = rates.get(currency)
        if rate is None:
            raise ValueError(f"no exchange rate to convert {currency} to {home}")
    return to_home(amount, rate, home)


def countback_dso(ending: Decimal, history: Sequence[Sale], end: dt.date, home: str,
                  rates: Mapping[str, Decimal]) -> Decimal | None:
    """Countback (exhaustion) DSO: walk back month by month, taking each month's sales off ending AR.

    The month of `end` counts from its 1st to `end`; earlier months are whole calendar months.  Each
    exhausted month adds its days; the month where AR runs out adds its share pro rata.  If the history
    runs out first, every month of it counts in full.
    """
    return _countback(ending, history, end, home, rates)[0]


def countback_settles(ending: Decimal, history: Sequence[Sale], end: dt.date, home: str,
                      rates: Mapping[str, Decimal]) -> bool:
    """True when `history` is long enough for the countback: AR runs out within it (or there is none to
    count back), so more months before it would not change the figure."""
    return _countback(ending, history, end, home, rates)[1]


def _countback(ending: Decimal, history: Sequence[Sale], end: dt.date, home: str,
               rates: Mapping[str, Decimal]) -> tuple[Decimal | None, bool]:
    if ending <= 0:
        return (Decimal(0) if history else None), bool(history)
    by_month: dict[tuple[int, int], Decimal] = {}
    for sale in history:
        if sale.issue_date <= end:
            key = (sale.issue_date.year, sale.issue_date.month)
            by_month[key] = by_month.get(key, Decimal(0)) + _home(sale.amount, sale.currency, sale.exchange_rate,
                                                                   home, rates)
    if not by_month:
        return None, False
    earliest = min(by_month)
    remaining, total_days = ending, Decimal(0)
    month_end = end
    while (month_end.year, month_end.month) >= earliest:
        month_start = month_end.replace(day=1)
        span = Decimal((month_end - month_start).days + 1)
        sold = by_month.get((month_end.year, month_end.month), Decimal(0))
        if remaining <= sold:
            return (total_days + remaining / sold * span).quantize(TWO, rounding=ROUND_HALF_UP), True
        remaining -= sold
        total_days += span
        month_end = month_start - dt.timedelta(days=1)
    return total_days.quantize(TWO), False


def _payment_behaviour(settled: Settled, home: str, rates: Mapping[str, Decimal]) -> dict[str, Decimal | None]:
    """Days to pay (simple and amount-weighted), days late and share paid late, over invoices settled."""
    if not settled.count:
        return dict.fromkeys(("avg_days_to_pay", "avg_days_to_pay_weighted", "avg_days_late", "pct_paid_late"))
    count = Decimal(settled.count)
    return {
        "avg_days_to_pay": _ratio(Decimal(settled.days_to_pay), count, Decimal(1)),
        "avg_days_to_pay_weighted": _ratio(settled.weighted_days.home(home, rates), settled.totals.home(home, rates),
                                           Decimal(1)),
        "avg_days_late": _ratio(Decimal(settled.days_late), count, Decimal(1)),
        "pct_paid_late": _ratio(Decimal(settled.late), count),
    }
