"""Xero: the AR endpoints read page by page with `If-Modified-Since`, our own tolerant parsing of Xero's JSON.

Each entity is read with `If-Modified-Since` (its cursor: the latest `UpdatedDateUTC` seen), `page`,
`pageSize=1000` and `order=UpdatedDateUTC ASC`; pages are merged ten at a time with the cursor they reach,
so a run cut short (a crash, or Xero's day limit) resumes where it stopped.  Xero keeps deletions as statuses:
DELETED (and DRAFT or SUBMITTED, which are not receivables) become deletions; VOIDED invoices are kept as
void.  Changes Xero does not timestamp are caught by a full pass once a week (`FULL_PASS_DAYS`).

Calls go through the shared HTTP policy (rate limiter, retries, day limit) with `requests`: xero-python's
own transport (urllib3) cannot carry that policy, and its models reject unknown enum values, which would
fail a whole page, so the SDK is not used for reading.  `CurrencyRate` is taken as units of the document's
currency per unit of the organisation's (the canonical rate is its inverse, to 6 places).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from connector.adapters.authorize import XERO_TOKEN, credentials
from connector.adapters.base import Batch
from connector.adapters.http import XERO_LIMITS, HostPolicy, RateLimiter, limits_for, session_with
from connector.adapters.readahead import read_ahead
from connector.adapters.tokens import TokenStore, refresher
from connector.config import ClientConfig, Workspace
from connector.config.models import WriteOffSettings
from connector.errors import AuthError, FatalHostError
from connector.records import (Allocation, CreditNote, Customer, Invoice, InvoiceStatus, Payment, PaymentKind, Record,
                               Refund)

log = logging.getLogger(__name__)
API_BASE = "https://api.xero.com/api.xro/2.0"
PAGE, FULL_PASS_DAYS = 1000, 7
# Pages merged in one transaction; a run cut short loses at most this many pages of progress (they are
# read again next time).  Since staging commits once per flush, 5 pages merge as fast as 10 or 25 (a full
# pass of 100,000 invoices: 22.8 to 25.7 s at each) and keep the peak lower (213 MB against 271 and 440).
PAGES_PER_MERGE = 5
# (endpoint, list key, canonical entity, where clause)
ENDPOINTS = (("Contacts", "Contacts", "customers", "IsCustomer==true"),
             ("Invoices", "Invoices", "invoices", 'Type=="ACCREC"'),
             ("CreditNotes", "CreditNotes", "credit_notes", 'Type=="ACCRECCREDIT"'),
             ("Payments", "Payments", "payments", None),
             ("Overpayments", "Overpayments", "payments", None),
             ("Prepayments", "Prepayments", "payments", None))
_MS = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


class XeroLedger:
    host = "xero"

    def __init__(self, config: ClientConfig, workspace: Workspace) -> None:
        if not config.tenant_id:
            raise AuthError(f"client '{config.key}' has no tenant_id: run `connector auth {config.key}`")
        self.config = config
        self.tenant_id: str = config.tenant_id
        client_id, secret = credentials(config)
        self.policy = HostPolicy(RateLimiter(limits_for(XERO_LIMITS, **config.limits.model_dump())))
        self.session = session_with(self.policy)
        self.tokens = TokenStore(workspace.client_data_dir(config.key), config.key, "xero")
        self.refresh = refresher(self.session, config.endpoints.token_url or XERO_TOKEN, client_id, secret, "xero",
                                 config.key)
        self.api_base = config.endpoints.api_base or API_BASE

    @property
    def api_calls(self) -> int:
        return self.policy.calls

    def _get(self, endpoint: str, params: dict[str, Any], since: str | None) -> dict[str, Any]:
        for attempt in range(2):
            tokens = self.tokens.fresh(self.refresh, margin=float("inf") if attempt else 60)  # ok: seconds
            headers = {"Authorization": f"Bearer {tokens.access_token}", "xero-tenant-id": self.tenant_id,
                       "Accept": "application/json"}
            if since:
                headers["If-Modified-Since"] = since
            answer = self.session.get(f"{self.api_base}/{endpoint}", params=params, headers=headers)
            if answer.status_code == 401 and attempt == 0:
                continue  # one refresh, one retry
            if answer.status_code == 401:
                raise AuthError(f"Xero refused client '{self.config.key}' after a token refresh: "
                                f"reconnect with `connector auth {self.config.key}`")
            if answer.status_code == 304:
                return {}
            if answer.status_code != 200:
                raise FatalHostError(f"Xero answered HTTP {answer.status_code} to {endpoint} for client "
                                     f"'{self.config.key}': {answer.text[:200]}")
            return json.loads(answer.content, parse_float=Decimal)  # type: ignore[no-any-return]
        raise AssertionError("unreachable")  # pragma: no cover

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Batch]:
        """Pages of every endpoint, merged `PAGES_PER_MERGE` pages at a time with the cursor they reach."""
        now = dt.datetime.now(dt.UTC)
        last_full = cursors.get("xero_full_pass")
        full = full or last_full is None or dt.datetime.fromisoformat(last_full) < now - dt.timedelta(days=FULL_PASS_DAYS)
        for endpoint, _, entity, _ in ENDPOINTS:
            records: list[Record] = []
            deletions: list[str] = []
            cursor: dict[str, str] = {}
            for number, (page_records, page_deletions, latest) in enumerate(
                    self._pages(endpoint, None if full else cursors.get(f"xero_{endpoint}")), 1):
                records += page_records
                deletions += page_deletions
                if latest:
                    cursor = {f"xero_{endpoint}": latest}
                if number % PAGES_PER_MERGE == 0:
                    yield Batch(records=records, deletions={entity: deletions} if deletions else {}, cursors=cursor)
                    records, deletions = [], []
            if records or deletions or cursor:
                yield Batch(records=records, deletions={entity: deletions} if deletions else {}, cursors=cursor)
        if full:
            yield Batch(records=(), cursors={"xero_full_pass": now.isoformat()})

    def _pages(self, endpoint: str, since: str | None) -> Iterator[tuple[list[Record], list[str], str | None]]:
        """Each page of an endpoint as (records, deleted ids, the cursor it reaches), the next page read
        while this one is mapped."""
        for body, items in read_ahead(self._bodies(endpoint, since)):
            records, deletions, latest = self._page(endpoint, items)
            served = _ms(body.get("DateTimeUTC"))
            if latest and served is not None:  # never a cursor ahead of the host's own clock
                latest = min(latest, served.isoformat())
            yield records, deletions, latest

    def _bodies(self, endpoint: str, since: str | None) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Each page's body and its list of records, until a short page or the last page."""
        _, key, _, where = next(e for e in ENDPOINTS if e[0] == endpoint)
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "pageSize": PAGE, "order": "UpdatedDateUTC ASC"}
            if where:
                params["where"] = where
            body = self._get(endpoint, params, since)
            items = body.get(key, [])
            yield body, items
            if len(items) < PAGE or page >= (body.get("pagination") or {}).get("pageCount", page):
                return
            page += 1

    def _page(self, endpoint: str, items: list[dict[str, Any]]) -> tuple[list[Record], list[str], str | None]:
        records: list[Record] = []
        deletions: list[str] = []
        latest: dt.datetime | None = None
        for raw in items:
            stamp = _ms(raw.get("UpdatedDateUTC"))
            if stamp is not None and (latest is None or stamp > latest):
                latest = stamp
            try:
                mapped = to_record(endpoint, raw, self.config.write_offs)
            except (KeyError, ValueError, ArithmeticError) as exc:
                log.warning("skipped Xero %s record: %s", endpoint, exc)
                continue
            if isinstance(mapped, str):
                deletions.append(mapped)
            elif mapped is not None:
                records.append(mapped)
        return records, deletions, None if latest is None else latest.isoformat()


