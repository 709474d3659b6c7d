"""A sandbox company as a host would hold it: the generated records, each with its host id, SyncToken and
creation and change instants, on a company clock.

Hosts differ in ids and formats, not in the books: one `World` serves both emulators.  QuickBooks ids are
small integers per entity; Xero ids are GUIDs derived from the seed, so the same company always has the
same ids.  Instants follow the company's own history (an invoice is created on its issue date, changed
when it is paid) so that incremental queries find realistic changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from connector.records import CreditNote, Customer, Invoice, InvoiceStatus, Payment, PaymentKind
from connector.sandbox import wire
from connector.sandbox.company import CompanySpec, generate

PACIFIC = ZoneInfo("America/Los_Angeles")
ENTITIES = ("customers", "invoices", "payments", "credit_notes")
# Xero-only records: suppliers and their bills (ACCPAY), so that a client must pick out what is receivable.
SUPPLY_SIDE = ("suppliers", "bills")
_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def guid(name: str) -> str:
    """`str(uuid.uuid5(uuid.NAMESPACE_URL, name))`, four times as fast: every Xero record and link has one,
    derived rather than stored, so rendering a big company computes millions."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode()).digest()[:16])  # noqa: S324 - as RFC 4122 says
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# One item of a list answer: its fields (to filter and order by) and its JSON as it goes on the wire.
Listed = tuple[dict[str, Any], orjson.Fragment]


@dataclass(slots=True)
class HostRecord:
    """One record as the host keeps it."""

    record: Customer | Invoice | Payment | CreditNote
    qbo_id: str
    seed: int
    created: dt.datetime
    updated: dt.datetime
    sync_token: int = 0
    deleted: bool = False
    extras: dict[str, Any] | None = None  # host-only fields written by clients (notes, memo)

    @property
    def xero_id(self) -> str:
        """Xero's GUID for the record, derived from the seed and our id (not stored: a big company is big)."""
        return guid(f"{self.seed}/{self.record.id}")

    def set_extra(self, name: str, value: Any) -> None:
        if self.extras is None:
            self.extras = {}
        self.extras[name] = value


