"""Expected cash by week: when each open invoice is likely to be paid, from how its customer pays.

What the customer has agreed comes first.  An invoice on an active payment plan is expected as the plan's
installments still to pay fall due (the invoices, oldest due first, fill the installments in date order;
what the installments do not cover is expected as below); an invoice with a promise to pay is expected on
the promised day, while that day is still to come.  Otherwise an open invoice is expected on its due date
plus the customer's own average days from due date to payment over the trailing 12 months (negative for a
customer who pays early: cash comes before the due date) when the customer settled at least `min_history`
invoices then; otherwise its segment's average (over all customers of the segment with history); otherwise
the due date itself.  An expected date that has already passed moves to the as-of date (it is due now).
Invoices more than `doubtful_after` days past due, and not on a plan or promised, are not expected at all:
they are listed as doubtful, not forecast.  Nor are invoices with an open dispute (unless on a plan or
promised): a customer disputing an invoice is not about to pay it on its usual day, and a forecast counting
on it would show cash the collector has reason not to expect; they are listed as disputed.

Weeks are 7-day periods starting on the as-of date; what falls after the last week is `later`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from connector.engine.arrangements import PlanState
from connector.engine.inputs import Lateness, OpenItem
from connector.money import to_home


@dataclass(frozen=True)
class Expected:
    invoice_id: str
    customer_id: str
    amount: Decimal
    due_date: dt.date
    expected: dt.date | None
    basis: str  # payment_plan | promise | customer | segment | due_date | doubtful | disputed


@dataclass
class Forecast:
    as_of: dt.date
    currency: str
    weeks: list[tuple[dt.date, dt.date, Decimal]]
    later: Decimal
    doubtful: Decimal
    disputed: Decimal
    invoices: list[Expected]

    def as_json(self) -> dict[str, object]:
        return {"as_of": str(self.as_of), "currency": self.currency,
                "weeks": [{"week": n + 1, "from": str(a), "to": str(b), "expected": str(v)}
                          for n, (a, b, v) in enumerate(self.weeks)],
                "later": str(self.later), "doubtful": str(self.doubtful), "disputed": str(self.disputed),
                "invoices": [{"invoice_id": e.invoice_id, "customer_id": e.customer_id, "amount": str(e.amount),
                              "due_date": str(e.due_date), "expected": e.expected and str(e.expected),
                              "basis": e.basis} for e in self.invoices]}


def forecast(items: Iterable[OpenItem], lateness: Mapping[str, Lateness], segment_of: Mapping[str, str], *,
             as_of: dt.date, home: str, rates: Mapping[str, Decimal], weeks: int = 13, min_history: int = 3,
             doubtful_after: int = 180, promises: Mapping[str, dt.date] | None = None,
             plans: Iterable[PlanState] = (), disputes: Collection[str] = ()) -> Forecast:
    """`lateness`: each customer's invoices settled in the trailing 12 months (`inputs.lateness`);
    `segment_of`: each live customer's segment name (`segments.segment_names`); others count as "new";
    `promises`: the latest promised day by invoice; `plans`: the payment plans as of `as_of`; `disputes`:
    the invoices with an open dispute."""
    items = list(items)
    scheduled = _installments_by_invoice(plans, items, as_of)
    promised = {invoice: on for invoice, on in (promises or {}).items() if on >= as_of}
    own_delay, segment_delay = _delays(lateness, segment_of, min_history)
    zero = to_home(Decimal(0), None, home)
    horizon = [(as_of + dt.timedelta(days=7 * n), as_of + dt.timedelta(days=7 * n + 6)) for n in range(weeks)]
    totals = [zero] * weeks
    later = doubtful = disputed = zero
    expected_list = []

    def expect(item: OpenItem, amount: Decimal, when: dt.date | None, basis: str) -> None:
        nonlocal later, doubtful, disputed
        expected_list.append(Expected(item.invoice_id, item.customer_id, amount, item.due_date, when, basis))
        if basis == "disputed":
            disputed += amount
        elif when is None:
            doubtful += amount
        elif (week := (when - as_of).days // 7) < weeks:
            totals[week] += amount
        else:
            later += amount

    for item in sorted(items, key=lambda i: (i.due_date, i.invoice_id)):
        rate = item.exchange_rate if item.currency == home or item.exchange_rate else rates.get(item.currency)
        amount = to_home(item.balance, rate, home)
        native = converted = Decimal(0)  # (each part converted as the running sum's step: they add up exactly)
        for when, part in scheduled.get(item.invoice_id, ()):
            native += part
            step = (amount if native == item.balance else to_home(native, rate, home)) - converted
            expect(item, step, when, "payment_plan")
            converted += step
        amount -= converted
        if amount <= 0:
            continue
        if item.invoice_id in promised:
            expect(item, amount, promised[item.invoice_id], "promise")
        elif item.invoice_id in disputes:
            expect(item, amount, None, "disputed")
        elif (as_of - item.due_date).days > doubtful_after:
            expect(item, amount, None, "doubtful")
        elif (delay := own_delay.get(item.customer_id)) is not None:
            expect(item, amount, max(item.due_date + dt.timedelta(days=delay), as_of), "customer")
        elif (delay := segment_delay.get(segment_of.get(item.customer_id, "new"))) is not None:
            expect(item, amount, max(item.due_date + dt.timedelta(days=delay), as_of), "segment")
        else:
            expect(item, amount, max(item.due_date, as_of), "due_date")
    weekly = [(a, b, v) for (a, b), v in zip(horizon, totals, strict=True)]
    return Forecast(as_of, home, weekly, later, doubtful, disputed, expected_list)


def _delays(lateness: Mapping[str, Lateness], segment_of: Mapping[str, str],
            min_history: int) -> tuple[dict[str, int], dict[str, int]]:
    """Average days from due to payment by customer (those with `min_history` settled invoices) and by
    segment: each worked out once, not once per invoice (a segment's history is hundreds of thousands of
    invoices on a big ledger)."""
    by_segment: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # settled, days from due in all
    for customer, late in lateness.items():
        if late.paid:
            summed = by_segment[segment_of.get(customer, "new")]
            summed[0] += late.paid
            summed[1] += late.days_from_due
    own = {customer: _average(late.days_from_due, late.paid) for customer, late in lateness.items()
           if late.paid and late.paid >= min_history}
    return own, {segment: _average(days, paid) for segment, (paid, days) in by_segment.items()}


def _installments_by_invoice(plans: Iterable[PlanState], items: Sequence[OpenItem],
                             as_of: dt.date) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """The parts of each invoice on an active payment plan expected on each installment's day (an installment
    already due and unpaid is expected now), in the invoice's currency.

    What the customer has paid towards a plan covers its earliest installments; the rest are filled with the
    plan's open invoices, oldest due first."""
    by_id = {item.invoice_id: item for item in items}
    result: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for state in plans:
        if state.status != "active":
            continue
        paid, days, owed = state.paid, [], []  # (the installments still to pay: their days and what is left)
        for on, amount in sorted(state.plan.installments):
            covered = min(paid, amount)
            paid -= covered
            if amount > covered:
                days.append(max(on, as_of))
                owed.append(amount - covered)
        invoices = sorted((by_id[i] for i in state.plan.invoice_ids if i in by_id),
                          key=lambda i: (i.due_date, i.invoice_id))
        for invoice in invoices:
            left = invoice.balance
            for n, day in enumerate(days):
                part = min(left, owed[n])
                if part > 0:
                    result[invoice.invoice_id].append((day, part))
                    owed[n] -= part
                    left -= part
    return dict(result)


def _average(days: int, paid: int) -> int:
    """Average days from due to payment, rounded half away from zero to whole days."""
    return int((Decimal(days) / paid).quantize(Decimal(1), ROUND_HALF_UP))
