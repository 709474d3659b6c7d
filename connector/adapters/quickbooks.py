"""QuickBooks Online: python-quickbooks for the calls, our HTTP policy and token store underneath, and our
own tolerant mapping of QBO JSON to canonical records.

First sync (and any sync whose cursor is older than CDC's 30-day reach): every Customer (inactive ones
included), Invoice, Payment and CreditMemo by query, ordered by `Metadata.LastUpdatedTime`, 1,000 a page,
staged as one snapshot, so hard-deleted records are marked deleted.  Later syncs: one CDC call for all
entities since the cursor, hard deletes included; an entity that reaches CDC's 1,000-object cap is read
again by query since the cursor.  The cursor is the QBO server's `time` at the start of the pull, so
nothing that changes during a pull is missed (a little is read twice, which the merge absorbs).

QBO applies a credit memo to an invoice through a Payment of total 0 whose lines link the invoice and the
credit memo: that becomes a payment of kind `credit_application` (not cash) whose `credit_used` names the
credit memo, so that the memo's credit on an earlier day can be worked out.  A payment with cash may draw on
credit memos too.  What is left today is QBO's own figure: a credit memo's `RemainingCredit`, a payment's
`UnappliedAmt` (QBO knows of refunds, which link a cheque rather than an invoice).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import requests
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException

from connector.adapters.authorize import QBO_DISCOVERY, credentials
from connector.adapters.base import Batch
from connector.adapters.http import QBO_LIMITS, HostPolicy, RateLimiter, limits_for, session_with
from connector.adapters.readahead import read_ahead
from connector.adapters.tokens import TokenStore, refresher
from connector.config import ClientConfig, Workspace
from connector.config.models import WriteOffSettings
from connector.errors import AuthError, FatalHostError
from connector.records import (
    Allocation, CreditNote, CreditUse, Customer, Invoice, InvoiceStatus, Payment, PaymentKind, Record)

log = logging.getLogger(__name__)
ENTITIES = (("Customer", "customers"), ("Invoice", "invoices"), ("Payment", "payments"),
            ("CreditMemo", "credit_notes"))
CURSOR, PAGE, CDC_CAP, CDC_DAYS = "qbo_cdc", 1000, 1000, 30
API_BASE = "https://quickbooks.api.intuit.com/v3"


class _AuthClient(AuthClient):
    """intuit-oauth's client, whose constructor fetches Intuit's discovery document on its own session: with
    no timeout, no retries, and a raw `ConnectionError` when the network is down.  Every request it makes
    goes through the host policy instead, like every other call."""

    def __init__(self, policy: HostPolicy, client_id: str, secret: str, discovery_url: str) -> None:
        self._policy = policy
        try:
            super().__init__(client_id, secret, "http://127.0.0.1/callback", discovery_url)
        except AuthClientError as exc:
            raise FatalHostError(f"Intuit's discovery document at {discovery_url} answered HTTP "
                                 f"{exc.status_code}") from None
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise FatalHostError(f"Intuit's discovery document at {discovery_url} is not readable: "
                                 f"{type(exc).__name__}") from None

    def get_adapter(self, url: str) -> HostPolicy:
        return self._policy


class QuickBooksLedger:
    host = "quickbooks"

    def __init__(self, config: ClientConfig, workspace: Workspace) -> None:
        if not config.realm_id:
            raise AuthError(f"client '{config.key}' has no realm_id: run `connector auth {config.key}`")
        self.config = config
        self.client_id, self.secret = credentials(config)
        self.tokens = TokenStore(workspace.client_data_dir(config.key), config.key, "quickbooks")
        self.api_base = config.endpoints.api_base or API_BASE
        if self.api_base.startswith("http://127.0.0.1"):
            os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox on loopback speaks plain HTTP
        self.policy = HostPolicy(RateLimiter(limits_for(QBO_LIMITS, **config.limits.model_dump())))
        # (Intuit's discovery document is not the accounting API: its own policy, not counted as API calls)
        self.discovery_policy = HostPolicy(RateLimiter(QBO_LIMITS))
        self.qb: QuickBooks | None = None

    # -- connection -----------------------------------------------------------------------------

    def _connect(self, force_refresh: bool = False) -> QuickBooks:
        auth = _AuthClient(self.discovery_policy, self.client_id, self.secret,
                           self.config.endpoints.discovery_url or QBO_DISCOVERY)
        margin = float("inf") if force_refresh else 60  # ok: seconds, not money
        refresh = refresher(session_with(self.policy), auth.token_endpoint, self.client_id, self.secret, "quickbooks",
                            self.config.key)
        tokens = self.tokens.fresh(refresh, margin=margin)
        auth.access_token, auth.refresh_token = tokens.access_token, tokens.refresh_token
        auth.realm_id = self.config.realm_id
        qb = QuickBooks(auth_client=auth, refresh_token=tokens.refresh_token, company_id=self.config.realm_id,
                        minorversion=75, use_decimal=True)
        qb.api_url_v3 = self.api_base
        qb.session.mount("https://", self.policy)
        qb.session.mount("http://", self.policy)
        return qb

    def _call(self, method: str, *args: Any) -> dict[str, Any]:
        """One SDK call; an expired access token gets one refresh and one retry."""
        if self.qb is None:
            self.qb = self._connect()
        try:
            return getattr(self.qb, method)(*args)  # type: ignore[no-any-return]
        except AuthorizationException:
            self.qb = self._connect(force_refresh=True)
            try:
                return getattr(self.qb, method)(*args)  # type: ignore[no-any-return]
            except AuthorizationException:
                raise AuthError(f"QuickBooks refused client '{self.config.key}' after a token refresh: "
                                f"reconnect with `connector auth {self.config.key}`") from None
        except QuickbooksException as exc:
            raise FatalHostError(f"QuickBooks refused a call for client '{self.config.key}': {exc.message} "
                                 f"({exc.detail})") from None

    # -- pulling --------------------------------------------------------------------------------

    @property
    def api_calls(self) -> int:
        return self.policy.calls

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Batch]:
        """A snapshot by query when there is no usable cursor, else one CDC call.

        The new cursor is the QBO server's `time` on the first answer of the pull: what changes while the
        pull runs is read again next time rather than missed.
        """
        since = cursors.get(CURSOR)
        if not full and since is not None:
            answer = self._call("change_data_capture", ",".join(n for n, _ in ENTITIES), since)
            if _instant(since) >= _instant(answer["time"]) - dt.timedelta(days=CDC_DAYS - 1):
                records, deletions = self._changes(answer, since)
                yield Batch(records=records, deletions=deletions, cursors={CURSOR: answer["time"]})
                return
        started: dict[str, str] = {}
        yield Batch(records=self._everything(started), cursors=started,
                    snapshot=frozenset(name for _, name in ENTITIES))

    def _everything(self, started: dict[str, str]) -> Iterator[Record]:
        """Every record; `started` gets the cursor (the server's time on the first page) as a side effect,
        read by the runner only after the records are consumed."""
        pages = (page for qbo_name, _ in ENTITIES for page in self._query_pages(qbo_name, None, started))
        yield from self._mapped(read_ahead(pages))

    def _query_all(self, qbo_name: str, since: str | None) -> Iterator[Record]:
        yield from self._mapped(read_ahead(self._query_pages(qbo_name, since)))

    def _query_pages(self, qbo_name: str, since: str | None, started: dict[str, str] | None = None,
                     ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(entity, page of raw records) by query, 1,000 at a time, in `Metadata.LastUpdatedTime` order."""
        where = [f"Metadata.LastUpdatedTime >= '{since}'"] if since else []
        if qbo_name == "Customer":
            where.append("Active IN (true, false)")
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        start = 1
        while True:
            answer = self._call("query", f"SELECT * FROM {qbo_name}{condition} ORDERBY Metadata.LastUpdatedTime "
                                         f"STARTPOSITION {start} MAXRESULTS {PAGE}")
            if started is not None:
                started.setdefault(CURSOR, answer["time"])
            page = answer["QueryResponse"].get(qbo_name, [])
            yield qbo_name, page
            if len(page) < PAGE:
                return
            start += len(page)

    def _mapped(self, pages: Iterator[tuple[str, list[dict[str, Any]]]]) -> Iterator[Record]:
        write_offs = self.config.write_offs
        for qbo_name, page in pages:
            for raw in page:
                if (record := to_record(qbo_name, raw, write_offs)) is not None:
                    yield record

    def _changes(self, answer: dict[str, Any], since: str) -> tuple[list[Record], dict[str, list[str]]]:
        records: list[Record] = []
        deletions: dict[str, list[str]] = {}
        for block in answer["CDCResponse"][0].get("QueryResponse", []):
            for qbo_name, entity in ENTITIES:
                items = block.get(qbo_name)
                if items is None:
                    continue
                if len(items) >= CDC_CAP:  # the cap: read this entity's changes again, completely, by query
                    records += list(self._query_all(qbo_name, since))
                    items = [i for i in items if i.get("status") == "Deleted"]
                for raw in items:
                    if raw.get("status") == "Deleted":
                        deletions.setdefault(entity, []).append(str(raw["Id"]))
                    elif (record := to_record(qbo_name, raw, self.config.write_offs)) is not None:
                        records.append(record)
        return records, deletions


def _instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _utc(raw: Mapping[str, Any]) -> dt.datetime | None:
    stamp = (raw.get("MetaData") or {}).get("LastUpdatedTime")
    return _instant(stamp).astimezone(dt.UTC) if stamp else None


def _ref(raw: Mapping[str, Any], key: str) -> str:
    return str((raw.get(key) or {}).get("value", ""))


def _money(value: Any) -> Decimal:
    """An amount as QBO sent it: already a Decimal (the SDK parses with `use_decimal`), else its text."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value if value is not None else 0))


def to_record(qbo_name: str, raw: Mapping[str, Any], write_offs: WriteOffSettings | None = None) -> Record | None:
    """Tolerant mapping: a record missing what the product needs is logged once and skipped, never fatal.

    A credit memo with a line on one of the client's write-off items (`[write_offs]`) is a bad-debt write-off.
    """
    try:
        record = _MAPPERS[qbo_name](raw)
        if isinstance(record, CreditNote) and write_offs and any(
                write_offs.marks(((line.get("SalesItemLineDetail") or {}).get("ItemRef") or {}).get("name"))
                for line in raw.get("Line") or []):
            record = record.model_copy(update={"reason": "bad_debt"})
        return record
    except (KeyError, ValueError, ArithmeticError) as exc:
        log.warning("skipped QuickBooks %s %s: %s", qbo_name, raw.get("Id"), exc)
        return None


def _customer(raw: Mapping[str, Any]) -> Customer:
    return Customer(id=str(raw["Id"]), name=raw.get("DisplayName") or raw.get("CompanyName") or str(raw["Id"]),
                    email=(raw.get("PrimaryEmailAddr") or {}).get("Address"),
                    currency=(raw.get("CurrencyRef") or {}).get("value"), active=bool(raw.get("Active", True)),
                    updated_at=_utc(raw), raw=raw)


def _invoice(raw: Mapping[str, Any]) -> Invoice:
    total = _money(raw.get("TotalAmt"))
    voided = total == 0 and "void" in str(raw.get("PrivateNote", "")).lower()
    issued = dt.date.fromisoformat(raw["TxnDate"])
    return Invoice(id=str(raw["Id"]), customer_id=_ref(raw, "CustomerRef"), number=raw.get("DocNumber"),
                   issue_date=issued, due_date=dt.date.fromisoformat(raw.get("DueDate") or raw["TxnDate"]),
                   currency=(raw.get("CurrencyRef") or {}).get("value") or "USD", total=total,
                   exchange_rate=_money(raw["ExchangeRate"]) if raw.get("ExchangeRate") else None,
                   status=InvoiceStatus.VOID if voided else InvoiceStatus.OPEN,
                   host_balance=_money(raw.get("Balance")), updated_at=_utc(raw), raw=raw)


def _payment(raw: Mapping[str, Any]) -> Payment | None:
    invoice_lines: list[tuple[str, Decimal]] = []
    credit_lines: list[tuple[str, Decimal]] = []
    for line in raw.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            target = (str(link.get("TxnId")), _money(line.get("Amount")))
            if link.get("TxnType") == "Invoice":
                invoice_lines.append(target)
            elif link.get("TxnType") == "CreditMemo":
                credit_lines.append(target)
    total = _money(raw.get("TotalAmt"))
    # Without cash, a payment record only moves credit: a credit memo's (applied to invoices, or refunded
    # through a line that links a cheque), or a journal entry's or deposit's applied to invoices.  Its amount
    # is what it moves.
    is_credit = total == 0
    amount = max(sum((a for _, a in credit_lines), Decimal(0)), sum((a for _, a in invoice_lines), Decimal(0))) \
        if is_credit else total
    if amount <= 0:
        return None  # nothing received and nothing applied: not a receivable event
    return Payment(id=str(raw["Id"]), customer_id=_ref(raw, "CustomerRef"), date=dt.date.fromisoformat(raw["TxnDate"]),
                   currency=(raw.get("CurrencyRef") or {}).get("value") or "USD", amount=amount,
                   exchange_rate=_money(raw["ExchangeRate"]) if raw.get("ExchangeRate") else None,
                   kind=PaymentKind.CREDIT_APPLICATION if is_credit else PaymentKind.PAYMENT,
                   reference=raw.get("PaymentRefNum"),
                   allocations=tuple(Allocation(invoice_id=i, amount=a) for i, a in invoice_lines if a > 0),
                   credit_used=tuple(CreditUse(credit_note_id=c, amount=a) for c, a in credit_lines if a > 0),
                   host_unapplied=_money(raw["UnappliedAmt"]) if raw.get("UnappliedAmt") is not None else None,
                   updated_at=_utc(raw), raw=raw)


def _credit_memo(raw: Mapping[str, Any]) -> CreditNote:
    return CreditNote(id=str(raw["Id"]), customer_id=_ref(raw, "CustomerRef"), number=raw.get("DocNumber"),
                      date=dt.date.fromisoformat(raw["TxnDate"]),
                      currency=(raw.get("CurrencyRef") or {}).get("value") or "USD", amount=_money(raw["TotalAmt"]),
                      exchange_rate=_money(raw["ExchangeRate"]) if raw.get("ExchangeRate") else None,
                      host_remaining=_money(raw.get("RemainingCredit")), updated_at=_utc(raw), raw=raw)


_MAPPERS: dict[str, Callable[[Mapping[str, Any]], Record | None]] = {
    "Customer": _customer, "Invoice": _invoice, "Payment": _payment, "CreditMemo": _credit_memo}
