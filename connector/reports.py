"""Library calls behind the read commands: load a client's config and store, run the engine.

Each function here is what the CLI command of the same name calls; scripts can call them directly.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from connector.config import ClientConfig, Workspace
from connector.config.models import Policy
from connector.engine import figures, inputs
from connector.engine.aging import AgingReport, Basis, Buckets, age, age_invoices, disputed_by_customer
from connector.engine.allowance import Allowance
from connector.engine.allowance import allowance as compute_allowance
from connector.engine.arrangements import PaymentPlan, PlanState, plan_state
from connector.engine.forecast import Forecast
from connector.engine.forecast import forecast as expected_cash
from connector.engine.metrics import Metrics, MetricsInputs, Period, compute, countback_settles
from connector.engine.segments import CustomerSegment, segment, segment_names, window
from connector.errors import ConfigError, UsageError
from connector.sync.lock import job_running
from connector.sync.state import CollectionsState
from connector.sync.store import Store


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a report is built (usable as a decorator).

    A report over a million invoices makes hundreds of thousands of small objects (rows, items, Decimals)
    that hold no cycles and are freed by reference counting; the cyclic collector would still walk every
    live one again each time enough new ones accumulate, about a second of a 5 s plan at that size.  It is
    switched back on as it was when the report is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def today_for(config: ClientConfig) -> dt.date:
    """Today in the client's own time zone: the default as-of date of every report."""
    return dt.datetime.now(ZoneInfo(config.timezone)).date()


def open_store(workspace: Workspace, config: ClientConfig) -> Store:
    """The client's store, once a sync has filled it: before that, every report would read as if nobody owed
    anything (a first sync that failed leaves an empty store behind)."""
    path = workspace.data_dir / config.key / "store.sqlite"
    if not path.exists():
        raise UsageError(f"client '{config.key}' has not been synced yet: run `connector sync {config.key}`")
    store = Store(path)
    if store.last_run() is None:
        latest = store.last_run(outcome=None)
        store.close()
        running = latest is not None and latest["outcome"] == "running"
        if running and job_running(path.parent):
            raise UsageError(f"client '{config.key}' has no successful sync yet (its first sync is still running): "
                             "try again when it ends")
        outcome = ("its last sync stopped before it finished" if running
                   else f"its last sync {latest['outcome']}" if latest else "no sync has finished")
        raise UsageError(f"client '{config.key}' has no successful sync yet ({outcome}): run "
                         f"`connector sync {config.key}`")
    return store


def first_issued(workspace: Workspace, config: ClientConfig) -> dt.date | None:
    """The issue date of the client's first invoice, void ones aside (None before any): a report of a day
    before it is empty by construction, which the CLI says rather than leave an empty aging to be read as
    "nobody owed"."""
    with open_store(workspace, config) as store:
        rows = list(store.rows("SELECT issue_date FROM invoices WHERE deleted_at IS NULL AND status <> 'void' "
                               "ORDER BY issue_date LIMIT 1"))  # (`invoices_issued`'s own condition: read from it)
    return dt.date.fromisoformat(rows[0][0]) if rows else None


@collector_paused()
def aging(workspace: Workspace, client: str, *, as_of: dt.date | None = None,
          by: Literal["customer", "invoice"] = "customer", basis: Basis | None = None) -> AgingReport:
    """The client's receivables aging as of a date (default: today in the client's time zone)."""
    config = workspace.load_client(client)
    day = as_of or today_for(config)
    buckets = Buckets(edges=tuple(config.aging.edges), basis=basis or config.aging.basis)
    with open_store(workspace, config) as store:
        def read() -> AgingReport:
            home, rates = config.home_currency, inputs.latest_rates(store, day)
            credits, names = inputs.credit_items(store, day), inputs.customer_names(store)
            disputes = CollectionsState(store).open_disputes(day)
            if by == "invoice":
                return age_invoices(inputs.open_items(store, day), credits, names, as_of=day, home=home,
                                    buckets=buckets, fallback_rates=rates, disputes=disputes)
            balances = inputs.aged_balances(store, day, buckets.anchor, buckets.limits, home)
            disputed = disputed_by_customer(inputs.open_items(store, day, invoice_ids=disputes), home, rates) \
                if disputes else {}
            return age(balances, credits, names, as_of=day, home=home, buckets=buckets, fallback_rates=rates,
                       disputed=disputed)

        try:
            return store.consistent(read)
        except ValueError as exc:
            raise UsageError(f"cannot age client '{client}': {exc}") from None


