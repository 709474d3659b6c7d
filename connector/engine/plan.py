"""The plan: the next dunning actions and the holds, for one client on one date.  Sends nothing.

Pure: everything it needs arrives in `PlanInputs`.  The same inputs give the same actions with the same
keys; a key depends on the client, the customer, the step, the sorted invoice ids and the repeat count,
never on the date, so a pending action keeps its key from one day to the next.

Holds take invoices out of the plan (an open dispute, a promise to pay until its date, an active payment
plan) or whole customers (excluded, paused, covered by unapplied credit, below the policy's minimum
balance).  The minimum is compared with the balance the customer would be chased for: its overdue balance,
plus the invoices a pre-due step is reminding about (so a courtesy reminder of a large invoice still goes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import NamedTuple

from connector.config.models import Policy, Step
from connector.engine.arrangements import OpenDispute, PlanState
from connector.engine.inputs import OpenItem
from connector.engine.policy import DueStep, Execution, Ladder, due_step, reached_at
from connector.engine.schedule import schedule
from connector.money import to_home

CONTACT_KINDS = frozenset({"reminder", "statement", "final_demand", "call"})


class CustomerContext(NamedTuple):
    """What the plan needs of one customer besides its invoices (a named tuple: a plan builds 50,000)."""

    customer_id: str
    name: str
    timezone: str
    segment: str
    policy: Policy
    exclude: bool = False
    pause_until: dt.date | None = None


@dataclass(frozen=True)
class PlanInputs:
    client: str
    as_of: dt.date
    home: str
    items: Sequence[OpenItem]
    customers: Mapping[str, CustomerContext]
    executions: Mapping[str, Sequence[Execution]]  # by invoice id
    # contacts by customer, UTC instants: those that can share 7 days with an action of `as_of` are enough
    contacts: Mapping[str, Sequence[dt.datetime]]
    credits: Mapping[str, Decimal]  # unapplied credit by customer, home currency
    disputes: Mapping[str, OpenDispute]  # open disputes by invoice id
    promises: Mapping[str, dt.date]  # promises to pay: invoice id → promised date
    plans: Sequence[PlanState]
    rates: Mapping[str, Decimal] = field(default_factory=dict)


class Action(NamedTuple):
    """One planned action (a named tuple, like the other records a plan makes by the ten thousand)."""

    key: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    kind: str
    step: str
    channel: str
    due_at: dt.datetime
    reason: str
    amount: Decimal
    repeat: int
    template: str | None
    escalate_to: str | None
    offset_days: int  # the step's, recorded with it when it runs (see `engine.policy`)

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "customer_id": self.customer_id, "invoice_ids": list(self.invoice_ids),
                "kind": self.kind, "step": self.step, "offset_days": self.offset_days, "channel": self.channel,
                "due_at": self.due_at.isoformat().replace("+00:00", "Z"), "reason": self.reason,
                "amount": str(self.amount), "repeat": self.repeat, "template": self.template,
                "escalate_to": self.escalate_to}


class Hold(NamedTuple):
    """An invoice (or, with no `invoice_id`, a whole customer) the plan does not chase, and why: `kind` for
    scripts to tell holds apart (one of `HOLD_KINDS`), `reason` for people."""

    customer_id: str
    invoice_id: str | None
    reason: str
    kind: str


HOLD_KINDS = ("excluded", "paused", "dispute", "promise", "payment_plan", "credit", "min_balance")


@dataclass
class Plan:
    """The actions and holds, with what they were planned from: the customers (for their names) and the open
    invoices (for their numbers), so that people read names and invoice numbers rather than host ids."""

    as_of: dt.date
    actions: list[Action]
    holds: list[Hold]
    customers: Mapping[str, CustomerContext] = field(default_factory=dict, repr=False)
    currency: str = ""  # the home currency every action's amount is in
    items: Sequence[OpenItem] = field(default=(), repr=False)
    warnings: list[str] = field(default_factory=list)

    def customer_name(self, customer_id: str) -> str:
        context = self.customers.get(customer_id)
        return context.name if context else customer_id

    def invoice_number(self, invoice_id: str) -> str:
        """The number the customer sees on the invoice (its id when it has none)."""
        return self._numbers.get(invoice_id) or invoice_id

    @cached_property
    def _numbers(self) -> dict[str, str | None]:
        return {item.invoice_id: item.number for item in self.items}

    @property
    def by_name(self) -> list[Action]:
        """The actions as people read down them: by time, then by customer name, each customer's steps in the
        policy's order (the actions' own order is by customer id, as scripts and keys know customers)."""
        return sorted(self.actions, key=lambda a: (a.due_at, self.customer_name(a.customer_id).casefold()))

    @property
    def worklist(self) -> list[Action]:
        """Calls and escalations, the largest amount at risk first: who a collector should ring first."""
        return sorted((a for a in self.actions if a.kind in ("call", "escalate")),
                      key=lambda a: (-a.amount, a.customer_id, a.step))

    def as_json(self) -> dict[str, object]:
        return {"as_of": str(self.as_of), "currency": self.currency,
                "actions": [{**a.as_json(), "customer_name": self.customer_name(a.customer_id),
                             "invoice_numbers": [self.invoice_number(i) for i in a.invoice_ids]} for a in self.actions],
                "warnings": self.warnings,
                "holds": [{"customer_id": h.customer_id, "customer_name": self.customer_name(h.customer_id),
                           "invoice_id": h.invoice_id,
                           "invoice_number": h.invoice_id and self.invoice_number(h.invoice_id), "kind": h.kind,
                           "reason": h.reason}
                          for h in self.holds],
                "worklist": [{"key": a.key, "customer_id": a.customer_id,
                              "customer_name": self.customer_name(a.customer_id), "kind": a.kind,
                              "amount": str(a.amount), "reason": a.reason} for a in self.worklist]}


def action_key(client: str, customer: str, step: str, invoices: Sequence[str], repeat: int) -> str:
    """The idempotency key: the same pending action has the same key on every day it is pending."""
    text = "\x1f".join([client, customer, step, ",".join(sorted(invoices)), str(repeat)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class _Due(NamedTuple):
    item: OpenItem
    due: DueStep
    amount: Decimal
    reason: str


_ITEM_ORDER = attrgetter("customer_id", "due_date", "invoice_id")
_DUE_AT = attrgetter("due_at")


def build_plan(data: PlanInputs) -> Plan:
    """Holds first, then the due step of every remaining invoice, consolidated and scheduled."""
    holds: list[Hold] = []
    by_customer: dict[str, list[OpenItem]] = defaultdict(list)
    for item in sorted(data.items, key=_ITEM_ORDER):
        by_customer[item.customer_id].append(item)
    plan_of = {invoice: state for state in data.plans if state.status in ("active", "breached")
               for invoice in state.plan.invoice_ids}
    actions: list[Action] = []
    # A policy's ladder per segment, and its steps' order, worked out once for all the customers who share them.
    ladders: dict[tuple[int, str], _Rungs] = {}
    orders: dict[int, dict[str, int]] = {}
    for customer_id, items in by_customer.items():
        context = data.customers.get(customer_id)
        if context is None:
            continue
        customer_hold = _customer_hold(context, data.as_of)
        if customer_hold:
            holds.append(Hold(customer_id, None, *customer_hold))
            continue
        rungs = ladders.get((id(context.policy), context.segment))
        if rungs is None:
            rungs = ladders[id(context.policy), context.segment] = _Rungs(Ladder.of(context.policy, context.segment),
                                                                          {}, {})
        due, overdue = _due_invoices(data, context, rungs, items, plan_of, holds)
        if not due:
            continue
        held = _balance_hold(data, context, overdue, due)
        if held:
            holds.append(Hold(customer_id, None, *held))
            continue
        order = orders.get(id(context.policy))
        if order is None:
            order = orders[id(context.policy)] = {step.name: n for n, step in enumerate(context.policy.steps)}
        actions += _actions(data, context, due, order, rungs.offsets)
    # By time, then by customer id, each customer's steps in the policy's order (`_actions` makes them so; the
    # sort is stable).  (People read them by name: `Plan.by_name`.)
    actions.sort(key=_DUE_AT)
    return Plan(data.as_of, actions, holds, data.customers, data.home, data.items)


class _Rungs(NamedTuple):
    """A segment's ladder, and the step due (with its reason) by days past due on an invoice nothing has been
    executed on and nothing arranged for: most invoices of a plan, which so cost a look-up each."""

    ladder: Ladder
    by_days: dict[int, tuple[DueStep | None, str]]
    offsets: dict[str, str]  # each step's offset as its actions' reasons tell it (`_offset`), by step name


def _customer_hold(context: CustomerContext, as_of: dt.date) -> tuple[str, str] | None:
    """(reason, kind) of a hold of the whole customer by its config, if any."""
    if context.exclude:
        return "excluded from collections in the client's config", "excluded"
    if context.pause_until is not None and as_of < context.pause_until:
        return f"paused until {context.pause_until}", "paused"
    return None


def _due_invoices(data: PlanInputs, context: CustomerContext, rungs: _Rungs, items: list[OpenItem],
                  plan_of: Mapping[str, PlanState], holds: list[Hold]) -> tuple[list[_Due], Decimal]:
    """The customer's invoices a step is due on, and its overdue balance (home currency), both without the
    invoices held (disputed, promised, on a plan): what they owe is not chased."""
    due: list[_Due] = []
    overdue = Decimal(0)
    arranged = data.disputes or data.promises or plan_of  # (most ledgers have few: skip the look-ups)
    as_of, home, executions = data.as_of, data.home, data.executions
    for item in items:
        amount = item.balance if item.currency == home and item.exchange_rate is None \
            else to_home(item.balance, item.exchange_rate or data.rates.get(item.currency), home)
        state = plan_of.get(item.invoice_id) if arranged else None
        held = _invoice_hold(data, item, state) if arranged else None
        if held:
            holds.append(Hold(item.customer_id, item.invoice_id, *held))
            continue
        days = (as_of - item.due_date).days
        if days > 0:
            overdue += amount
        if arranged or item.invoice_id in executions:
            found = _step_for(data, context, rungs.ladder, item, amount, state)
            if found is not None:
                due.append(found)
            continue
        quick = rungs.by_days.get(days)
        if quick is None:
            step = due_step(context.policy, context.segment, item.due_date, (), as_of, rungs.ladder)
            quick = rungs.by_days[days] = (step, "" if step is None else _why(step.days_past_due, step.repeat))
        if quick[0] is not None:
            due.append(_Due(item, quick[0], amount, quick[1]))
    return due, overdue


def _invoice_hold(data: PlanInputs, item: OpenItem, state: PlanState | None) -> tuple[str, str] | None:
    """(reason, kind) of what holds the invoice (disputed, promised, on a plan), if anything."""
    dispute = data.disputes.get(item.invoice_id)
    if dispute is not None:
        return f"disputed since {dispute.since}: {dispute.reason}", "dispute"
    if item.invoice_id in data.promises and data.as_of <= data.promises[item.invoice_id]:
        return f"promised to pay by {data.promises[item.invoice_id]}", "promise"
    if state is not None and state.status == "active":
        return f"on payment plan #{state.plan.plan_id}", "payment_plan"
    return None


def _step_for(data: PlanInputs, context: CustomerContext, ladder: Ladder, item: OpenItem, amount: Decimal,
              state: PlanState | None) -> _Due | None:
    history = data.executions.get(item.invoice_id, ())
    breach = context.policy.plan_breach_step
    if state is not None and state.status == "breached" and breach and state.missed:
        missed_on = state.missed[0]
        if not any(e.step == breach and e.on > missed_on for e in history):
            step = next(s for s in context.policy.steps if s.name == breach)
            days = (data.as_of - item.due_date).days
            return _Due(item, DueStep(step, 0, days), amount,
                        f"payment plan #{state.plan.plan_id} missed the installment of {missed_on}")
    found = due_step(context.policy, context.segment, item.due_date, history, data.as_of, ladder)
    if found is None:
        return None
    reason = _why(found.days_past_due, found.repeat)
    promised = data.promises.get(item.invoice_id) if data.promises else None
    if promised is not None:  # (its hold is over: the collector should know the promise was not kept, in part
        # or at all: "not paid" would be untrue of a customer who paid some of it)
        reason += f", promised to pay by {promised}; {item.currency} {item.balance:,} still unpaid"
    return _Due(item, found, amount, reason)


@lru_cache(maxsize=4096)
def _why(days_past_due: int, repeat: int) -> str:
    if days_past_due < 0:
        when = f"{-days_past_due} days before due"
    else:
        when = f"{days_past_due} days past due" if days_past_due else "due today"
    return when + (f", repeat {repeat} of the last step" if repeat else "")


def _reasons(members: list[_Due]) -> str:
    """Why each invoice of one message is at its step: the ages of three or more told as their range (a
    customer's agency referral of 15 invoices read as 15 ages; the message's text says how many), the other
    reasons (a repeat, a promise not kept, a missed installment) each as they are."""
    if len(members) < 3:
        return "; ".join(dict.fromkeys(m.reason for m in members))
    plain: list[int] = []  # the ages of invoices whose reason is their age alone
    others: list[str] = []
    for m in members:
        if not m.due.repeat and m.reason == _why(m.due.days_past_due, 0):
            plain.append(m.due.days_past_due)
        else:
            others.append(m.reason)
    if len(plain) < 3:
        return "; ".join(dict.fromkeys(m.reason for m in members))
    low, high = min(plain), max(plain)
    if low > 0:
        ages = f"{low} to {high} days past due"
    elif high < 0:
        ages = f"{-high} to {-low} days before due"
    else:
        ages = f"from {_why(low, 0)} to {_why(high, 0)}"
    return "; ".join([ages, *dict.fromkeys(others)])


def _offset(policy: Policy, segment: str, step: Step) -> str:
    """The step's offset, and where its customer's segment moves it: "follow_up_2 (offset 14): 9 days past
    due" read as a mistake for a problem account whose steps come 7 days earlier."""
    shift = policy.segments[segment].shift_days if segment in policy.segments else 0
    at = reached_at(step, shift)
    if at == step.offset_days:
        return f"offset {step.offset_days}"
    return f"offset {step.offset_days}, moved to {at} for {segment.replace('_', ' ')} customers"


