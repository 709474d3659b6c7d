"""Library calls behind `plan`, `dispute`, `promise`, `payment-plan` and `log`: state in, plan out.

`plan` reads the store and the config and asks the pure engine for the plan; `record=True` then records
every action of that plan as executed on the as-of date (for clients whose actions are carried out outside
the product), and any payment plan seen breached or completed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from connector.config import ClientConfig, Workspace
from connector.engine import inputs
from connector.engine.arrangements import PlanState
from connector.engine.plan import CustomerContext, Plan, PlanInputs, build_plan
from connector.engine.policy import Execution
from connector.engine.segments import window
from connector.errors import UsageError
from connector.money import from_minor, to_home
from connector.reports import (CustomerPolicies, collector_paused, customer_segment_names, open_store, plan_states,
                               today_for)
from connector.sync.state import CollectionsState
from connector.sync.store import Store


@collector_paused()
def plan(workspace: Workspace, client: str, *, as_of: dt.date | None = None, record: bool = False) -> Plan:
    """The next actions and the holds; with `record`, the actions are recorded as executed on the date."""
    config = workspace.load_client(client)
    today = today_for(config)
    day = as_of or today
    if record and day > today:
        raise UsageError(f"--record records the plan's actions as executed on {day}, which is after today ({today}) "
                         "in the client's time zone; plan without --record to look ahead")
    with open_store(workspace, config) as store:
        state = CollectionsState(store)
        latest = state.last_executed_on() if record else None
        if latest is not None and day < latest:
            raise UsageError(f"--record records the plan's actions as executed on {day}, but actions were already "
                             f"recorded as executed on {latest}: a plan for an earlier day does not know of them, "
                             "and would record steps and contacts again; record days in order, or plan without "
                             "--record")
        data = store.consistent(lambda: _inputs(workspace, config, store, state, day))
        result = build_plan(data)
        result.warnings += config_warnings(config, store)
        if not record and state.last_executed_on() is None:
            result.warnings += first_plan_warnings(config, result)
        if day >= today:
            result.warnings += staleness_warnings(config, store, dt.datetime.now(dt.UTC))
        if record:
            state.record_actions(result.actions, day, source="record")
            for plan_status in data.plans:
                if plan_status.status in ("breached", "completed"):
                    state.set_plan_status(plan_status.plan.plan_id, plan_status.status, day)
        return result


def _inputs(workspace: Workspace, config: ClientConfig, store: Store, state: CollectionsState,
            day: dt.date) -> PlanInputs:
    # The customers' lateness (for their segments) is the heaviest read: it runs on a second core meanwhile.
    start, end = window(day)
    lateness = store.alongside(lambda other: inputs.lateness(other, start, end))
    items = inputs.open_items(store, day)
    rates = inputs.latest_rates(store, day)
    # Only customers who owe something can be chased: the others need no segment and no context.
    owing = {item.customer_id for item in items}
    known = inputs.customers(store, only=owing)
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for credit in inputs.credit_items(store, day):
        rate = credit.exchange_rate if credit.currency == config.home_currency or credit.exchange_rate \
            else rates.get(credit.currency)
        credits[credit.customer_id] += to_home(credit.amount, rate, config.home_currency)
    make = Execution._make
    executions = {i: [make(run) for run in runs] for i, runs in state.executions(day).items()}
    policies = CustomerPolicies(workspace, config)
    plans = plan_states(store, state, day, items, policies)
    disputes = state.open_disputes(day)
    segment_of = customer_segment_names(store, config, day, items, known, lateness,  # (last: lateness is ready)
                                        disputes.keys())
    customers = {}
    for key, info in known.items():
        own = config.customers.get(key)
        customers[key] = CustomerContext(
            key, info.name, (own.timezone if own and own.timezone else None) or info.timezone or config.timezone,
            segment_of.get(key, "new"), policies(key),
            exclude=bool(own and own.exclude), pause_until=own.pause_until if own else None)
    return PlanInputs(
        client=config.key, as_of=day, home=config.home_currency, items=items, customers=customers,
        executions=executions, contacts=state.contacts(day - CONTACTS_REACH, day), credits=credits, disputes=disputes,
        promises=state.promises(day), plans=plans, rates=rates)


# How far back a contact can share 7 days with an action of the day: a week, and the day the customer's time
# zone puts the day's UTC send time in (`engine.schedule`: windows that hold the action).
CONTACTS_REACH = dt.timedelta(days=8)


def config_warnings(config: ClientConfig, store: Store) -> list[str]:
    """(Shown by `plan` and `clients`.)  Per-customer settings that can have no effect: an excluded or paused customer whose id is mistyped
    would be chased as if nothing were set."""
    if not store.last_run():  # (nothing synced yet: every id would look unknown)
        return []
    return [f"{config.file}: [customers.\"{key}\"] names no customer in the ledger; its settings have no effect"
            for key in inputs.missing_customers(store, config.customers)]


def first_plan_warnings(config: ClientConfig, result: Plan) -> list[str]:
    """(Shown by a plan while nothing has been recorded as executed.)  Catch-up sends each invoice straight to
    the step its age calls for: on a ledger chased for the first time, customers never reminded by the product
    would get a final demand or an agency referral first.  Say how many, before anyone approves them."""
    sharp = {a.customer_id for a in result.actions if a.kind in ("final_demand", "agency")
             and result.customers[a.customer_id].policy.escalation == "catch_up"}
    if not sharp:
        return []
    return [f"nothing has been recorded as executed for '{config.key}' yet: in this first plan {len(sharp):,} "
            "customer(s) get a final demand or an agency referral as their first step (catch-up goes straight to "
            "the step an invoice's age calls for); review them before approving, or set escalation = "
            "\"one_step_per_run\" in the policy to start every invoice at its first step"]


STALE_AFTER = dt.timedelta(hours=24)


def staleness_warnings(config: ClientConfig, store: Store, now: dt.datetime) -> list[str]:
    """(Shown by a plan for today or later.)  A plan is only as current as the store's last successful sync:
    a customer who paid since then is still chased.  Say so when that sync is more than a day old, or when
    a later one failed (an expired token, a bad csv row), which a scheduled job's log may not show anyone."""
    done, latest = store.last_run(), store.last_run(outcome=None)
    if done is None or latest is None:
        return []
    ended = dt.datetime.fromisoformat(str(done["ended_at"] or done["started_at"]))
    since = f"this plan is from the sync that ended {ended:%Y-%m-%d %H:%M} UTC: payments since then are not in it"
    if latest["id"] != done["id"] and latest["outcome"] not in ("succeeded", "running"):
        lines = str(latest["error"] or "no error given").splitlines()  # (its first problem, if it lists them)
        error = " ".join(line.strip() for line in lines[:2])
        return [f"the latest sync of '{config.key}' {latest['outcome']} ({error}); {since}"]
    if now - ended > STALE_AFTER:
        return [f"'{config.key}' was last synced {(now - ended).days} day(s) ago; {since}; run "
                f"`connector sync {config.key}`"]
    return []