@dataclass
class World:
    """The company's records by entity, with the links a host's responses need."""

    spec: CompanySpec
    records: dict[str, dict[str, HostRecord]] = field(
        default_factory=lambda: {e: {} for e in (*ENTITIES, *SUPPLY_SIDE)})
    applied: dict[str, list[tuple[str, str, Decimal]]] = field(default_factory=lambda: defaultdict(list))
    _owed: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    parts: dict[tuple[str, str], Any] = field(default_factory=dict)
    now: dt.datetime = dt.datetime(2026, 6, 30, 17, tzinfo=PACIFIC)
    numbers: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    writes: list[dict[str, Any]] = field(default_factory=list)  # every write a client made, for the control API
    version: int = 0  # bumped on every change; answers rendered at one version are reused until the next
    rendered: dict[tuple[str, str, str], tuple[int, tuple[bytes, ...]]] = field(default_factory=dict)

    selections: OrderedDict[tuple[str, str], tuple[int, Any]] = field(default_factory=OrderedDict)

    def listed(self, kind: str, entity: str, key: str, render: Callable[[], Any]) -> list[Listed]:
        """A record's list items as (fields, wire JSON), rendered once per world version.

        `render()` gives a dict, a list of dicts (one host record can be several host items) or None.  What
        is kept is the JSON text, not the dicts: a third of the memory, and nothing for the garbage
        collector to walk, which matters with a million invoices.  The fields are the fresh render, or
        the kept text parsed again, for filtering and ordering; the text is what goes on the wire.
        """
        found = self.rendered.get((kind, entity, key))
        if found is not None and found[0] == self.version:
            return [(orjson.loads(text), orjson.Fragment(text)) for text in found[1]]
        value = render()
        if isinstance(value, dict):  # the usual case, a record is one item: no lists to build
            text = wire.dumps(value)
            self.rendered[(kind, entity, key)] = (self.version, (text,))
            return [(value, orjson.Fragment(text))]
        items = [] if value is None else value
        texts = tuple(wire.dumps(item) for item in items)
        self.rendered[(kind, entity, key)] = (self.version, texts)
        return [(item, orjson.Fragment(text)) for item, text in zip(items, texts, strict=True)]

    def selection(self, key: tuple[str, str], compute: Any, keep: int = 32) -> Any:
        """The filtered, ordered rows of a list query, kept across its pages (the last `keep` queries)."""
        found = self.selections.get(key)
        if found is not None and found[0] == self.version:
            self.selections.move_to_end(key)
            return found[1]
        value = compute()
        self.selections[key] = (self.version, value)
        while len(self.selections) > keep:
            self.selections.popitem(last=False)
        return value

    @classmethod
    def generate(cls, spec: CompanySpec) -> World:
        world = cls(spec, now=dt.datetime.combine(spec.today, dt.time(17), PACIFIC))
        for record in generate(spec):
            # a record dated after today (a credit note dated ahead) was still entered by today
            world.add(record, min(_instant(_day(record), hour=10), world.now))
        world._supply_side()
        world._prepayments()
        return world

    def _prepayments(self) -> None:
        """A few customers who paid ahead, money not yet applied to any invoice: Xero keeps it as a
        RECEIVE-PREPAYMENT, QuickBooks as a payment with nothing linked.  From a random stream of their own,
        so that the rest of the company is the same with or without them."""
        rng = random.Random(f"{self.spec.seed}/prepayments")
        customers = sorted(self.records["customers"])
        for n, key in enumerate(rng.sample(customers, max(1, len(customers) // 100)), 1):
            customer: Customer = self.records["customers"][key].record  # type: ignore[assignment]
            day = self.spec.today - dt.timedelta(days=rng.randint(1, 90))
            prepayment = Payment(id=f"PRE{n:06d}", customer_id=key, date=day,
                                 currency=customer.currency or self.spec.home_currency,
                                 amount=Decimal(rng.randint(100, 2500)), kind=PaymentKind.PREPAYMENT,
                                 reference=f"Advance {n}")
            self.add(prepayment, _instant(day, 11))

    def _supply_side(self) -> None:
        """A few suppliers and their bills: what a Xero organisation also holds and a connector must skip."""
        rng = random.Random(f"{self.spec.seed}/suppliers")
        suppliers = [Customer(id=f"SUP{n:04d}", name=f"{rng.choice(['Office', 'Freight', 'Power', 'Rent'])} "
                                                        f"Supplier #{n}", email=f"billing{n}@supplier.example")
                     for n in range(1, max(2, self.spec.customers // 20) + 1)]
        for supplier in suppliers:
            self.records["suppliers"][supplier.id] = HostRecord(supplier, supplier.id, self.spec.seed,
                                                                _instant(dt.date(2024, 1, 2), 9), _instant(dt.date(2024, 1, 2), 9))
        for n in range(1, self.spec.invoices // 25 + 1):
            issued = self.spec.today - dt.timedelta(days=rng.randrange(self.spec.months * 30))
            bill = Invoice(id=f"BILL-{n:06d}", customer_id=rng.choice(suppliers).id, number=f"B{n}",
                           issue_date=issued, due_date=issued + dt.timedelta(days=20),
                           currency=self.spec.home_currency, total=Decimal(rng.randint(1_000, 90_000)) / 100)
            at = _instant(issued, 11)
            self.records["bills"][bill.id] = HostRecord(bill, bill.id, self.spec.seed, at, at)

    @property
    def today(self) -> dt.date:
        """The company's date (its clock runs in US Pacific time, like QuickBooks' own)."""
        return self.now.astimezone(PACIFIC).date()

    def add(self, record: Customer | Invoice | Payment | CreditNote, at: dt.datetime) -> HostRecord:
        """A new record, created at `at`; a payment or credit note touches the invoices it applies to."""
        entity = _entity(record)
        self.counters[entity] += 1
        host = HostRecord(record, str(self.counters[entity]), self.spec.seed, at, at)
        self.records[entity][record.id] = host
        if isinstance(record, (Payment, CreditNote)):
            for allocation in record.allocations:
                self.applied[allocation.invoice_id].append((entity, record.id, allocation.amount))
                self._touch("invoices", allocation.invoice_id, at + dt.timedelta(seconds=1))
        self._changed()
        return host

    def change(self, host: HostRecord, record: Customer | Invoice | Payment | CreditNote, at: dt.datetime) -> None:
        """Replace a record's content, as an edit on the host: a new SyncToken and change time."""
        host.record = record
        host.updated, host.sync_token = at, host.sync_token + 1
        self._changed()

    def delete(self, host: HostRecord, at: dt.datetime) -> None:
        """Delete a transaction (QBO hard-deletes, Xero marks DELETED): the invoices it paid reopen."""
        host.deleted, host.updated, host.sync_token = True, at, host.sync_token + 1
        for allocation in getattr(host.record, "allocations", ()):
            self._touch("invoices", allocation.invoice_id, at + dt.timedelta(seconds=1))
        self._changed()

    def _changed(self) -> None:
        """Something changed: derived figures and rendered answers are stale."""
        self._owed.clear()
        self.parts.clear()
        self.version += 1

    def part(self, key: tuple[str, str], build: Callable[[], Any]) -> Any:
        """A piece many answers share (a customer's reference, say), built once until the world changes.
        Shared, so never to be changed by whoever receives it."""
        found = self.parts.get(key)
        if found is None:
            found = self.parts[key] = build()
        return found

    def _touch(self, entity: str, key: str, at: dt.datetime) -> None:
        found = self.records[entity].get(key)
        if found is not None:
            found.updated, found.sync_token = max(found.updated, min(at, self.now)), found.sync_token + 1

    def record_write(self, host: str, kind: str, target: str, body: Any) -> dict[str, Any]:
        entry = {"host": host, "kind": kind, "target": target, "body": body, "at": self.now.isoformat()}
        self.writes.append(entry)
        return entry

    def next_number(self, kind: str) -> int:
        self.numbers[kind] += 1
        return self.numbers[kind]

    def rate_for(self, currency: str | None) -> Decimal | None:
        """The exchange rate the company's existing invoices use for a currency (None at home)."""
        if not currency or currency == self.spec.home_currency:
            return None
        return next((h.record.exchange_rate for h in self.records["invoices"].values()  # type: ignore[union-attr]
                     if h.record.currency == currency and h.record.exchange_rate), Decimal(1))  # type: ignore[union-attr]

    def changed_since(self, entity: str, since: dt.datetime) -> list[HostRecord]:
        """Records of an entity created, changed or deleted at or after `since`, oldest change first."""
        return sorted((h for h in self.records[entity].values() if h.updated >= since), key=lambda h: h.updated)

    def live(self, entity: str) -> list[HostRecord]:
        return [r for r in self.records[entity].values() if not r.deleted]

    def ledger_records(self) -> Iterator[Customer | Invoice | Payment | CreditNote]:
        """The receivable books as they stand (suppliers and bills left out): what a csv ledger of this
        company holds, so that the demo and the tests keep the same books three ways."""
        for entity in ENTITIES:
            for host in self.live(entity):
                yield host.record

    def balance(self, invoice: Invoice) -> Decimal:
        if invoice.status is InvoiceStatus.VOID:
            return Decimal(0)
        balance, records = invoice.total, self.records
        for entity, key, amount in self.applied.get(invoice.id, ()):
            if not records[entity][key].deleted:
                balance -= amount
        return balance

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