def _balance_hold(data: PlanInputs, context: CustomerContext, overdue_all: Decimal,
                  due: list[_Due]) -> tuple[str, str] | None:
    """Why the customer is not chased at all, if so (reason, kind).  `overdue_all`: its overdue balance in the
    home currency, less what is held (disputed, promised, on a plan): credit that covers what would be chased
    holds the customer, even if a disputed invoice is larger than the credit."""
    overdue = chased_early = Decimal(0)
    for d in due:
        if d.due.days_past_due > 0:
            overdue += d.amount
        else:
            chased_early += d.amount
    credit = data.credits.get(context.customer_id, _NO_CREDIT)
    if overdue_all > 0 and credit >= overdue_all:
        return f"unapplied credit {credit:,} covers the overdue balance {overdue_all:,}", "credit"
    chased = overdue_all + chased_early
    if chased > 0 and credit >= chased:  # (a courtesy reminder to a customer whose credit already pays it)
        return f"unapplied credit {credit:,} covers the balance chased {chased:,}", "credit"
    if chased < context.policy.min_balance and (overdue or chased):
        return f"balance chased {chased:,} is below the policy minimum {context.policy.min_balance:,}", "min_balance"
    return None


_NO_CREDIT = Decimal(0)


def _as_listed(due: _Due) -> tuple[dt.date, str, str]:
    """The order of an action's invoices, as its reminder lists them: oldest due first, then by the number
    printed on them, never by the host's ids alone (Xero's are GUIDs): the same books on any host list alike."""
    return due.item.due_date, due.item.number or due.item.invoice_id, due.item.invoice_id


