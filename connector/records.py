"""The canonical records: what every adapter yields and every later part reads.

Adapters translate each host's wire format into these frozen models and nothing else leaves an
adapter.  Amounts are `Decimal` in the record's own currency; `exchange_rate` converts them to the
client's home currency (home amount = amount × rate).  Each record keeps the host's raw JSON in `raw`
(the CSV row, for csv ledgers) so that a field we do not model yet is never lost, and `origin` says where
the record came from (``invoices.csv:12``) so that an error can point at it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="The host's id for the record, unique per entity.")
    updated_at: AwareDatetime | None = Field(
        default=None, description="When the host last changed the record, with its timezone (None for csv); "
                                  "a naive instant is refused, since the store keeps UTC instants.")
    raw: Any = Field(default=None, description="The host's own JSON for the record (the row for csv).")
    origin: str | None = Field(
        default=None, description="Where the record was read, for error messages; not stored.")


class Customer(_Record):
    """Somebody who owes the client money (a QBO Customer, a Xero Contact that is a customer)."""

    name: str = Field(min_length=1, description="The name the ledger shows for the customer.")
    email: str | None = Field(default=None, description="Where reminders go; None if the ledger has none.")
    currency: str | None = Field(
        default=None, description="The customer's own currency; None means the client's home currency.")
    timezone: str | None = Field(
        default=None, description="IANA zone of the customer, for contact hours; None means the client's.")
    country: str | None = Field(default=None, description="Country code or name as the ledger gives it.")
    active: bool = Field(default=True, description="False for customers archived or made inactive on the host.")
    credit_limit: Decimal | None = Field(
        default=None, ge=0, description="Most the customer may owe, in the client's home currency.")


class InvoiceStatus(StrEnum):
    """Whether an invoice counts as a receivable."""

    OPEN = "open"  # approved and counting; it may be fully paid, the balance says so
    VOID = "void"  # voided on the host: kept for the record, owes nothing


class Allocation(BaseModel):
    """A part of a payment or credit note applied to one invoice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str = Field(min_length=1, description="The invoice this part pays or credits.")
    amount: Decimal = Field(gt=0, description="Amount applied, in the payment's (and invoice's) currency.")
    date: dt.date | None = Field(
        default=None, description="When it was applied, if not on the payment's own date.")
    origin: str | None = Field(default=None, description="Where the allocation was read, for errors.")


class Invoice(_Record):
    """A sales invoice (QBO Invoice, Xero ACCREC invoice): what the customer was billed and when due."""

    customer_id: str = Field(min_length=1, description="Id of the customer billed.")
    number: str | None = Field(default=None, description="The invoice number printed for the customer.")
    issue_date: dt.date = Field(description="The invoice date.")
    due_date: dt.date = Field(description="When payment is due; aging counts days past this date.")
    currency: str = Field(description="Currency of the invoice.")
    total: Decimal = Field(ge=0, description="Amount billed, taxes included.")
    exchange_rate: Decimal | None = Field(
        default=None, gt=0, description="Home-currency units per invoice-currency unit; None means 1.")
    status: InvoiceStatus = Field(default=InvoiceStatus.OPEN, description="Open or void.")
    host_balance: Decimal | None = Field(
        default=None, description="The balance the host itself reports, kept for reconciliation.")


class PaymentKind(StrEnum):
    """What kind of money the customer sent."""

    PAYMENT = "payment"  # an ordinary receipt, applied to invoices or left unapplied
    OVERPAYMENT = "overpayment"  # more than was owed; the excess is a credit
    PREPAYMENT = "prepayment"  # money received before any invoice; all credit until applied
    CREDIT_APPLICATION = "credit_application"  # credit-note credit applied through a payment record (QBO): not cash


