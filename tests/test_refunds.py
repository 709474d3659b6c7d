"""Cash refunded out of a credit (a credit note, an overpayment, a prepayment): gone from today's credit, and
still held on the days before the refund, so an aging as of last month shows the credit as it stood then."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from connector import reports
from connector.adapters.xero import to_record
from connector.config import Workspace
from connector.engine import figures, inputs
from connector.records import Allocation, CreditNote, Customer, Invoice, Payment, PaymentKind, Refund
from connector.sandbox.company import CompanySpec
from connector.sandbox.csv_export import write_csv_company
from connector.sandbox.server import SandboxServer
from connector.sync.runner import sync_client
from connector.sync.store import Store
from tests.conftest import connect_host
from tests.test_store import merge

D = dt.date(2026, 1, 1)
XERO_SPEC = Path(__file__).parent / "data" / "xero" / "xero_accounting.yaml"


def test_xero_lists_a_credit_notes_refund_as_its_payments() -> None:
    """Xero's own example of GET /CreditNotes (its OpenAPI description): a credit note of 34.50 with a 2.00
    cash refund on 14 March 2019 and 32.50 remaining."""
    spec = yaml.safe_load(XERO_SPEC.read_text(encoding="utf-8"))
    example = spec["paths"]["/CreditNotes"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    raw = next(n for n in example["CreditNotes"] if n.get("Payments"))
    note = to_record("CreditNotes", raw)
    assert isinstance(note, CreditNote)
    assert note.refunds == (Refund(date=dt.date(2019, 3, 14), amount=Decimal("2.00")),)
    assert note.unapplied == Decimal("32.50")


def _held(store: Store, day: dt.date) -> dict[str, Decimal]:
    return {c.source_id: c.amount for c in inputs.credit_items(store, day)}


def test_a_credit_refunded_later_is_still_held_on_the_days_before(tmp_path: Path) -> None:
    customer = {"customer_id": "C1", "currency": "GBP"}
    invoice = Invoice(id="I1", issue_date=D, due_date=D, total=Decimal("100.00"), **customer)
    # a credit note of 50: 20 applied on the 10th, 30 refunded on the 20th (the host says 0 is left)
    note = CreditNote(id="CN", date=D, amount=Decimal("50.00"), host_remaining=Decimal(0), **customer,
                      allocations=(Allocation(invoice_id="I1", amount=Decimal("20.00"),
                                              date=D + dt.timedelta(days=9)),),
                      refunds=(Refund(date=D + dt.timedelta(days=19), amount=Decimal("30.00")),))
    # an overpayment of 40, refunded in two parts, with no host figure (a csv-like record works it out)
    over = Payment(id="OP", date=D + dt.timedelta(days=4), amount=Decimal("40.00"), kind=PaymentKind.OVERPAYMENT,
                   refunds=(Refund(date=D + dt.timedelta(days=14), amount=Decimal("15.00")),
                            Refund(date=D + dt.timedelta(days=24), amount=Decimal("25.00"))), **customer)
    assert over.unapplied == 0
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"), invoice, note, over)
        assert _held(store, D) == {"CN": Decimal("50.00")}
        assert _held(store, D + dt.timedelta(days=9)) == {"CN": Decimal("30.00"), "OP": Decimal("40.00")}
        assert _held(store, D + dt.timedelta(days=14)) == {"CN": Decimal("30.00"), "OP": Decimal("25.00")}
        assert _held(store, D + dt.timedelta(days=19)) == {"OP": Decimal("25.00")}
        assert _held(store, D + dt.timedelta(days=24)) == {}
        # the refund that was dated wrong, corrected on the host: the stored dates follow
        moved = note.model_copy(update={"refunds": (Refund(date=D + dt.timedelta(days=29), amount=Decimal("30.00")),)})
        assert merge(store, moved).total("updated") == 1
        assert _held(store, D + dt.timedelta(days=24)) == {"CN": Decimal("30.00")}


def test_a_refund_read_from_xero_dates_the_aging_of_earlier_days(workspace: Workspace, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the sandbox's Xero API: a credit note partly refunded and an overpayment wholly refunded a week
    ago.  Today's aging holds neither refund; the aging as of eight days ago holds both, as it did then."""
    with SandboxServer(CompanySpec(seed=7, invoices=600, home_currency="GBP")) as sandbox:
        world = sandbox.world
        customer = next(h.record for h in world.live("customers") if not h.record.currency)
        days = [world.today - dt.timedelta(days=n) for n in (20, 15, 7)]
        refunded_on = days[2]
        world.add(CreditNote(id="CN-R", customer_id=customer.id, date=days[0], amount=Decimal("120.00"),
                             currency="GBP", refunds=(Refund(date=refunded_on, amount=Decimal("50.00")),)), world.now)
        world.add(Payment(id="OP-R", customer_id=customer.id, date=days[1], amount=Decimal("80.00"), currency="GBP",
                          kind=PaymentKind.OVERPAYMENT, refunds=(Refund(date=refunded_on, amount=Decimal("80.00")),)),
                  world.now)
        connect_host(workspace, sandbox, "xero", monkeypatch)
        assert sync_client(workspace, "xero").outcome == "succeeded"
        # the same books as a csv ledger: its refunds.csv dates the same refunds
        write_csv_company(world.ledger_records(), tmp_path / "ledger")
        assert (tmp_path / "ledger" / "refunds.csv").read_text().count(str(refunded_on)) == 2
        workspace.create_client("csv", "csv", path=str(tmp_path / "ledger"), currency="GBP")
        assert sync_client(workspace, "csv").outcome == "succeeded"

        def credit(day: dt.date, client: str = "xero") -> Decimal:
            report = reports.aging(workspace, client, as_of=day)
            return next((line.unapplied_credit for line in report.lines if line.name == customer.name), None) \
                or Decimal(0)

        after = credit(world.today)
        assert credit(refunded_on - dt.timedelta(days=1)) - after == Decimal("130.00")
        assert credit(refunded_on) == after
        assert credit(days[1] - dt.timedelta(days=1)) - after == Decimal("50.00")  # (no overpayment yet)
        for day in (world.today, refunded_on, refunded_on - dt.timedelta(days=1), days[1] - dt.timedelta(days=1)):
            assert credit(day, "csv") == credit(day), day