def dispute(workspace: Workspace, client: str, invoice: str, *, open_reason: str | None = None,
            resolve_note: str | None = None, as_of: dt.date | None = None) -> str:
    """Open or resolve a dispute on an invoice, named by its id or its number, on `as_of` (the day the
    customer raised it or it was settled; default today): plans and reports as of that day on see it."""
    config = workspace.load_client(client)
    day = _not_after_today(config, as_of, "the day a dispute was raised or resolved")
    with open_store(workspace, config) as store:
        state = CollectionsState(store)
        invoice_id = state.invoice_id(invoice)
        named = _named(invoice, invoice_id)
        if open_reason is not None:
            state.open_dispute(invoice_id, open_reason, day, named=named)
            settled = state.owes_nothing(invoice_id)  # (a paid invoice can be disputed: kept for the record)
            return (f"dispute opened on invoice {named}{_on(day, as_of)}: {open_reason}"
                    + (f" (the invoice is {settled}: it owes nothing now)" if settled else ""))
        state.resolve_dispute(invoice_id, resolve_note or "", day, named=named)
        return f"dispute on invoice {named} resolved{_on(day, as_of)}: {resolve_note}"


def promise(workspace: Workspace, client: str, invoice: str, promised: dt.date, *,
            as_of: dt.date | None = None) -> str:
    """Record a promise, made on `as_of` (default today), to pay an invoice (named by its id or its number) by
    a date.

    A promised date before the day it was made is refused: a promise holds the invoice only until its date,
    so it would hold nothing, and it would replace the invoice's current promise (the latest one counts)."""
    config = workspace.load_client(client)
    made = _not_after_today(config, as_of, "the day a promise was made")
    if promised < made:
        raise UsageError(f"the promised date {promised} is before {made}, the day the promise is recorded as "
                         "made; a promise holds an invoice until its date")
    with open_store(workspace, config) as store:
        state = CollectionsState(store)
        invoice_id = state.invoice_id(invoice)
        settled = state.owes_nothing(invoice_id)
        if settled:
            raise UsageError(f"invoice {_named(invoice, invoice_id)} is {settled}: it owes nothing, so a promise "
                             "to pay it would hold nothing")
        state.promise(invoice_id, promised, made)
    # (the days it holds the invoice, said outright: a mistyped year, 2062 for 2026, reads as 13,000 days)
    held = (promised - made).days + 1
    return (f"promise to pay invoice {_named(invoice, invoice_id)} by {promised} recorded: the invoice is held "
            f"out of the plan {'for ' + format(held, ',') + ' day(s), ' if held > 1 else ''}through {promised}")


def _not_after_today(config: ClientConfig, day: dt.date | None, what: str) -> dt.date:
    """The day a person says a dispute, promise or plan took effect (default today), refused when it is yet
    to come: a plan for today would not hold the invoice, which reads as if the change were lost."""
    today = today_for(config)
    if day is not None and day > today:
        raise UsageError(f"--as-of {day} is after today ({today} in {config.timezone}): {what} must be a day "
                         "that has come (record it on the day, or give an earlier one)")
    return day or today