@collector_paused()
def metrics(workspace: Workspace, client: str, *, as_of: dt.date | None = None, start: dt.date | None = None,
            end: dt.date | None = None) -> tuple[dt.date, Metrics]:
    """Collection metrics for a period: `start`..`end`, by default the 90 days ending on the as-of date."""
    config = workspace.load_client(client)
    if as_of and end and as_of != end:
        raise UsageError("give --as-of or --to, not both: the metrics are measured as of the period's end")
    end = end or as_of or today_for(config)
    period = Period(start, end) if start else Period.ending(end)
    if period.start > period.end:
        raise UsageError(f"--from {period.start} is after --to {period.end}")
    with open_store(workspace, config) as store:
        data = store.consistent(lambda: _metrics_inputs(store, config, period))
    try:
        return end, compute(data)
    except ValueError as exc:
        raise UsageError(f"cannot compute metrics for client '{client}': {exc}") from None


def _metrics_inputs(store: Store, config: ClientConfig, period: Period) -> MetricsInputs:
    """Everything the metrics of `period` need, summed from the store."""
    home, rates = config.home_currency, inputs.latest_rates(store, period.end)
    # The two heaviest sums (opening receivables are rebuilt from later allocations) run on a second
    # core while this connection sums the rest: about half the time on a big ledger.
    heavy = store.alongside(lambda other: (
        figures.receivables(other, period.start - dt.timedelta(days=1), home)[0],
        figures.settled(other, period.start, period.end, home)))
    closing, current = figures.receivables(store, period.end, home)
    # Monthly sales for the countback: the last few months, read with the period's sales, are usually enough.
    recent_start = (period.end.replace(day=1) - dt.timedelta(days=80)).replace(day=1)
    sales, recent = figures.sales_and_months(store, period.start, period.end, home, since=recent_start)
    history = _sales_history(store, period.end, closing, home, rates, recent)
    receipts = figures.received(store, period.start, period.end, home)
    write_offs = figures.received(store, period.start, period.end, home, write_offs=True)
    opening, settled = heavy.result()
    return MetricsInputs(
        period=period, home=home, opening=opening, closing=closing, closing_current=current, sales=sales,
        history=history, settled=settled, receipts=receipts, write_offs=write_offs, rates=rates,
        cei_sales=config.metrics.cei_sales)


def _sales_history(store: Store, end: dt.date, closing: figures.Amounts, home: str, rates: dict[str, Decimal],
                   recent: list[inputs.Sale]) -> list[inputs.Sale]:
    """Monthly sales back far enough for the countback DSO: the `recent` months when receivables run out
    within them (the usual case), else the three years before `end`."""
    try:
        if countback_settles(closing.home(home, rates), recent, end, home, rates):
            return recent
    except ValueError:
        pass  # a currency without a rate: `compute` says so, with the full history in hand
    return [sale for _, sale in inputs.monthly_sales(store, end.replace(year=end.year - 3, day=1), end)]


def allowance(workspace: Workspace, client: str, *, as_of: dt.date | None = None) -> Allowance:
    """The aging-method allowance for doubtful accounts, from the client's `[allowance]` rates."""
    config = workspace.load_client(client)
    report = aging(workspace, client, as_of=as_of)
    try:
        return compute_allowance(report, config.allowance.rates, config.allowance.rounding)
    except ValueError as exc:
        raise ConfigError(str(config.file), "allowance.rates", str(exc)) from None


@collector_paused()
def segments(workspace: Workspace, client: str, *, as_of: dt.date | None = None) -> tuple[dt.date, list[CustomerSegment]]:
    """Each customer's payment-behaviour segment and risk score, with the figures behind them."""
    config = workspace.load_client(client)
    day = as_of or today_for(config)
    with open_store(workspace, config) as store:
        return day, store.consistent(lambda: customer_segments(store, config, day))