def _ms(value: Any) -> dt.datetime | None:
    match = _MS.match(str(value or ""))
    if not match:
        return None
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=int(match.group(1)))
    return moment


def _date(value: Any) -> dt.date:
    """A document date (`/Date(…)/` or ISO); a ledger's documents share few dates, so these are kept."""
    return _date_text(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=8192)
def _date_text(value: str) -> dt.date:
    moment = _ms(value)
    if moment is None:
        return dt.date.fromisoformat(value[:10])
    return moment.date()


def _rate(raw: Mapping[str, Any], currency: str) -> Decimal | None:
    rate = raw.get("CurrencyRate")
    if rate in (None, 0) or Decimal(str(rate)) == 1:
        return None
    return (1 / Decimal(str(rate))).quantize(Decimal("0.000001"))


def _contact(raw: Mapping[str, Any]) -> Customer | None:
    if raw.get("IsCustomer") is False:
        return None
    return Customer(id=raw["ContactID"], name=raw.get("Name") or raw["ContactID"], email=raw.get("EmailAddress"),
                    currency=raw.get("DefaultCurrency"), active=raw.get("ContactStatus", "ACTIVE") == "ACTIVE",
                    updated_at=_ms(raw.get("UpdatedDateUTC")), raw=raw)


def _invoice(raw: Mapping[str, Any]) -> Invoice | str | None:
    if raw.get("Type") != "ACCREC":
        return None
    if raw.get("Status") in ("DELETED", "DRAFT", "SUBMITTED"):
        return str(raw["InvoiceID"])
    currency = raw.get("CurrencyCode") or "USD"
    return Invoice(id=raw["InvoiceID"], customer_id=raw["Contact"]["ContactID"], number=raw.get("InvoiceNumber"),
                   issue_date=_date(raw["Date"]), due_date=_date(raw.get("DueDate") or raw["Date"]), currency=currency,
                   total=Decimal(str(raw.get("Total", 0))), exchange_rate=_rate(raw, currency),
                   status=InvoiceStatus.VOID if raw.get("Status") == "VOIDED" else InvoiceStatus.OPEN,
                   host_balance=Decimal(str(raw.get("AmountDue", 0))), updated_at=_ms(raw.get("UpdatedDateUTC")),
                   raw=raw)


