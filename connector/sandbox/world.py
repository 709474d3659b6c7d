"""A sandbox company as a host would hold it: the generated records, each with its host id, SyncToken and
creation and change instants, on a company clock.

Hosts differ in ids and formats, not in the books: one `World` serves both emulators.  QuickBooks ids are
small integers per entity; Xero ids are GUIDs derived from the seed, so the same company always has the
same ids.  Instants follow the company's own history (an invoice is created on its issue date, changed
when it is paid) so that incremental queries find realistic changes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from connector.records import CreditNote, Customer, Invoice, InvoiceStatus, Payment
from connector.sandbox.company import CompanySpec, generate

PACIFIC = ZoneInfo("America/Los_Angeles")
ENTITIES = ("customers", "invoices", "payments", "credit_notes")


@dataclass
class HostRecord:
    """One record as the host keeps it."""

    record: Customer | Invoice | Payment | CreditNote
    qbo_id: str
    xero_id: str
    created: dt.datetime
    updated: dt.datetime
    sync_token: int = 0
    deleted: bool = False


@dataclass
class World:
    """The company's records by entity, with the links a host's responses need."""

    spec: CompanySpec
    records: dict[str, dict[str, HostRecord]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    applied: dict[str, list[tuple[str, str, Decimal]]] = field(default_factory=lambda: defaultdict(list))
    _owed: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @classmethod
    def generate(cls, spec: CompanySpec) -> World:
        world = cls(spec)
        counters: dict[str, int] = defaultdict(int)
        for record in generate(spec):
            entity = _entity(record)
            counters[entity] += 1
            created = _instant(_day(record), hour=10)
            world.records[entity][record.id] = HostRecord(
                record, str(counters[entity]), str(uuid.uuid5(uuid.NAMESPACE_URL, f"{spec.seed}/{record.id}")),
                created, created)
            if isinstance(record, (Payment, CreditNote)):
                for allocation in record.allocations:
                    world.applied[allocation.invoice_id].append((entity, record.id, allocation.amount))
                    invoice = world.records["invoices"].get(allocation.invoice_id)
                    if invoice is not None:
                        invoice.updated = max(invoice.updated, created + dt.timedelta(minutes=5))
                        invoice.sync_token += 1
        return world

    def live(self, entity: str) -> list[HostRecord]:
        return [r for r in self.records[entity].values() if not r.deleted]

    def balance(self, invoice: Invoice) -> Decimal:
        if invoice.status is InvoiceStatus.VOID:
            return Decimal(0)
        paid = sum((amount for entity, key, amount in self.applied.get(invoice.id, [])
                    if not self.records[entity][key].deleted), Decimal(0))
        return invoice.total - paid

    def customer_balance(self, customer_id: str) -> Decimal:
        """What a customer owes, from its live invoices (computed once for all customers, then kept)."""
        if not self._owed:
            for host in self.live("invoices"):
                invoice = host.record
                self._owed[invoice.customer_id] += self.balance(invoice)  # type: ignore[union-attr, arg-type]
        return self._owed.get(customer_id, Decimal(0))

    def by_id(self, entity: str, key: str) -> HostRecord | None:
        return self.records[entity].get(key)


def _entity(record: Customer | Invoice | Payment | CreditNote) -> str:
    return {Customer: "customers", Invoice: "invoices", Payment: "payments", CreditNote: "credit_notes"}[type(record)]


def _day(record: Customer | Invoice | Payment | CreditNote) -> dt.date:
    if isinstance(record, Invoice):
        return record.issue_date
    if isinstance(record, (Payment, CreditNote)):
        return record.date
    return dt.date(2024, 1, 2)


def _instant(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), PACIFIC)
