"""The store's tables, and the registered migrations that create and evolve them.

Amounts are INTEGER minor units of the row's currency (see `connector.money`); dates are ISO text;
instants are ISO-8601 UTC text.  Records are never removed: a record that disappears from the ledger
gets `deleted_at`.  Allocations are the one exception: they belong to their payment or credit note and
are replaced with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from sqlite3 import Connection

# Columns each entity's rows carry, in the order `connector.sync.rows` builds them.  The store's tables
# add `deleted_at` and derived columns (an invoice's balance, a payment's unapplied amount).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "name", "email", "currency", "timezone", "country", "active", "credit_limit",
                  "updated_at", "raw"),
    "invoices": ("id", "customer_id", "number", "issue_date", "due_date", "currency", "total",
                 "exchange_rate", "status", "host_balance", "updated_at", "raw"),
    "payments": ("id", "customer_id", "date", "currency", "amount", "unapplied", "exchange_rate", "kind",
                 "reference", "credit_used", "refunds", "updated_at", "raw"),
    "credit_notes": ("id", "customer_id", "number", "date", "currency", "amount", "unapplied",
                     "exchange_rate", "reason", "refunds", "updated_at", "raw"),
}
ALLOCATION_COLUMNS: tuple[str, ...] = ("source", "source_id", "invoice_id", "date", "amount")

_V1 = """
CREATE TABLE customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, currency TEXT, timezone TEXT, country TEXT,
    active INTEGER NOT NULL, updated_at TEXT, raw TEXT, row_hash TEXT NOT NULL, deleted_at TEXT
);
CREATE TABLE invoices (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, number TEXT, issue_date TEXT NOT NULL,
    due_date TEXT NOT NULL, currency TEXT NOT NULL, total INTEGER NOT NULL, exchange_rate TEXT,
    status TEXT NOT NULL, host_balance INTEGER, updated_at TEXT, raw TEXT, row_hash TEXT NOT NULL,
    deleted_at TEXT, balance INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invoices_customer ON invoices (customer_id);
-- Aging reads only open invoices: this partial index covers that scan.
CREATE INDEX invoices_open ON invoices (customer_id, due_date, currency, exchange_rate, balance, issue_date)
    WHERE balance <> 0 AND deleted_at IS NULL;
CREATE TABLE payments (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, date TEXT NOT NULL, currency TEXT NOT NULL,
    amount INTEGER NOT NULL, unapplied INTEGER NOT NULL, exchange_rate TEXT, kind TEXT NOT NULL,
    reference TEXT, updated_at TEXT, raw TEXT, row_hash TEXT NOT NULL, deleted_at TEXT
);
CREATE INDEX payments_customer ON payments (customer_id);
CREATE TABLE credit_notes (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, number TEXT, date TEXT NOT NULL,
    currency TEXT NOT NULL, amount INTEGER NOT NULL, unapplied INTEGER NOT NULL, exchange_rate TEXT,
    reason TEXT, updated_at TEXT, raw TEXT, row_hash TEXT NOT NULL, deleted_at TEXT
);
CREATE INDEX credit_notes_customer ON credit_notes (customer_id);
CREATE TABLE allocations (
    source TEXT NOT NULL, source_id TEXT NOT NULL, invoice_id TEXT NOT NULL, date TEXT NOT NULL,
    amount INTEGER NOT NULL, PRIMARY KEY (source, source_id, invoice_id)
) WITHOUT ROWID;
CREATE INDEX allocations_invoice ON allocations (invoice_id);
CREATE TABLE cursors (entity TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT, host TEXT NOT NULL,
    mode TEXT NOT NULL, outcome TEXT NOT NULL, new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0, api_calls INTEGER NOT NULL DEFAULT 0, error TEXT, detail TEXT
);
"""


@dataclass(frozen=True)
class Migration:
    """One schema change: applied once, in version order, inside a transaction, and recorded."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _script(sql: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        for statement in filter(str.strip, sql.split(";")):
            conn.execute(statement)
    return run


# Version 2: a customer's credit limit (a decimal string in the home currency).  Existing customers keep
# their row hash, so the next sync reports each of them updated once while it fills the new column in.
_V2 = "ALTER TABLE customers ADD COLUMN credit_limit TEXT"

# Version 3: collections state kept by the product itself, with who and when: disputes, promises to pay,
# payment plans and their installments, and the actions executed (the dunning level of each invoice).
_V3 = """
CREATE TABLE disputes (
    id INTEGER PRIMARY KEY, invoice_id TEXT NOT NULL, reason TEXT NOT NULL, opened_at TEXT NOT NULL,
    opened_by TEXT NOT NULL, resolved_at TEXT, resolved_by TEXT, resolution TEXT
);
CREATE UNIQUE INDEX disputes_open ON disputes (invoice_id) WHERE resolved_at IS NULL;
CREATE TABLE promises (
    id INTEGER PRIMARY KEY, invoice_id TEXT NOT NULL, promised_date TEXT NOT NULL, recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX promises_invoice ON promises (invoice_id);
CREATE TABLE payment_plans (
    id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, start_date TEXT NOT NULL, currency TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT NOT NULL, cancelled_at TEXT, cancelled_by TEXT,
    status TEXT NOT NULL DEFAULT 'active', status_changed_on TEXT
);
CREATE TABLE plan_installments (
    plan_id INTEGER NOT NULL, due_date TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (plan_id, due_date)
);
CREATE TABLE plan_invoices (plan_id INTEGER NOT NULL, invoice_id TEXT NOT NULL, PRIMARY KEY (plan_id, invoice_id));
CREATE TABLE actions (
    key TEXT PRIMARY KEY, customer_id TEXT NOT NULL, step TEXT NOT NULL, kind TEXT NOT NULL,
    channel TEXT NOT NULL, repeat INTEGER NOT NULL, executed_on TEXT NOT NULL, due_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, source TEXT NOT NULL
);
CREATE TABLE action_invoices (key TEXT NOT NULL, invoice_id TEXT NOT NULL, PRIMARY KEY (key, invoice_id));
CREATE INDEX action_invoices_invoice ON action_invoices (invoice_id);
"""

# Version 4: balances as they stood on an earlier date are today's balances with what was applied after
# that date added back (`connector.engine.inputs.OPEN_NOW`).  The first index finds those later
# allocations without reading the others (since version 12 the invoices' balances look them up by invoice;
# the credits' still read them by date); the second, the few payments with cash still unapplied.
_V4 = """
CREATE INDEX allocations_date ON allocations (date, source, source_id, invoice_id, amount);
CREATE INDEX payments_unapplied ON payments (customer_id, date) WHERE unapplied > 0 AND deleted_at IS NULL
"""

# Version 5: the day each invoice was paid in full (the date of its last allocation, when they cover its
# total; NULL while anything is owed, and for void, deleted and zero invoices), kept with its balance by the
# merge, so that the invoices settled in a period (days to pay, lateness, segments) are one index range.
_V5 = """
ALTER TABLE invoices ADD COLUMN paid_on TEXT;
UPDATE invoices SET paid_on = (SELECT MAX(a.date) FROM allocations a WHERE a.invoice_id = invoices.id)
    WHERE balance <= 0 AND total > 0 AND status <> 'void' AND deleted_at IS NULL;
CREATE INDEX invoices_paid ON invoices (paid_on, customer_id, due_date, issue_date, currency, exchange_rate, total, id)
    WHERE paid_on IS NOT NULL
"""

# Version 6: each currency's latest exchange rate (for credits that carry none) without reading every
# invoice: only invoices with a rate are indexed, by currency and date.
_V6 = """
CREATE INDEX invoices_rated ON invoices (currency, issue_date, exchange_rate)
    WHERE exchange_rate IS NOT NULL AND deleted_at IS NULL
"""

# Version 7: no row hash.  The merge recognises an unchanged record by comparing its staged row with the
# stored one column by column, in SQL, and a payment's or credit note's allocations likewise; the hash
# (a digest of each row's repr) was the costliest step per row of a csv load, and only the merge read it.
_V7 = ";".join(f"ALTER TABLE {table} DROP COLUMN row_hash"
               for table in ("customers", "invoices", "payments", "credit_notes"))

# Version 8: the open invoices' partial index also covers their id and number, so reading the open invoices
# (aging, plan, receivables) never visits the table itself (0.23 → 0.18 s for 114,866 open invoices).
_V8 = """
DROP INDEX invoices_open;
CREATE INDEX invoices_open ON invoices (customer_id, due_date, currency, exchange_rate, balance, issue_date, id, number)
    WHERE balance <> 0 AND deleted_at IS NULL
"""

# Version 9: the credit notes' credit a payment uses (`Payment.credit_used`: QuickBooks applies a credit memo
# through a payment record), so that a credit memo's credit on an earlier day is what is left today plus what
# was used after that day.  The index finds those few payments.  What is left today is now the host's own
# figure where it gives one (QuickBooks' `UnappliedAmt`, Xero's `RemainingCredit`).  So a store synced from
# QuickBooks or Xero forgets its cursors: its next sync reads everything again and fills both in, instead of
# keeping credit that was used or refunded.
_V9 = """
ALTER TABLE payments ADD COLUMN credit_used TEXT;
CREATE INDEX payments_credit_used ON payments (date) WHERE credit_used IS NOT NULL;
DELETE FROM cursors WHERE EXISTS (SELECT 1 FROM sync_runs WHERE host IN ('quickbooks', 'xero'))
"""

# Version 10: the dates and amounts of the cash refunded out of a credit (`Payment.refunds`,
# `CreditNote.refunds`: Xero's `Payments[]` on a credit note, overpayment or prepayment), so that a credit on
# an earlier day counts what was refunded after it.  The indexes find those few credits.  A store synced from
# Xero forgets its cursors: its next sync reads everything again and fills the refunds in.
_V10 = """
ALTER TABLE payments ADD COLUMN refunds TEXT;
ALTER TABLE credit_notes ADD COLUMN refunds TEXT;
CREATE INDEX payments_refunds ON payments (customer_id) WHERE refunds IS NOT NULL;
CREATE INDEX credit_notes_refunds ON credit_notes (customer_id) WHERE refunds IS NOT NULL;
DELETE FROM cursors WHERE EXISTS (SELECT 1 FROM sync_runs WHERE host = 'xero')
"""

# Version 11: the offset (days from due) of each executed step, so that a step renamed or removed from the
# policy after it ran still counts for what it was (`engine.policy`); older rows have none, and count as the
# step the invoice's age then reached.
_V11 = "ALTER TABLE actions ADD COLUMN offset_days INTEGER"

# Version 12: indexes for the reports' periods, so that each reads the range it needs instead of every record.
# `invoices_issued`: the invoices issued in a period (sales, DSO), with what a sale needs (0.39 → 0.08 s for
# five months of a million invoices).  `invoices_settled`: the invoices paid in full, by customer, with the
# days each was paid after its due date (`paid_days_late`, kept with `paid_on` by the merge), so that each
# customer's lateness is summed as the index is read, without sorting or date arithmetic (a segment's, a
# plan's and a forecast's heaviest read).  (Each index costs a first load of a million invoices 0.5 – 2 s:
# an index of the payments by date, which saved the metrics 0.08 s, was not worth it.)  `invoices_paid`
# now also covers the balance, the number and the days paid late, so that the invoices settled since an
# earlier day (owed then, not now: `connector.engine.inputs.OPEN_AS_OF`) and those settled in a period (the
# metrics') are read from it rather than looked up one by one.  `allocations_invoice` covers the date and the
# amount, so what was applied to an invoice after a day is one index range (`inputs.OPEN_NOW`).
_V12 = """
DROP INDEX allocations_invoice;
CREATE INDEX allocations_invoice ON allocations (invoice_id, date, amount);
DROP INDEX invoices_paid;
ALTER TABLE invoices ADD COLUMN paid_days_late INTEGER;
UPDATE invoices SET paid_days_late = CAST(julianday(paid_on) - julianday(due_date) AS INTEGER)
    WHERE paid_on IS NOT NULL;
CREATE INDEX invoices_paid ON invoices (paid_on, customer_id, due_date, issue_date, currency, exchange_rate, total, id,
                                       balance, number, paid_days_late)
    WHERE paid_on IS NOT NULL;
CREATE INDEX invoices_issued ON invoices (issue_date, currency, exchange_rate, total, deleted_at, status)
    WHERE deleted_at IS NULL AND status <> 'void';
CREATE INDEX invoices_settled ON invoices (customer_id, paid_on, paid_days_late) WHERE paid_on IS NOT NULL
"""

# The executed actions that contacted the customer (as `engine.plan.CONTACT_KINDS` tells them apart): the
# contacts the plan's cap counts.  The same text in the index and the query, so that SQLite uses the index.
CONTACTS = "kind IN ('reminder', 'statement', 'final_demand', 'call') AND (channel <> 'none' OR kind = 'call')"

# Version 13: executed actions by the day they were planned for and by the day they ran.  A client chased
# daily for a year keeps a million and more; a plan needs only the contacts of the last week or so (the cap),
# and `plan --record` only the latest day one ran (0.4 s and 0.15 s each, read from the whole table).
_V13 = f"""
CREATE INDEX actions_contacts ON actions (due_at, customer_id) WHERE {CONTACTS};
CREATE INDEX actions_executed ON actions (executed_on)
"""

# Version 14: executed actions by customer, for one customer's trail (`connector log --customer`: 1.3 s for a
# year's 1.7 million, read whole).
_V14 = "CREATE INDEX actions_customer ON actions (customer_id, executed_on)"

# Version 15: the day (the client's) each dispute was opened and resolved, each promise made and each payment
# plan cancelled, as the person gave it (`--as-of`, default today), beside the instant it was recorded: a
# report or plan as of an earlier day holds what was disputed, promised or on a plan on that day, not what
# is now.  Rows from before take the UTC day of their instant (the client's own day may differ near midnight).
_V15 = """
ALTER TABLE disputes ADD COLUMN opened_on TEXT;
ALTER TABLE disputes ADD COLUMN resolved_on TEXT;
ALTER TABLE promises ADD COLUMN made_on TEXT;
ALTER TABLE payment_plans ADD COLUMN cancelled_on TEXT;
UPDATE disputes SET opened_on = substr(opened_at, 1, 10), resolved_on = substr(resolved_at, 1, 10);
UPDATE promises SET made_on = substr(recorded_at, 1, 10);
UPDATE payment_plans SET cancelled_on = substr(cancelled_at, 1, 10) WHERE cancelled_at IS NOT NULL
"""

# Version 16: the day a payment plan was first seen breached, and the day it was first seen completed, each
# kept: a plan breached and later paid in full kept only its latest status, so the audit trail lost the breach
# that sent the final demand.
_V16 = """
ALTER TABLE payment_plans ADD COLUMN breached_on TEXT;
ALTER TABLE payment_plans ADD COLUMN completed_on TEXT;
UPDATE payment_plans SET breached_on = status_changed_on WHERE status = 'breached';
UPDATE payment_plans SET completed_on = status_changed_on WHERE status = 'completed'
"""

# Version 17: credit applied to an invoice before it was issued (a prepayment applied to it keeps the
# prepayment's date).  Such an invoice, paid in full so, was paid on its issue date: days to pay 0, settled in
# the period it was issued, never before it existed.  And the credit stayed the customer's until then: each
# invoice keeps the first day credit was applied to it when that is before its issue date (`applied_early`,
# else NULL), and the few that have one are indexed, so that an aging of an earlier day finds what they were
# applied (`connector.engine.inputs.credit_items`) without looking at every invoice issued since.
_V17 = """
UPDATE invoices SET paid_on = issue_date, paid_days_late = CAST(julianday(issue_date) - julianday(due_date) AS INTEGER)
    WHERE paid_on IS NOT NULL AND paid_on < issue_date;
ALTER TABLE invoices ADD COLUMN applied_early TEXT;
UPDATE invoices SET applied_early = e.first FROM (
    SELECT a.invoice_id, MIN(a.date) AS first FROM allocations a JOIN invoices i ON i.id = a.invoice_id
    WHERE a.date < i.issue_date GROUP BY a.invoice_id) e
    WHERE e.invoice_id = invoices.id;
CREATE INDEX invoices_applied_early ON invoices (issue_date, applied_early) WHERE applied_early IS NOT NULL
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical records, cursors and sync runs", _script(_V1)),
    Migration(2, "customer credit limits", _script(_V2)),
    Migration(3, "disputes, promises, payment plans and executed actions", _script(_V3)),
    Migration(4, "indexes for balances as of an earlier date", _script(_V4)),
    Migration(5, "the day each invoice was paid in full", _script(_V5)),
    Migration(6, "an index of invoices' exchange rates", _script(_V6)),
    Migration(7, "no row hash: the merge compares columns", _script(_V7)),
    Migration(8, "open invoices' index covers their id and number", _script(_V8)),
    Migration(9, "the credit notes' credit that payments use; hosts' own credit figures", _script(_V9)),
    Migration(10, "the dates of cash refunded out of credits", _script(_V10)),
    Migration(11, "the offset of each executed step", _script(_V11)),
    Migration(12, "days paid late; indexes of invoices issued and settled", _script(_V12)),
    Migration(13, "indexes of executed actions by due time and by day", _script(_V13)),
    Migration(14, "an index of executed actions by customer", _script(_V14)),
    Migration(15, "the days disputes, promises and plan cancellations took effect", _script(_V15)),
    Migration(16, "the days payment plans were breached and completed, each kept", _script(_V16)),
    Migration(17, "credit applied to an invoice before it was issued: paid on its issue date, held until then",
              _script(_V17)),
)
