"""Collections state the product keeps itself: disputes, promises, payment plans, executed actions.

Every change records who made it and when; nothing is deleted (a dispute is resolved, a plan cancelled).
Writes go through `Store.transaction()` like every other write to the store.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal

from connector.engine.arrangements import OpenDispute
from connector.errors import UsageError
from connector.money import MoneyError, from_minor, to_minor
from connector.sync.schema import CONTACTS
from connector.sync.store import Store, utc_now


def _stamp() -> str:
    """When a person changed a dispute, promise or plan: to the microsecond, so that the audit trail keeps
    the order of changes made within one second (a script's, say)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def who() -> str:
    """The person (or job) making a change, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class CollectionsState:
    """Reads and writes of the collections state of one client's store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    def invoice_id(self, reference: str) -> str:
        """The id of the invoice a person names by its id or by the number printed on it.

        Hosts' ids mean little to people (QuickBooks numbers its records, Xero uses GUIDs), so the invoice
        number is accepted too, when exactly one live invoice carries it; an id always wins.
        """
        return self._id_of("invoices", "number", reference, ("invoice", "number"))

    def customer_id(self, reference: str) -> str:
        """The id of the customer a person names by its id or by its exact name (when no other has it)."""
        return self._id_of("customers", "name", reference, ("customer", "name"))

    def invoice_numbers(self, invoice_ids: Iterable[str]) -> dict[str, str]:
        """The number printed on each of these invoices, as people know them (its id when it has none, or
        is no longer in the store)."""
        keys = sorted(set(invoice_ids))
        found = dict(self.conn.execute(f"SELECT id, number FROM invoices WHERE number IS NOT NULL AND id IN "
                                       f"({', '.join('?' * len(keys))})", keys)) if keys else {}
        return {key: found.get(key, key) for key in keys}

    def _id_of(self, table: str, column: str, reference: str, words: tuple[str, str]) -> str:
        if self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ? AND deleted_at IS NULL", (reference,)).fetchone():
            return reference
        found = [key for key, in self.conn.execute(
            f"SELECT id FROM {table} WHERE {column} = ? AND deleted_at IS NULL ORDER BY id", (reference,))]
        noun, by = words
        if len(found) > 1:
            raise UsageError(f"the {noun} {by} '{reference}' is on {len(found)} {table} (ids {', '.join(found)}): "
                             "name one by its id")
        if not found:
            raise UsageError(f"no {noun} with the id or {by} '{reference}' in the store (sync first, or check it)")
        return found[0]

    def owes_nothing(self, invoice_id: str) -> str | None:
        """Why an invoice owes nothing now ("void", "paid"), or None while it has a balance."""
        row = self.conn.execute("SELECT status, balance FROM invoices WHERE id = ? AND deleted_at IS NULL",
                                (invoice_id,)).fetchone()
        if row is None:
            return None
        return "void" if row[0] == "void" else "paid" if row[1] == 0 else None

    def _invoice(self, invoice_id: str) -> tuple[str, str]:
        row = self.conn.execute("SELECT customer_id, currency FROM invoices WHERE id = ? AND deleted_at IS NULL",
                                (invoice_id,)).fetchone()
        if row is None:
            raise UsageError(f"no invoice '{invoice_id}' in the store (sync first, or check the id)")
        return row

    # -- disputes ---------------------------------------------------------------------------------

    def open_dispute(self, invoice_id: str, reason: str, on: dt.date, by: str | None = None,
                     named: str | None = None) -> int:
        """Open a dispute taking effect on `on` (the client's day it was raised): plans and reports as of that
        day on hold the invoice.  `named`: the invoice as errors name it (default its id)."""
        self._invoice(invoice_id)
        invoice = named or f"'{invoice_id}'"
        opened, resolved = self._dispute_days(invoice_id)
        if opened is not None:
            raise UsageError(f"invoice {invoice} already has an open dispute; resolve it first")
        if resolved is not None and on < resolved:
            raise UsageError(f"invoice {invoice} had a dispute until {resolved}: a new one opens on that day or later")
        with self.store.transaction() as conn:
            cursor = conn.execute("INSERT INTO disputes (invoice_id, reason, opened_at, opened_by, opened_on) "
                                  "VALUES (?, ?, ?, ?, ?)", (invoice_id, reason, _stamp(), by or who(), on.isoformat()))
            return int(cursor.lastrowid or 0)

    def resolve_dispute(self, invoice_id: str, note: str, on: dt.date, by: str | None = None,
                        named: str | None = None) -> None:
        """Resolve the open dispute on `on`: the invoice is chased again from that day.  `named`: as in
        `open_dispute`."""
        invoice = named or f"'{invoice_id}'"
        opened, _ = self._dispute_days(invoice_id)
        if opened is None:
            raise UsageError(f"invoice {invoice} has no open dispute to resolve")
        if on < opened:
            raise UsageError(f"the dispute on invoice {invoice} was opened on {opened}: it cannot be resolved on "
                             f"{on}, before that")
        with self.store.transaction() as conn:
            conn.execute("UPDATE disputes SET resolved_at = ?, resolved_by = ?, resolution = ?, resolved_on = ? "
                         "WHERE invoice_id = ? AND resolved_at IS NULL",
                         (_stamp(), by or who(), note, on.isoformat(), invoice_id))

    def _dispute_days(self, invoice_id: str) -> tuple[dt.date | None, dt.date | None]:
        """The day the invoice's open dispute was raised (None: none is open), and the day its last one was
        resolved (None: never): a dispute's days may not overlap another's."""
        opened, resolved = self.conn.execute(
            "SELECT MAX(iif(resolved_at IS NULL, opened_on, NULL)), MAX(resolved_on) FROM disputes "
            "WHERE invoice_id = ?", (invoice_id,)).fetchone()
        return (None if opened is None else dt.date.fromisoformat(opened),
                None if resolved is None else dt.date.fromisoformat(resolved))

    def open_disputes(self, on: dt.date | None = None) -> dict[str, OpenDispute]:
        """Each invoice's open dispute: now, or on the day `on` (opened by then and resolved after it: a
        dispute resolved on a day no longer holds that day's plan)."""
        if on is None:
            rows = self.conn.execute("SELECT invoice_id, reason, opened_on FROM disputes WHERE resolved_at IS NULL")
        else:
            rows = self.conn.execute("SELECT invoice_id, reason, opened_on FROM disputes WHERE opened_on <= :day "
                                     "AND (resolved_on IS NULL OR resolved_on > :day)", {"day": on.isoformat()})
        return {invoice: OpenDispute(reason, dt.date.fromisoformat(since)) for invoice, reason, since in rows}

    # -- promises ---------------------------------------------------------------------------------

    def promise(self, invoice_id: str, promised: dt.date, made_on: dt.date, by: str | None = None) -> None:
        self._invoice(invoice_id)
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO promises (invoice_id, promised_date, recorded_at, recorded_by, made_on) "
                         "VALUES (?, ?, ?, ?, ?)", (invoice_id, promised.isoformat(), _stamp(), by or who(),
                                                    made_on.isoformat()))

    def promises(self, on: dt.date | None = None) -> dict[str, dt.date]:
        """The latest promise recorded for each invoice (of those made by the day `on`, when given)."""
        made = "" if on is None else "AND q.made_on <= :day"
        rows = self.conn.execute("SELECT invoice_id, promised_date FROM promises p WHERE id = (SELECT MAX(id) FROM "
                                 f"promises q WHERE q.invoice_id = p.invoice_id {made})",
                                 {"day": None if on is None else on.isoformat()})
        return {invoice: dt.date.fromisoformat(promised) for invoice, promised in rows}

    # -- payment plans ----------------------------------------------------------------------------

    def create_plan(self, customer_id: str, installments: Sequence[tuple[dt.date, Decimal]],
                    invoice_ids: Iterable[str] | None, start: dt.date, by: str | None = None) -> int:
        open_ids = [r[0] for r in self.conn.execute(
            "SELECT id FROM invoices WHERE customer_id = ? AND balance > 0 AND deleted_at IS NULL ORDER BY due_date, id",
            (customer_id,))]
        chosen = list(invoice_ids) if invoice_ids else open_ids
        unknown = sorted(set(chosen) - set(open_ids))
        if not chosen or unknown:
            numbers = self.invoice_numbers(unknown)
            named = ", ".join(k if numbers[k] == k else f"{numbers[k]} (id {k})" for k in unknown)
            raise UsageError(f"customer '{customer_id}' has no open invoice(s) {named}".strip())
        currencies = {self._invoice(i)[1] for i in chosen}
        if len(currencies) != 1:
            raise UsageError("a payment plan covers invoices of one currency")
        (currency,) = currencies
        minor = _installments_in_minor_units(installments, currency, start)
        with self.store.transaction() as conn:
            plan_id = int(conn.execute(
                "INSERT INTO payment_plans (customer_id, start_date, currency, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?)", (customer_id, start.isoformat(), currency, _stamp(), by or who())).lastrowid or 0)
            conn.executemany("INSERT INTO plan_installments VALUES (?, ?, ?)",
                             [(plan_id, on.isoformat(), units) for on, units in minor])
            conn.executemany("INSERT INTO plan_invoices VALUES (?, ?)", [(plan_id, i) for i in chosen])
        return plan_id

    def check_cancellable(self, plan_id: int, on: dt.date, customer_id: str | None = None) -> None:
        """Raise `UsageError` unless plan `plan_id` (of `customer_id`, when given: a mistyped number must not
        cancel another customer's plan) can be cancelled on `on`.  Checked before a replacement plan is
        created, so that a cancellation refused does not leave two plans over the same invoices."""
        row = self.conn.execute("SELECT start_date, customer_id FROM payment_plans "
                                "WHERE id = ? AND cancelled_at IS NULL", (plan_id,)).fetchone()
        if row is None:
            raise UsageError(f"no payment plan #{plan_id} to cancel")
        if customer_id is not None and row[1] != customer_id:
            raise UsageError(f"payment plan #{plan_id} is not customer '{customer_id}'s (it is '{row[1]}'s): "
                             "check the plan's number")
        if on.isoformat() < row[0]:
            raise UsageError(f"payment plan #{plan_id} starts on {row[0]}: it cannot be cancelled on {on}, before that")

    def cancel_plan(self, plan_id: int, on: dt.date, by: str | None = None, customer_id: str | None = None) -> None:
        """Cancel a plan on `on`: its invoices are chased again from that day."""
        self.check_cancellable(plan_id, on, customer_id)
        with self.store.transaction() as conn:
            conn.execute("UPDATE payment_plans SET cancelled_at = ?, cancelled_by = ?, cancelled_on = ?, "
                         "status = 'cancelled' WHERE id = ? AND cancelled_at IS NULL",
                         (_stamp(), by or who(), on.isoformat(), plan_id))

    def plans(self, customer_id: str | None = None, on: dt.date | None = None) -> list[dict[str, object]]:
        """The customer's payment plans (or every customer's): all of them, or those agreed by the day `on`,
        each cancelled only if it was by then."""
        where = ["customer_id = :customer"] if customer_id else []
        if on is not None:
            where.append("start_date <= :day")
        plans = []
        for row in self.conn.execute(
                "SELECT id, customer_id, start_date, currency, cancelled_on, status FROM payment_plans "
                f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id",
                {"customer": customer_id, "day": None if on is None else on.isoformat()}).fetchall():
            plan_id, customer, start, currency, cancelled_on, status = row
            cancelled = cancelled_on is not None and (on is None or cancelled_on <= on.isoformat())
            installments = [(dt.date.fromisoformat(on), from_minor(units, currency)) for on, units in self.conn.execute(
                "SELECT due_date, amount FROM plan_installments WHERE plan_id = ? ORDER BY due_date", (plan_id,))]
            invoices = [r[0] for r in self.conn.execute(
                "SELECT invoice_id FROM plan_invoices WHERE plan_id = ? ORDER BY invoice_id", (plan_id,))]
            plans.append({"plan_id": plan_id, "customer_id": customer, "start": dt.date.fromisoformat(start),
                          "currency": currency, "cancelled": cancelled, "status": status,
                          "installments": installments, "invoice_ids": invoices})
        return plans

    def set_plan_status(self, plan_id: int, status: str, on: dt.date) -> None:
        """Record a plan's transition (breached, completed) the first time it is seen; a breach stays on
        record when the plan completes later."""
        day = {"breached": "breached_on", "completed": "completed_on"}[status]
        with self.store.transaction() as conn:
            conn.execute(f"UPDATE payment_plans SET status = :status, status_changed_on = :day, "
                         f"{day} = COALESCE({day}, :day) WHERE id = :id AND status <> :status",
                         {"status": status, "day": on.isoformat(), "id": plan_id})

    # -- executed actions -------------------------------------------------------------------------

    def record_actions(self, actions: Iterable[object], on: dt.date, source: str, by: str | None = None) -> int:
        """Record actions as executed on `on`; an action already recorded (same key) is not recorded twice."""
        recorded = 0
        with self.store.transaction() as conn:
            for a in actions:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO actions (key, customer_id, step, kind, channel, repeat, executed_on, "
                    "due_at, recorded_at, recorded_by, source, offset_days) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (a.key, a.customer_id, a.step, a.kind, a.channel, a.repeat, on.isoformat(),  # type: ignore[attr-defined]
                     a.due_at.isoformat(), utc_now(), by or who(), source, a.offset_days))  # type: ignore[attr-defined]
                if cursor.rowcount:
                    recorded += 1
                    conn.executemany("INSERT OR IGNORE INTO action_invoices VALUES (?, ?)",
                                     [(a.key, i) for i in a.invoice_ids])  # type: ignore[attr-defined]
        return recorded

    def last_executed_on(self) -> dt.date | None:
        """The latest day any action was recorded as executed on."""
        (on,) = self.conn.execute("SELECT MAX(executed_on) FROM actions").fetchone()
        return dt.date.fromisoformat(on) if on else None

    # (the trail is read whole while it links at most this many steps per open invoice; a test sets 0)
    whole_trail_up_to = 2

    def executions(self, through: dt.date) -> dict[str, list[tuple[str, dt.date, int | None]]]:
        """(step, date, the step's offset then: None if recorded before schema 11) executed by `through` on
        the invoices, oldest first: on each invoice that may have been open on that day, and on others too
        while the trail is short.

        A plan needs the steps of the invoices open on its day only.  The steps run on invoices paid since
        grow by thousands a day for as long as a client is chased, so once the trail holds more steps than
        twice the open invoices, they are read invoice by invoice from the open ones (open now, or settled
        after the day: `paid_on`), through the partial indexes.  Before that, reading the whole trail in
        order is quicker (0.25 s against 0.38 s for 113,545 steps and as many open invoices).
        """
        (linked,) = self.conn.execute("SELECT MAX(rowid) FROM action_invoices").fetchone()  # (no count: a look-up)
        if linked is None:
            return {}
        (open_now,) = self.conn.execute("SELECT COUNT(*) FROM invoices WHERE balance <> 0 AND deleted_at IS NULL")\
            .fetchone()
        rows = self.conn.execute(_OPEN_EXECUTIONS if linked > self.whole_trail_up_to * open_now else _ALL_EXECUTIONS,
                                 {"day": through.isoformat()})
        result: dict[str, list[tuple[str, dt.date, int | None]]] = {}
        dates: dict[str, dt.date] = {}
        for invoice, step, on, offset in rows:
            day = dates.get(on) or dates.setdefault(on, dt.date.fromisoformat(on))
            result.setdefault(invoice, []).append((step, day, offset))
        return result

    def contacts(self, since: dt.date, through: dt.date) -> dict[str, list[dt.datetime]]:
        """When each customer was contacted from `since` on by the actions executed by `through` (their planned
        instants, including those planned after the day: a plan may defer them).  Those executed later are
        not counted: a plan for an earlier day is the plan of that day, whatever was recorded since."""
        result: dict[str, list[dt.datetime]] = {}
        for customer, due_at in self.conn.execute(
                f"SELECT customer_id, due_at FROM actions WHERE {CONTACTS} AND due_at >= :since "
                "AND executed_on <= :through", {"since": since.isoformat(), "through": through.isoformat()}):
            result.setdefault(customer, []).append(dt.datetime.fromisoformat(due_at))
        return result

    def log(self, start: dt.date | None = None, end: dt.date | None = None,
            customer_id: str | None = None) -> list[dict[str, object]]:
        """The executed actions (executed from `start` through `end`, of one customer, when given), oldest
        first, with the customer's name and the invoices' ids and numbers as lists in id order (an invoice
        without a number, or no longer in the store, shows its id)."""
        # (the chosen actions first, through `actions_executed` or `actions_customer`: grouping them as they
        # come would read the whole trail in key order, 3 s for five days of a year's 1.7 million)
        whose = "AND customer_id = :customer" if customer_id is not None else ""
        rows = list(self.store.db.query(
            "WITH chosen AS MATERIALIZED (SELECT * FROM actions WHERE executed_on >= :start AND executed_on <= :end "
            f"                             {whose}) "
            "SELECT a.*, c.name AS customer_name, json_group_array(json_array(ai.invoice_id, "
            "COALESCE(i.number, ai.invoice_id))) AS invoices FROM chosen a "
            "LEFT JOIN customers c ON c.id = a.customer_id "
            "LEFT JOIN action_invoices ai ON ai.key = a.key LEFT JOIN invoices i ON i.id = ai.invoice_id "
            "GROUP BY a.key ORDER BY a.executed_on, a.recorded_at, a.due_at, c.name, a.customer_id, a.step",
            {"start": str(start or dt.date.min), "end": str(end or dt.date.max), "customer": customer_id}))
        for row in rows:
            invoices = sorted(pair for pair in json.loads(str(row.pop("invoices"))) if pair[0] is not None)
            row["invoice_ids"] = [key for key, _ in invoices]
            row["invoice_numbers"] = [number for _, number in invoices]
        return rows

    def arrangements(self, start: dt.date | None = None, end: dt.date | None = None,
                     customer_id: str | None = None) -> list[dict[str, object]]:
        """Every dispute opened or resolved, promise made and payment plan created, cancelled, breached or
        completed (on a day from `start` through `end`, of one customer, when given), oldest first, with who
        did it and when it was recorded (the audit trail of what holds invoices out of the plan).  `on` is
        the client's day it took effect, as the person gave it; `at`, the instant it was recorded."""
        first, last = str(start or dt.date.min), str(end or dt.date.max)
        rows = [(on, at, by, event, sorted(json.loads(invoices)), detail)
                for on, at, by, event, invoices, detail in self.conn.execute(_ARRANGEMENTS)
                if first <= str(on) <= last]
        wanted = json.dumps(sorted({i for row in rows for i in row[4]}))
        invoices = {key: (number, customer, name) for key, number, customer, name in self.conn.execute(
            "SELECT i.id, COALESCE(i.number, i.id), i.customer_id, c.name FROM invoices i "
            "LEFT JOIN customers c ON c.id = i.customer_id WHERE i.id IN (SELECT value FROM json_each(?))", (wanted,))}
        events = []
        for on, at, by, event, ids, detail in rows:
            _, customer, name = invoices.get(ids[0], (None, None, None)) if ids else (None, None, None)
            if customer_id is not None and customer != customer_id:
                continue
            events.append({"on": on, "at": at, "by": by, "event": event, "customer_id": customer,
                           "customer_name": name, "invoice_ids": ids,
                           "invoice_numbers": [invoices.get(i, (i,))[0] for i in ids], "detail": detail})
        return events


