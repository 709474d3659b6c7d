"""Payment plans matched against the customer's payments: active, completed or breached.

A plan is a list of installments (date, amount) covering some of a customer's invoices.  Payments the
customer makes on or after the plan's start count towards it in date order, for what they paid on the plan's
invoices or left on account (the caller works that out: `planning.plan_states`).  On any date, if an installment
dated before that day is not covered by the payments made up to its date, the plan is breached on that
installment's date (its hold ends and the policy's `plan_breach_step` becomes due); once the payments cover
every installment, or the plan's invoices are all paid, it is completed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from connector.money import from_minor


class OpenDispute(NamedTuple):
    """An invoice's open dispute: why, and since when (a collector weighs a dispute of three months apart
    from one of yesterday's)."""

    reason: str
    since: dt.date


@dataclass(frozen=True)
class PaymentPlan:
    plan_id: int
    customer_id: str
    invoice_ids: tuple[str, ...]
    start: dt.date
    currency: str
    installments: tuple[tuple[dt.date, Decimal], ...]  # (date, amount), in date order
    cancelled: bool = False


@dataclass(frozen=True)
class PlanState:
    plan: PaymentPlan
    status: str  # active | completed | breached | cancelled
    paid: Decimal
    missed: tuple[dt.date, Decimal] | None = None  # the installment missed, when breached
    next_installment: tuple[dt.date, Decimal] | None = None

    @property
    def installment_statuses(self) -> list[str]:
        """Where each installment stands, in date order: `paid` while what the customer paid towards the plan
        covers it and those before it (`paid_late`: the one that breached the plan, paid since); else
        `missed` (the one that breached the plan), `cancelled`, `completed` (the plan ended: its invoices are
        paid) or `due`."""
        statuses, owed = [], Decimal(0)
        for on, amount in self.plan.installments:
            owed += amount
            missed = self.missed is not None and on == self.missed[0]
            if owed <= self.paid:
                statuses.append("paid_late" if missed else "paid")
            elif missed:
                statuses.append("missed")
            else:
                statuses.append(self.status if self.status in ("cancelled", "completed") else "due")
        return statuses


def plan_state(plan: PaymentPlan, payments: Iterable[tuple[dt.date, Decimal]], open_invoices: set[str],
               as_of: dt.date, grace_days: int = 0) -> PlanState:
    """Where a plan stands on `as_of`, from the customer's payments (date, amount in the plan currency).

    An installment is missed when what was paid `grace_days` after its date does not cover it and the ones
    before it (a bank transfer sent on the day can take a day or two to arrive)."""
    received = sorted((on, amount) for on, amount in payments if plan.start <= on <= as_of)
    paid = sum((amount for _, amount in received), from_minor(0, plan.currency))  # (0.00, not 0)
    if plan.cancelled:
        return PlanState(plan, "cancelled", paid)
    total = sum((amount for _, amount in plan.installments), Decimal(0))
    if paid >= total or not (set(plan.invoice_ids) & open_invoices):
        return PlanState(plan, "completed", paid)
    missed = _first_missed(plan.installments, received, as_of, dt.timedelta(days=grace_days))
    if missed is not None:
        return PlanState(plan, "breached", paid, missed=missed)
    upcoming = next(((on, amount) for on, amount in plan.installments if on >= as_of), None)
    return PlanState(plan, "active", paid, next_installment=upcoming)


def _first_missed(installments: Sequence[tuple[dt.date, Decimal]], received: Sequence[tuple[dt.date, Decimal]],
                  as_of: dt.date, grace: dt.timedelta) -> tuple[dt.date, Decimal] | None:
    owed = Decimal(0)
    for on, amount in sorted(installments):
        owed += amount
        if on + grace >= as_of:
            return None
        paid_by_then = sum((a for d, a in received if d <= on + grace), Decimal(0))
        if paid_by_then < owed:
            return on, amount
    return None