def _on(day: dt.date, given: dt.date | None) -> str:
    return "" if given is None else f" on {day}"


def _named(reference: str, key: str) -> str:
    return reference if reference == key else f"{reference} (id {key})"


class CustomerPlans(NamedTuple):
    """A customer's payment plans, with the numbers of the invoices they cover (by id) and what to warn of."""

    customer_id: str
    plans: list[PlanState]
    numbers: dict[str, str]
    warnings: list[str]


def payment_plan(workspace: Workspace, client: str, customer: str, *,
                 installments: list[tuple[dt.date, Decimal]] | None = None, invoices: list[str] | None = None,
                 cancel: int | None = None, as_of: dt.date | None = None) -> CustomerPlans:
    """Create (with `installments`), cancel (`cancel`) or show a customer's payment plans; the customer is named
    by its id or its exact name, the invoices by their ids or numbers.

    A new plan whose installments do not add up to what its invoices owe is kept (a settlement for less may
    be meant) with a warning: it completes once its installments are paid, and the chase of what is left
    starts again."""
    config = workspace.load_client(client)
    changing = bool(installments) or cancel is not None
    day = _not_after_today(config, as_of, "the day a plan is agreed or cancelled") if changing \
        else as_of or today_for(config)
    with open_store(workspace, config) as store:
        state = CollectionsState(store)
        customer_id = state.customer_id(customer)
        policies = CustomerPolicies(workspace, config)
        items = inputs.open_items(store, day, customer_id)
        created = None
        if cancel is not None:
            state.check_cancellable(cancel, day, customer_id)
        if installments:
            chosen = [state.invoice_id(i) for i in invoices or ()]
            _refuse_overlap(state, plan_states(store, state, day, items, policies, customer_id),
                            chosen or [i.invoice_id for i in items], cancel)
            created = state.create_plan(customer_id, installments, chosen, start=day)
        if cancel is not None:
            state.cancel_plan(cancel, day, customer_id=customer_id)
        plans = plan_states(store, state, day, items, policies, customer_id)
        warnings = [_short_or_over(s, items) for s in plans if s.plan.plan_id == created]
        return CustomerPlans(customer_id, plans, state.invoice_numbers(i for p in plans for i in p.plan.invoice_ids),
                             [w for w in warnings if w])


def _refuse_overlap(state: CollectionsState, plans: list[PlanState], chosen: list[str], cancelling: int | None) -> None:
    """Refuse a new plan over invoices an active plan already covers (unless that plan is cancelled in the same
    command): a payment would count toward both, and each would be judged kept or missed on the same money.
    A plan breached or completed no longer holds its invoices, so a new one may take them over."""
    for other in plans:
        taken = set(other.plan.invoice_ids) & set(chosen)
        if other.status == "active" and other.plan.plan_id != cancelling and taken:
            numbers = state.invoice_numbers(taken)
            named = ", ".join(_named(numbers[k], k) for k in sorted(taken))
            raise UsageError(f"invoice(s) {named} are already in payment plan "
                             f"#{other.plan.plan_id}, which is active: to replace it, cancel it in the same command "
                             f"(--cancel {other.plan.plan_id}), or leave those invoices out (--invoice)")


def _short_or_over(state: PlanState, items: list[inputs.OpenItem]) -> str | None:
    covered = set(state.plan.invoice_ids)
    owed = sum((i.balance for i in items if i.invoice_id in covered), from_minor(0, state.plan.currency))
    total = sum((amount for _, amount in state.plan.installments), from_minor(0, state.plan.currency))
    if total == owed:
        return None
    currency = state.plan.currency
    ends = ("once the installments are paid, and the chase of what is left starts again" if total < owed
            else "once its invoices are paid, and it is breached if an installment is not met by then")
    return (f"plan #{state.plan.plan_id}'s installments add up to {currency} {total:,} and its invoices owe "
            f"{currency} {owed:,}: it completes {ends}")


def log(workspace: Workspace, client: str, *, start: dt.date | None = None, end: dt.date | None = None,
        customer: str | None = None) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The audit trail: the executed actions, and every change to the client's disputes, promises and payment
    plans with who made it; each oldest first.  From `start` through `end` and of one customer (by its id, or
    its exact name), when given: a client chased daily for a year has a million actions in its trail."""
    if start and end and start > end:
        raise UsageError(f"--from {start} is after --to {end}")
    config = workspace.load_client(client)
    with open_store(workspace, config) as store:
        state = CollectionsState(store)
        if customer is not None and not list(store.rows("SELECT 1 FROM customers WHERE id = ?", (customer,))):
            customer = state.customer_id(customer)  # (by its exact name, as `payment-plan` takes it)
        return state.log(start, end, customer), state.arrangements(start, end, customer)