# The steps executed by :day, oldest first: on every invoice, or on those that may have been open on the day,
# looked up from them (CROSS JOIN: SQLite is to start from the open invoices, not the whole trail).
_ALL_EXECUTIONS = """
    SELECT ai.invoice_id, a.step, a.executed_on, a.offset_days FROM action_invoices ai JOIN actions a ON a.key = ai.key
    WHERE a.executed_on <= :day ORDER BY a.executed_on, a.recorded_at"""
_OPEN_EXECUTIONS = """
    SELECT ai.invoice_id, a.step, a.executed_on, a.offset_days
    FROM (SELECT id FROM invoices WHERE balance <> 0 AND deleted_at IS NULL
          UNION ALL SELECT id FROM invoices WHERE paid_on > :day) o
    CROSS JOIN action_invoices ai ON ai.invoice_id = o.id JOIN actions a ON a.key = ai.key
    WHERE a.executed_on <= :day ORDER BY a.executed_on, a.recorded_at"""

# Every change to disputes, promises and payment plans, as events: when, by whom, what, for which invoices.
_ARRANGEMENTS = """
    WITH plans AS (SELECT p.*, (SELECT json_group_array(invoice_id) FROM plan_invoices WHERE plan_id = p.id) AS invoices
                   FROM payment_plans p)
    SELECT opened_on AS on_day, opened_at AS at, opened_by AS by, 'dispute opened' AS event,
           json_array(invoice_id) AS invoices, reason AS detail FROM disputes
    UNION ALL SELECT resolved_on, resolved_at, resolved_by, 'dispute resolved', json_array(invoice_id), resolution
              FROM disputes WHERE resolved_at IS NOT NULL
    UNION ALL SELECT made_on, recorded_at, recorded_by, 'promise to pay', json_array(invoice_id), 'by ' || promised_date
              FROM promises
    UNION ALL SELECT start_date, created_at, created_by, 'payment plan #' || id || ' created', invoices,
                     'starting ' || start_date || ', ' || currency FROM plans
    UNION ALL SELECT cancelled_on, cancelled_at, cancelled_by, 'payment plan #' || id || ' cancelled', invoices, ''
              FROM plans WHERE cancelled_at IS NOT NULL
    UNION ALL SELECT breached_on, breached_on, 'plan --record', 'payment plan #' || id || ' breached', invoices, ''
              FROM plans WHERE breached_on IS NOT NULL
    UNION ALL SELECT completed_on, completed_on, 'plan --record', 'payment plan #' || id || ' completed', invoices, ''
              FROM plans WHERE completed_on IS NOT NULL
    ORDER BY 1, 2"""


def _installments_in_minor_units(installments: Sequence[tuple[dt.date, Decimal]], currency: str,
                                 start: dt.date) -> list[tuple[dt.date, int]]:
    """A plan's installments as stored, refused before anything is stored when a person mistyped one: an
    amount that is not a positive sum of the currency's minor units, a date before the plan starts, or a
    date given twice (which installment is missed would be ambiguous)."""
    if not installments:
        raise UsageError("a payment plan needs at least one installment (DATE=AMOUNT)")
    result = []
    for on, amount in installments:
        if not amount.is_finite() or amount <= 0:
            raise UsageError(f"installment {on}={amount}: the amount must be more than 0")
        try:
            result.append((on, to_minor(amount, currency)))
        except MoneyError as exc:
            raise UsageError(f"installment {on}={amount}: {exc}") from None
        if on < start:
            raise UsageError(f"installment {on}={amount} is dated before the plan starts ({start}); "
                             "pass --as-of to record a plan agreed earlier")
    dates = [on for on, _ in installments]
    if len(set(dates)) != len(dates):
        raise UsageError(f"installments dated {', '.join(sorted({str(d) for d in dates if dates.count(d) > 1}))} "
                         "twice; give one amount a date")
    return sorted(result)