class CreditUse(BaseModel):
    """Credit of one credit note that a payment record applies to invoices (QuickBooks' way, see `Payment`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credit_note_id: str = Field(min_length=1, description="The credit note whose credit is used.")
    amount: Decimal = Field(gt=0, description="Credit used, in the payment's (and credit note's) currency.")


class Refund(BaseModel):
    """Cash paid back to the customer out of a credit: a credit note's, an overpayment's or a prepayment's.

    The host's own remaining figure already leaves it out; its date lets a report as of an earlier day count
    the credit as it stood then.  (Xero lists refunds as the credit's `Payments[]`.)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date = Field(description="When the cash was paid back.")
    amount: Decimal = Field(gt=0, description="Amount paid back, in the credit's currency.")


class Payment(_Record):
    """Money received from a customer, with the parts of it applied to invoices.

    Whatever is not allocated (amount − Σ allocations) is unapplied credit the customer holds.

    QuickBooks applies a credit memo through a payment record whose lines link the invoices and the credit
    memo (`credit_used`).  Without cash (total 0) it is a `credit_application` whose amount is the credit
    used, and it holds no cash.  With cash, the allocations are paid partly by the credit, so the cash left
    unapplied is amount − Σ allocations + Σ credit used.  Either way the credit memo's credit goes down by
    what is used, on the payment's date.
    """

    customer_id: str = Field(min_length=1, description="Id of the paying customer.")
    date: dt.date = Field(description="Date the payment was received.")
    currency: str = Field(description="Currency of the payment; each allocation is in it too.")
    amount: Decimal = Field(gt=0, description="Total amount received.")
    exchange_rate: Decimal | None = Field(default=None, gt=0, description="Home units per unit; None means 1.")
    kind: PaymentKind = Field(default=PaymentKind.PAYMENT, description="Payment, overpayment or prepayment.")
    reference: str | None = Field(default=None, description="The customer's or bank's reference.")
    allocations: tuple[Allocation, ...] = Field(default=(), description="Parts applied to invoices.")
    credit_used: tuple[CreditUse, ...] = Field(
        default=(), description="Credit notes' credit this payment applies along with (or instead of) cash.")
    host_unapplied: Decimal | None = Field(
        default=None, ge=0, description="The cash left unapplied as the host reports it; when set it is the "
        "unapplied credit (the host also knows of what was refunded, which no allocation shows).")
    refunds: tuple[Refund, ...] = Field(default=(), description="Unapplied cash paid back to the customer.")

    @property
    def unapplied(self) -> Decimal:
        """Cash received and not applied to any invoice: the host's own figure when it gives one, else worked
        out from the allocations (a credit application holds no cash)."""
        if self.host_unapplied is not None:
            return self.host_unapplied
        if self.kind is PaymentKind.CREDIT_APPLICATION:
            return Decimal(0)
        used = sum((use.amount for use in self.credit_used), Decimal(0))
        return self.amount - sum((a.amount for a in self.allocations), Decimal(0)) + used - _refunded(self.refunds)


class CreditNote(_Record):
    """A credit note (QBO CreditMemo, Xero ACCRECCREDIT) and the invoices it was applied to.

    A reason of ``bad_debt`` marks a write-off: it clears a balance but counts as bad debt, not cash.
    """

    customer_id: str = Field(min_length=1, description="Id of the customer credited.")
    number: str | None = Field(default=None, description="The credit note's number.")
    date: dt.date = Field(description="Date of the credit note.")
    currency: str = Field(description="Currency of the credit note and of its allocations.")
    amount: Decimal = Field(gt=0, description="Total credited.")
    exchange_rate: Decimal | None = Field(default=None, gt=0, description="Home units per unit; None means 1.")
    reason: str | None = Field(default=None, description="Why it was issued; 'bad_debt' marks a write-off.")
    allocations: tuple[Allocation, ...] = Field(default=(), description="Parts applied to invoices.")
    host_remaining: Decimal | None = Field(
        default=None, ge=0, description="The credit left as the host reports it; when set it is the unapplied "
        "credit (the host also knows of credit used through payment records and of refunds).")
    refunds: tuple[Refund, ...] = Field(default=(), description="Credit paid back to the customer in cash.")

    @property
    def unapplied(self) -> Decimal:
        """Credit not applied to any invoice: the host's own figure when it gives one, else worked out from
        the allocations."""
        if self.host_remaining is not None:
            return self.host_remaining
        return self.amount - sum((a.amount for a in self.allocations), Decimal(0)) - _refunded(self.refunds)

    @property
    def write_off(self) -> bool:
        """True when the credit writes a debt off rather than correcting the invoice."""
        return self.reason == "bad_debt"


def _refunded(refunds: tuple[Refund, ...]) -> Decimal:
    return sum((refund.amount for refund in refunds), Decimal(0))


class UnappliedCredit(BaseModel):
    """Credit a customer holds and has not yet used: unapplied cash, overpayments, prepayments, credit notes.

    Derived by the store from payments and credit notes, never synced on its own, so it cannot disagree
    with them.
    """

    model_config = ConfigDict(frozen=True)

    customer_id: str
    source: Literal["payment", "overpayment", "prepayment", "credit_note"]
    source_id: str
    date: dt.date
    currency: str
    amount: Decimal = Field(gt=0, description="The part not yet applied to any invoice.")


Record = Customer | Invoice | Payment | CreditNote

ENTITY_OF: dict[type, str] = {
    Customer: "customers", Invoice: "invoices", Payment: "payments", CreditNote: "credit_notes",
}
ENTITIES: tuple[str, ...] = ("customers", "invoices", "payments", "credit_notes")