def customer_segments(store: Store, config: ClientConfig, day: dt.date) -> list[CustomerSegment]:
    """Every live customer's segment as of `day`, with its figures, risk and reasons."""
    start, end = window(day)
    lateness = store.alongside(lambda other: inputs.lateness(other, start, end))  # the heaviest read: on a second core
    limits = {key: c.credit_limit for key, c in config.customers.items() if c.credit_limit is not None}
    customers, items = inputs.customers(store), inputs.open_items(store, day)
    return segment(customers, lateness.result(), items, inputs.write_offs(store, start, end), as_of=day,
                   home=config.home_currency, rates=inputs.latest_rates(store, day), thresholds=config.segments,
                   credit_limits=limits, disputed=CollectionsState(store).open_disputes(day).keys())


def customer_segment_names(store: Store, config: ClientConfig, day: dt.date, items: list[inputs.OpenItem],
                           customers: Iterable[str],
                           lateness: Future[dict[str, inputs.Lateness]] | None = None,
                           disputed: Collection[str] | None = None) -> dict[str, str]:
    """The segment name of each of `customers` as of `day`, as `customer_segments` names it.

    `lateness`: the customers' lateness, when the caller started reading it alongside (`Store.alongside`);
    `disputed`: the invoices with an open dispute, when the caller has read them.
    """
    start, end = window(day)
    late = inputs.lateness(store, start, end) if lateness is None else lateness.result()
    if disputed is None:
        disputed = CollectionsState(store).open_disputes(day).keys()
    return segment_names(customers, late, items, inputs.write_offs(store, start, end), as_of=day,
                         thresholds=config.segments, disputed=disputed)


@collector_paused()
def forecast(workspace: Workspace, client: str, *, as_of: dt.date | None = None, weeks: int = 13) -> Forecast:
    """Expected cash by week for `weeks` weeks from the as-of date: payment plans' installments and promises
    to pay first, then each customer's own payment history."""
    config = workspace.load_client(client)
    day = as_of or today_for(config)
    with open_store(workspace, config) as store:
        def read() -> Forecast:
            start, end = window(day)
            lateness = store.alongside(lambda other: inputs.lateness(other, start, end, signed=True))
            items, rates = inputs.open_items(store, day), inputs.latest_rates(store, day)
            state = CollectionsState(store)
            disputed = state.open_disputes(day).keys()
            names = customer_segment_names(store, config, day, items, inputs.customers(store), lateness, disputed)
            return expected_cash(items, lateness.result(), names, as_of=day, home=config.home_currency, rates=rates,
                                 weeks=weeks, promises=state.promises(day), disputes=disputed,
                                 plans=plan_states(store, state, day, items, CustomerPolicies(workspace, config)))

        return store.consistent(read)


class CustomerPolicies:
    """Each customer's dunning policy: its own (`[customers."ID"] policy`) or else the client's, each file
    loaded once."""

    def __init__(self, workspace: Workspace, config: ClientConfig) -> None:
        self.workspace, self.config = workspace, config
        self._loaded: dict[str, Policy] = {}

    def __call__(self, customer_id: str) -> Policy:
        own = self.config.customers.get(customer_id)
        name = own.policy if own and own.policy else self.config.policy
        if name not in self._loaded:
            self._loaded[name] = self.workspace.load_policy(name)
        return self._loaded[name]


def plan_states(store: Store, state: CollectionsState, day: dt.date, items: list[inputs.OpenItem],
                policies: Callable[[str], Policy], customer_id: str | None = None) -> list[PlanState]:
    """The payment plans (of one customer, or all), each matched against the payments and `items` (the open
    invoices) of `day`, with the grace its customer's policy gives an installment (`policies`)."""
    rows = state.plans(customer_id, day)
    if not rows:
        return []
    open_ids = {item.invoice_id for item in items}
    payments = inputs.plan_payments(store, day, {str(r["customer_id"]) for r in rows})
    result = []
    for row in rows:
        plan_record = PaymentPlan(row["plan_id"], row["customer_id"], tuple(row["invoice_ids"]), row["start"],  # type: ignore[arg-type]
                                  row["currency"], tuple(row["installments"]), row["cancelled"])  # type: ignore[arg-type]
        # what a payment paid on the plan's invoices and what it left on account count; what it paid on the
        # customer's other invoices (new sales paid as they fall due) does not
        paid = [(r.date, r.toward(plan_record.invoice_ids))
                for r in payments.get(plan_record.customer_id, []) if r.currency == plan_record.currency]
        result.append(plan_state(plan_record, [(on, amount) for on, amount in paid if amount], open_ids, day,
                                 policies(plan_record.customer_id).plan_grace_days))
    return result

