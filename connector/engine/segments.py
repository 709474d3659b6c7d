"""Payment-behaviour segments and a 0–100 risk score per customer, with the figures behind them.

Over the trailing 12 months (the 365 days ending on the as-of date), from the invoices each customer
settled in that window and what it owes now:

- `problem`: owes something more than `problem_days_past_due` days past due, had a debt written off in the
  window, or pays on average more than `frequent_max_avg_days_late` days late.  An invoice the customer
  disputes does not count towards the first: a customer that pays on time and disputes one old invoice is
  not a problem account (its other invoices would be chased a week early in the problem tone);
- `new`: fewer than `min_paid_invoices` invoices settled in the window (too little history to judge);
- `prompt`: at most `prompt_max_pct_late` % of invoices paid late and at most `prompt_max_avg_days_late`
  days late on average;
- `occasionally_late`: within `occasional_max_pct_late` % and `occasional_max_avg_days_late` days;
- `frequently_late`: everyone else.

Risk score (0 best, 100 worst) = 40 × min(average days late, 60) ÷ 60 + 25 × share of invoices paid late
+ 25 × share of the open balance more than 60 days past due + 10 if the credit limit is exceeded; a
`problem` customer scores at least 60.  Thresholds come from the client's `[segments]` table.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from connector.config.models import SEGMENT_NAMES, SegmentThresholds
from connector.engine.inputs import CustomerInfo, Lateness, OpenItem, Receipt
from connector.money import to_home

SEGMENTS = SEGMENT_NAMES
DEFAULT_THRESHOLDS = SegmentThresholds()
TWO = Decimal("0.01")
_NO_HISTORY = Lateness(0, 0, 0)
_ZERO, _ONE, _TEN, _TWENTY_FIVE, _FORTY, _SIXTY = map(Decimal, (0, 1, 10, 25, 40, 60))


@dataclass
class CustomerSegment:
    customer_id: str
    name: str
    segment: str
    risk: int
    paid_invoices: int
    avg_days_late: Decimal | None
    pct_paid_late: Decimal | None
    open_balance: Decimal
    overdue_60_plus: Decimal
    oldest_days_past_due: int | None
    credit_limit: Decimal | None
    over_limit: bool
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        money = ("open_balance", "overdue_60_plus", "credit_limit", "avg_days_late", "pct_paid_late")
        return {k: (None if v is None else str(v)) if k in money else v for k, v in vars(self).items()}


def window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The trailing 12 months the segments look at."""
    return as_of - dt.timedelta(days=364), as_of


def segment(customers: Mapping[str, CustomerInfo], lateness: Mapping[str, Lateness], open_items: Iterable[OpenItem],
            write_offs: Iterable[Receipt], *, as_of: dt.date, home: str, rates: Mapping[str, Decimal],
            thresholds: SegmentThresholds = DEFAULT_THRESHOLDS,
            credit_limits: Mapping[str, Decimal] | None = None,
            disputed: Collection[str] = ()) -> list[CustomerSegment]:
    """Every live customer's segment and risk, ordered by risk (worst first), then name.

    `lateness` is per customer, from `inputs.lateness` (the store) or `inputs.lateness_of` (settlements);
    `disputed`: the invoices with an open dispute.
    """
    owed: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    oldest_undisputed: dict[str, int] = {}
    for item in open_items:
        rate = item.exchange_rate if item.currency == home or item.exchange_rate else rates.get(item.currency)
        days = (as_of - item.due_date).days
        owed[item.customer_id].append((days, to_home(item.balance, rate, home)))
        if days > oldest_undisputed.get(item.customer_id, days - 1) and item.invoice_id not in disputed:
            oldest_undisputed[item.customer_id] = days
    written_off = {r.customer_id for r in write_offs}
    result = [_one(info, lateness.get(key, _NO_HISTORY), owed.get(key, []), oldest_undisputed.get(key),
                   key in written_off, thresholds, (credit_limits or {}).get(key, info.credit_limit))
              for key, info in customers.items()]
    return sorted(result, key=lambda c: (-c.risk, c.name.casefold(), c.customer_id))