def _payment(raw: Mapping[str, Any]) -> Payment | str | None:
    if raw.get("Status") == "DELETED":
        return str(raw["PaymentID"])
    invoice = raw.get("Invoice") or {}
    if raw.get("PaymentType", "ACCRECPAYMENT") != "ACCRECPAYMENT" or invoice.get("Type", "ACCREC") != "ACCREC":
        return None
    amount = Decimal(str(raw["Amount"]))
    return Payment(id=raw["PaymentID"], customer_id=(invoice.get("Contact") or {})["ContactID"], date=_date(raw["Date"]),
                   currency=invoice.get("CurrencyCode") or "USD", amount=amount, reference=raw.get("Reference") or None,
                   allocations=(Allocation(invoice_id=invoice["InvoiceID"], amount=amount),),
                   updated_at=_ms(raw.get("UpdatedDateUTC")), raw=raw)


def _credit_note(raw: Mapping[str, Any]) -> CreditNote | str | None:
    if raw.get("Type") != "ACCRECCREDIT":
        return None
    if raw.get("Status") in ("DELETED", "DRAFT", "SUBMITTED", "VOIDED"):
        return str(raw["CreditNoteID"])
    currency = raw.get("CurrencyCode") or "USD"
    return CreditNote(id=raw["CreditNoteID"], customer_id=raw["Contact"]["ContactID"],
                      number=raw.get("CreditNoteNumber"), date=_date(raw["Date"]), currency=currency,
                      amount=Decimal(str(raw["Total"])), exchange_rate=_rate(raw, currency),
                      host_remaining=_remaining(raw), refunds=_refunds(raw),
                      allocations=tuple(Allocation(invoice_id=a["Invoice"]["InvoiceID"], amount=Decimal(str(a["Amount"])),
                                                   date=_date(a["Date"]) if a.get("Date") else None)
                                        for a in raw.get("Allocations") or [] if Decimal(str(a["Amount"])) > 0),
                      updated_at=_ms(raw.get("UpdatedDateUTC")), raw=raw)


def _remaining(raw: Mapping[str, Any]) -> Decimal | None:
    """Xero's `RemainingCredit`: what is left after allocations and cash refunds (`Payments[]`), which the
    allocations alone do not show."""
    left = raw.get("RemainingCredit")
    return None if left is None else Decimal(str(left))


def _refunds(raw: Mapping[str, Any]) -> tuple[Refund, ...]:
    """A credit's cash refunds: Xero lists them as the credit note's (overpayment's, prepayment's)
    `Payments[]`.  `RemainingCredit` already leaves them out; their dates date the credit of earlier days (a
    refund without one is left to `RemainingCredit` alone)."""
    return tuple(Refund(date=_date(p["Date"]), amount=Decimal(str(p["Amount"])))
                 for p in raw.get("Payments") or []
                 if p.get("Date") and p.get("Status") != "DELETED" and Decimal(str(p.get("Amount") or 0)) > 0)


def _credit_payment(kind: PaymentKind, key: str) -> Any:
    def mapped(raw: Mapping[str, Any]) -> Payment | str | None:
        if raw.get("Status") in ("DELETED", "VOIDED"):
            return str(raw[key])
        if not str(raw.get("Type", "")).startswith("RECEIVE"):
            return None
        return Payment(id=raw[key], customer_id=raw["Contact"]["ContactID"], date=_date(raw["Date"]),
                       currency=raw.get("CurrencyCode") or "USD", amount=Decimal(str(raw["Total"])), kind=kind,
                       host_unapplied=_remaining(raw), refunds=_refunds(raw),
                       allocations=tuple(Allocation(invoice_id=a["Invoice"]["InvoiceID"],
                                                    amount=Decimal(str(a["Amount"])),
                                                    date=_date(a["Date"]) if a.get("Date") else None)
                                         for a in raw.get("Allocations") or [] if Decimal(str(a["Amount"])) > 0),
                       updated_at=_ms(raw.get("UpdatedDateUTC")), raw=raw)
    return mapped


_MAPPERS: dict[str, Any] = {"Contacts": _contact, "Invoices": _invoice, "CreditNotes": _credit_note,
                            "Payments": _payment,
                            "Overpayments": _credit_payment(PaymentKind.OVERPAYMENT, "OverpaymentID"),
                            "Prepayments": _credit_payment(PaymentKind.PREPAYMENT, "PrepaymentID")}


def to_record(endpoint: str, raw: Mapping[str, Any],
              write_offs: WriteOffSettings | None = None) -> Record | str | None:
    """One item of an endpoint's page as a canonical record, the id of a record Xero has deleted, or None for
    what is not a receivable (bills, drafts, refunds as payments of their own).

    A credit note with a line on one of the client's write-off items or accounts (`[write_offs]`) is a
    bad-debt write-off.
    """
    record = _MAPPERS[endpoint](raw)
    if isinstance(record, CreditNote) and write_offs and any(
            write_offs.marks(line.get("ItemCode"), line.get("AccountCode")) for line in raw.get("LineItems") or []):
        record = record.model_copy(update={"reason": "bad_debt"})
    return record  # type: ignore[no-any-return]
