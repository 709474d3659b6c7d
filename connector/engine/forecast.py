"""Expected cash by week: when each open invoice is likely to be paid, from how its customer pays.

Each open invoice is expected on its due date plus the customer's own average days from due date to payment
over the trailing 12 months (negative for a customer who pays early: cash comes before the due date) when
the customer settled at least `min_history` invoices then; otherwise its segment's average (over all
customers of the segment with history); otherwise the due date itself.  An expected date that
has already passed moves to the as-of date (it is due now).  Invoices more than `doubtful_after` days past
due are not expected at all: they are listed as doubtful, not forecast.

Weeks are 7-day periods starting on the as-of date; what falls after the last week is `later`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from connector.engine.inputs import Lateness, OpenItem
from connector.money import to_home


@dataclass(frozen=True)
class Expected:
    invoice_id: str
    customer_id: str
    amount: Decimal
    due_date: dt.date
    expected: dt.date | None
    basis: str  # customer | segment | due_date | doubtful


@dataclass
class Forecast:
    as_of: dt.date
    currency: str
    weeks: list[tuple[dt.date, dt.date, Decimal]]
    later: Decimal
    doubtful: Decimal
    invoices: list[Expected]

    def as_json(self) -> dict[str, object]:
        return {"as_of": str(self.as_of), "currency": self.currency,
                "weeks": [{"week": n + 1, "from": str(a), "to": str(b), "expected": str(v)}
                          for n, (a, b, v) in enumerate(self.weeks)],
                "later": str(self.later), "doubtful": str(self.doubtful),
                "invoices": [{"invoice_id": e.invoice_id, "customer_id": e.customer_id, "amount": str(e.amount),
                              "due_date": str(e.due_date), "expected": e.expected and str(e.expected),
                              "basis": e.basis} for e in self.invoices]}


def forecast(items: Iterable[OpenItem], lateness: Mapping[str, Lateness], segment_of: Mapping[str, str], *,
             as_of: dt.date, home: str, rates: Mapping[str, Decimal], weeks: int = 13, min_history: int = 3,
             doubtful_after: int = 180) -> Forecast:
    """`lateness`: each customer's invoices settled in the trailing 12 months (`inputs.lateness`);
    `segment_of`: each live customer's segment name (`segments.segment_names`); others count as "new"."""
    by_segment: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # settled, days from due in all
    for customer, late in lateness.items():
        if late.paid:
            summed = by_segment[segment_of.get(customer, "new")]
            summed[0] += late.paid
            summed[1] += late.days_from_due
    # Each delay worked out once, by customer and by segment (not once per invoice: a segment's history is
    # hundreds of thousands of invoices on a big ledger).
    own_delay = {customer: _average(late.days_from_due, late.paid) for customer, late in lateness.items()
                 if late.paid and late.paid >= min_history}
    segment_delay = {segment: _average(days, paid) for segment, (paid, days) in by_segment.items()}
    zero = to_home(Decimal(0), None, home)
    horizon = [(as_of + dt.timedelta(days=7 * n), as_of + dt.timedelta(days=7 * n + 6)) for n in range(weeks)]
    totals = [zero] * weeks
    later = doubtful = zero
    expected_list = []
    for item in sorted(items, key=lambda i: (i.due_date, i.invoice_id)):
        rate = item.exchange_rate if item.currency == home or item.exchange_rate else rates.get(item.currency)
        amount = to_home(item.balance, rate, home)
        if amount <= 0:
            continue
        if (as_of - item.due_date).days > doubtful_after:
            doubtful += amount
            expected_list.append(Expected(item.invoice_id, item.customer_id, amount, item.due_date, None, "doubtful"))
            continue
        delay = own_delay.get(item.customer_id)
        basis = "customer"
        if delay is None:
            delay = segment_delay.get(segment_of.get(item.customer_id, "new"))
            basis = "segment"
        if delay is None:
            delay, basis = 0, "due_date"
        when = max(item.due_date + dt.timedelta(days=delay), as_of)
        expected_list.append(Expected(item.invoice_id, item.customer_id, amount, item.due_date, when, basis))
        week = (when - as_of).days // 7
        if week < weeks:
            totals[week] += amount
        else:
            later += amount
    return Forecast(as_of, home, [(a, b, v) for (a, b), v in zip(horizon, totals, strict=True)], later, doubtful,
                    expected_list)


def _average(days: int, paid: int) -> int:
    """Average days from due to payment, rounded half away from zero to whole days."""
    return int((Decimal(days) / paid).quantize(Decimal(1), ROUND_HALF_UP))