def segment_names(customers: Iterable[str], lateness: Mapping[str, Lateness], open_items: Iterable[OpenItem],
                  write_offs: Iterable[Receipt], *, as_of: dt.date,
                  thresholds: SegmentThresholds = DEFAULT_THRESHOLDS,
                  disputed: Collection[str] = ()) -> dict[str, str]:
    """Each customer's segment name alone, as `segment` names it: what a plan needs of 50,000 customers,
    without their balances, risk scores and reasons (a sixth of a plan's time at that size)."""
    oldest: dict[str, int] = {}
    for item in open_items:
        days = (as_of - item.due_date).days
        if days > oldest.get(item.customer_id, days - 1) and (not disputed or item.invoice_id not in disputed):
            oldest[item.customer_id] = days
    written_off = {r.customer_id for r in write_offs}
    names = {}
    for key in customers:
        late = lateness.get(key, _NO_HISTORY)
        names[key] = _classify(late, oldest.get(key), key in written_off, *_lateness_figures(late), thresholds)
    return names


def _lateness_figures(late: Lateness) -> tuple[Decimal | None, Decimal | None]:
    """(average days late, % paid late), rounded to cents, or None without settled invoices."""
    if not late.paid:
        return None, None
    return ((Decimal(late.days_late) / late.paid).quantize(TWO, ROUND_HALF_UP),
            (Decimal(late.paid_late * 100) / late.paid).quantize(TWO, ROUND_HALF_UP))


def _classify(late: Lateness, oldest: int | None, written_off: bool, avg: Decimal | None, pct: Decimal | None,
              t: SegmentThresholds) -> str:
    """The segment's name (see the module's docstring)."""
    if oldest is not None and oldest > t.problem_days_past_due or written_off \
            or avg is not None and avg > t.frequent_max_avg_days_late:
        return "problem"
    if late.paid < t.min_paid_invoices:
        return "new"
    if pct <= t.prompt_max_pct_late and avg <= t.prompt_max_avg_days_late:  # type: ignore[operator]
        return "prompt"
    if pct <= t.occasional_max_pct_late and avg <= t.occasional_max_avg_days_late:  # type: ignore[operator]
        return "occasionally_late"
    return "frequently_late"


def _one(info: CustomerInfo, late: Lateness, owed: Sequence[tuple[int, Decimal]], undisputed: int | None,
         written_off: bool, t: SegmentThresholds, limit: Decimal | None) -> CustomerSegment:
    if owed:
        balance = sum((amount for _, amount in owed), _ZERO)
        deep = sum((amount for days, amount in owed if days > 60), _ZERO)
        oldest: int | None = max(days for days, _ in owed)
    else:  # most customers of a big ledger owe nothing: no sums to make
        balance = deep = _ZERO
        oldest = None
    avg, pct = _lateness_figures(late)
    over = limit is not None and balance > limit
    name = _classify(late, undisputed, written_off, avg, pct, t)
    if name == "problem":
        reasons = []
        if undisputed is not None and undisputed > t.problem_days_past_due:
            reasons.append(f"owes {undisputed} days past due (more than {t.problem_days_past_due})")
        if written_off:
            reasons.append("had a debt written off in the last 12 months")
        if avg is not None and avg > t.frequent_max_avg_days_late:
            reasons.append(f"pays {avg} days late on average (more than {t.frequent_max_avg_days_late})")
    elif name == "new":
        reasons = [f"{late.paid} invoice(s) paid in the last 12 months (fewer than {t.min_paid_invoices})"]
    else:
        reasons = [f"{pct}% paid late, {avg} days late on average"]
    if oldest is not None and oldest > t.problem_days_past_due and (undisputed is None or undisputed < oldest):
        reasons.append(f"owes {oldest} days past due on an invoice it disputes (not counted against it)")
    if over:
        reasons.append(f"owes {balance:,}, over its credit limit of {limit:,}")
    capped = _ZERO if avg is None else avg if avg < _SIXTY else _SIXTY  # not min(): this runs per customer
    score = (_FORTY * capped / 60 + _TWENTY_FIVE * (pct or _ZERO) / 100
             + (_TWENTY_FIVE * deep / balance if balance > 0 else _ZERO) + (_TEN if over else _ZERO))
    risk = int(score.quantize(_ONE, ROUND_HALF_UP))
    if name == "problem":
        risk = max(risk, 60)
    return CustomerSegment(info.customer_id, info.name, name, min(risk, 100), late.paid, avg, pct, balance, deep,
                           oldest, limit, over, reasons)