def _actions(data: PlanInputs, context: CustomerContext, due: list[_Due], order: Mapping[str, int],
             offsets: dict[str, str]) -> list[Action]:
    if len(due) == 1:  # (most customers: nothing to consolidate)
        groups = [due]
    else:
        grouped: dict[tuple[str, int], list[_Due]] = {}
        for d in due:
            group = (d.due.step.name, d.due.repeat) if context.policy.consolidate else (d.item.invoice_id, 0)
            grouped.setdefault(group, []).append(d)
        groups = sorted(grouped.values(), key=lambda g: (order[g[0].due.step.name], *_as_listed(g[0])))
    contacts = list(data.contacts.get(context.customer_id, ()))
    policy = context.policy
    actions = []
    for members in groups:
        first = members[0]
        step = first.due.step
        ids: tuple[str, ...]
        if len(members) == 1:
            repeat, ids, reasons, amount = first.due.repeat, (first.item.invoice_id,), first.reason, first.amount
        else:
            members = sorted(members, key=_as_listed)
            repeat = max(m.due.repeat for m in members)
            ids = tuple(m.item.invoice_id for m in members)
            reasons = _reasons(members)
            amount = sum((m.amount for m in members), Decimal(0))
        is_contact = step.action in CONTACT_KINDS and step.channel != "none" or step.action == "call"
        due_at, moved = schedule(policy.contact, policy.send_time, data.as_of, context.timezone, contacts,
                                 is_contact=is_contact)
        if is_contact:
            contacts.append(due_at)
        offset = offsets.get(step.name)
        if offset is None:
            offset = offsets[step.name] = _offset(policy, context.segment, step)
        text = f"{len(ids)} invoice(s) at step '{step.name}' ({offset}): {reasons}"
        actions.append(Action(action_key(data.client, context.customer_id, step.name, ids, repeat),
                              context.customer_id, ids, step.action, step.name, step.channel, due_at,
                              "; ".join([text, *moved]) if moved else text, amount, repeat, step.template,
                              step.escalate_to, step.offset_days))
    return actions