def test_a_xero_store_from_before_version_10_reads_everything_again(tmp_path: Path) -> None:
    for host in ("quickbooks", "xero", "csv"):
        path = tmp_path / f"{host}.sqlite"
        with Store(path) as store:
            merge(store, Customer(id="C1", name="Ngata Marine"), cursors={"cursor": "2026-01-30T00:00:00Z"})
            store.conn.execute("INSERT INTO sync_runs (started_at, host, mode, outcome) "
                               "VALUES ('2026-01-30T00:00:00Z', ?, 'full', 'succeeded')", (host,))
        conn = sqlite3.connect(path)
        conn.executescript("DROP INDEX payments_refunds; DROP INDEX credit_notes_refunds; "
                           "ALTER TABLE payments DROP COLUMN refunds; ALTER TABLE credit_notes DROP COLUMN refunds; "
                           "DELETE FROM schema_migrations WHERE version = 10")
        conn.close()
        with Store(path) as store:
            assert store.schema_version >= 10  # (migrated again)
            assert bool(store.cursors()) is (host != "xero")


def test_cash_collected_in_a_period_is_net_of_the_refunds_dated_in_it(tmp_path: Path) -> None:
    """The collection rate's cash: an overpayment handed back was never collected.  A refund counts in the
    period it is dated in, whenever its payment came; a credit note's refund pays back credit, not cash."""
    customer = {"customer_id": "C1", "currency": "GBP"}
    start, end = D + dt.timedelta(days=30), D + dt.timedelta(days=59)
    before = Payment(id="P0", date=D, amount=Decimal("300.00"), kind=PaymentKind.OVERPAYMENT,
                     refunds=(Refund(date=start + dt.timedelta(days=3), amount=Decimal("120.00")),), **customer)
    inside = Payment(id="P1", date=start + dt.timedelta(days=5), amount=Decimal("1000.00"),
                     kind=PaymentKind.OVERPAYMENT, **customer,
                     refunds=(Refund(date=start + dt.timedelta(days=9), amount=Decimal("200.00")),
                              Refund(date=end + dt.timedelta(days=1), amount=Decimal("50.00"))))
    note = CreditNote(id="CN", date=D, amount=Decimal("70.00"), **customer,
                      refunds=(Refund(date=start + dt.timedelta(days=1), amount=Decimal("70.00")),))
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"), before, inside, note)
        # 1,000.00 received, less 200.00 and 120.00 refunded in the period (the 50.00 is the next period's)
        assert figures.received(store, start, end, "GBP").home("GBP", {}) == Decimal("680.00")
        assert figures.received(store, end + dt.timedelta(days=1), end + dt.timedelta(days=30), "GBP") \
            .home("GBP", {}) == Decimal("-50.00")
        assert figures.received(store, D, D, "GBP").home("GBP", {}) == Decimal("300.00")


def test_a_payment_plan_does_not_count_money_refunded_as_left_on_account(tmp_path: Path) -> None:
    """Money a customer left on account counts towards its payment plan; once refunded, it is not there."""
    customer = {"customer_id": "C1", "currency": "GBP"}
    over = Payment(id="OP", date=D, amount=Decimal("500.00"), kind=PaymentKind.OVERPAYMENT, **customer,
                   refunds=(Refund(date=D + dt.timedelta(days=10), amount=Decimal("300.00")),))
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"), over)
        (before,) = inputs.plan_payments(store, D + dt.timedelta(days=9), {"C1"})["C1"]
        (after,) = inputs.plan_payments(store, D + dt.timedelta(days=10), {"C1"})["C1"]
    assert (before.unapplied, after.unapplied) == (Decimal("500.00"), Decimal("200.00"))
