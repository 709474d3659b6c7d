"""xero-python against the sandbox's Xero emulator, unmodified except for its base and token URLs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import requests
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.sandbox_auth import CLIENT_ID, SECRET, code_flow


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=6, invoices=1_500)) as server:
        yield server


def consent(sandbox: SandboxServer) -> dict:
    """The token as an app saves it for xero-python: the SDK's keys only, with `expires_at` added."""
    token = code_flow(sandbox, "xero")
    return {k: token[k] for k in ("access_token", "refresh_token", "expires_in", "token_type", "scope")} | {
        "expires_at": time.time() + token["expires_in"]}


@pytest.fixture
def api(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> tuple[ApiClient, list[dict], str]:
    monkeypatch.setattr(TokenApi, "refresh_token_url", f"{sandbox.url}/connect/token")
    saved: list[dict] = [consent(sandbox)]
    config = Configuration()
    config.oauth2_token = OAuth2Token(client_id=CLIENT_ID, client_secret=SECRET)  # the singleton gotcha
    client = ApiClient(config, oauth2_token_getter=lambda: saved[-1], oauth2_token_saver=saved.append)
    (connection,) = IdentityApi(client, base_url=sandbox.url).get_connections()
    return client, saved, connection.tenant_id


def accounting(sandbox: SandboxServer, client: ApiClient) -> AccountingApi:
    return AccountingApi(client, base_url=f"{sandbox.url}/api.xro/2.0")


def test_xero_python_pages_through_every_entity(sandbox: SandboxServer, api) -> None:
    client, _, tenant = api
    xero = accounting(sandbox, client)
    seen, page = [], 1
    while True:
        batch = xero.get_invoices(tenant, page=page, page_size=500, order="UpdatedDateUTC ASC", where='Type=="ACCREC"')
        seen += [i.invoice_id for i in batch.invoices]
        if page >= batch.pagination.page_count:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 1_500 == batch.pagination.item_count
    one = xero.get_invoices(tenant, i_ds=[seen[0]]).invoices[0]
    assert one.type == "ACCREC" and isinstance(one.date, dt.date) and one.updated_date_utc.tzinfo
    assert one.amount_due <= one.total
    bills = xero.get_invoices(tenant, where='Type=="ACCPAY"', page=1, page_size=1000).invoices
    assert len(bills) == 1_500 // 25 and all(b.type == "ACCPAY" for b in bills)  # a connector must skip these
    contacts = xero.get_contacts(tenant, page=1, page_size=1000).contacts
    customers = xero.get_contacts(tenant, where="IsCustomer==true", page=1, page_size=1000).contacts
    assert {c.is_supplier for c in contacts} == {True, False} and all(c.is_customer for c in customers)
    assert xero.get_payments(tenant, page=1, page_size=1000).payments
    notes = xero.get_credit_notes(tenant, page=1, page_size=1000).credit_notes
    assert notes and all(n.type == "ACCRECCREDIT" for n in notes)


def test_if_modified_since_and_statuses(sandbox: SandboxServer, api) -> None:
    client, _, tenant = api
    xero = accounting(sandbox, client)
    everything = xero.get_invoices(tenant, page=1, page_size=1000).invoices
    stamps = sorted(i.updated_date_utc for i in everything)
    middle = stamps[len(stamps) // 2]
    recent = xero.get_invoices(tenant, if_modified_since=middle, page=1, page_size=1000).invoices
    assert recent and all(i.updated_date_utc >= middle for i in recent) and len(recent) < len(everything)
    voided = xero.get_invoices(tenant, statuses=["VOIDED"], page=1, page_size=1000).invoices
    assert all(i.status == "VOIDED" for i in voided)


def test_the_sdk_refreshes_an_expired_token_and_the_refresh_token_rotates(sandbox: SandboxServer, api) -> None:
    client, saved, tenant = api
    saved.append({**saved[-1], "expires_at": time.time() - 10})
    before = saved[-1]["refresh_token"]
    accounting(sandbox, client).get_contacts(tenant, page=1, page_size=10)
    assert saved[-1]["refresh_token"] != before and saved[-1]["expires_at"] > time.time()


def test_a_wrong_tenant_is_refused(sandbox: SandboxServer, api) -> None:
    client, saved, _ = api
    answer = requests.get(f"{sandbox.url}/api.xro/2.0/Invoices", timeout=10, headers={
        "Authorization": f"Bearer {saved[-1]['access_token']}", "xero-tenant-id": "not-mine",
        "Accept": "application/json"})
    assert answer.status_code == 403


def test_after_the_clock_moves_if_modified_since_brings_exactly_the_changes(sandbox: SandboxServer, api) -> None:
    client, _, tenant = api
    xero = accounting(sandbox, client)
    stamp = max(i.updated_date_utc for i in xero.get_invoices(tenant, page=1, page_size=1000).invoices +
                xero.get_invoices(tenant, page=2, page_size=1000).invoices)
    moved = requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_days": 5}, timeout=30).json()["made"]
    since = stamp + dt.timedelta(seconds=1)
    changed = xero.get_invoices(tenant, if_modified_since=since, page=1, page_size=1000).invoices
    assert len([i for i in changed if i.invoice_number.startswith("N")]) == moved["invoices"]
    assert len([i for i in changed if i.status == "VOIDED"]) == moved["voids"]
    payments = xero.get_payments(tenant, if_modified_since=since, page=1, page_size=1000).payments
    assert len([p for p in payments if p.status == "DELETED"]) >= moved["deletions"]


def test_overpayments_and_the_aged_receivables_report_for_a_contact(sandbox: SandboxServer, api) -> None:
    from decimal import Decimal

    client, _, tenant = api
    xero = accounting(sandbox, client)
    overpayments = xero.get_overpayments(tenant, page=1, page_size=1000).overpayments
    assert overpayments and all(o.type == "RECEIVE-OVERPAYMENT" and o.remaining_credit > 0 for o in overpayments)
    prepayments = xero.get_prepayments(tenant, page=1, page_size=1000).prepayments
    ahead = [h for h in sandbox.world.records["payments"].values() if h.record.kind.value == "prepayment"]
    assert len(prepayments) == len(ahead) >= 1  # a few customers paid ahead of any invoice
    assert all(p.type == "RECEIVE-PREPAYMENT" and p.remaining_credit == p.total > 0 and not p.allocations
               for p in prepayments)
    assert not {p.prepayment_id for p in prepayments} & {o.overpayment_id for o in overpayments}
    invoices = xero.get_invoices(tenant, statuses=["AUTHORISED"], page=1, page_size=1000).invoices
    contact = invoices[0].contact.contact_id
    owed = sum(Decimal(str(i.amount_due)) for i in invoices if i.contact.contact_id == contact)
    report = xero.get_report_aged_receivables_by_contact(tenant, contact_id=contact).reports[0]
    assert report.report_type == "AgedReceivablesByContact"
    closing = report.rows[-1].rows[-1].cells
    assert closing[0].value == "Closing Balance" and Decimal(closing[-1].value) == owed


def test_history_notes_email_attachment_online_link_and_idempotency(sandbox: SandboxServer, api) -> None:
    from xero_python.accounting import HistoryRecord, HistoryRecords, RequestEmpty
    from xero_python.exceptions import ApiException

    client, _, tenant = api
    xero = accounting(sandbox, client)
    invoice = xero.get_invoices(tenant, statuses=["AUTHORISED"], page=1, page_size=10).invoices[0]
    note = HistoryRecords(history_records=[HistoryRecord(details="Reminder 1 sent by the collections connector")])
    first = xero.create_invoice_history(tenant, invoice.invoice_id, note, idempotency_key="hist-1")
    again = xero.create_invoice_history(tenant, invoice.invoice_id, note, idempotency_key="hist-1")
    assert first.history_records[0].details == again.history_records[0].details
    with pytest.raises(ApiException) as caught:
        xero.create_invoice_history(tenant, invoice.invoice_id,
                                    HistoryRecords(history_records=[HistoryRecord(details="x" * 251)]))
    assert caught.value.status == 400
    contacts = {c.contact_id: c for c in xero.get_contacts(tenant, page=1, page_size=1000).contacts}
    with_email = next(i for i in xero.get_invoices(tenant, statuses=["AUTHORISED"], page=1, page_size=1000).invoices
                      if contacts[i.contact.contact_id].email_address)
    xero.email_invoice(tenant, with_email.invoice_id, RequestEmpty(), idempotency_key="mail-1")
    xero.email_invoice(tenant, with_email.invoice_id, RequestEmpty(), idempotency_key="mail-1")
    xero.create_contact_history(tenant, with_email.contact.contact_id, note)
    xero.create_contact_attachment_by_file_name(tenant, with_email.contact.contact_id, "statement.pdf", b"%PDF-1.7")
    link = xero.get_online_invoice(tenant, with_email.invoice_id).online_invoices[0].online_invoice_url
    assert with_email.invoice_id in link
    writes = requests.get(f"{sandbox.url}/_sandbox/writes", timeout=10).json()
    kinds = [w["kind"] for w in writes if w["host"] == "xero"]
    assert kinds == ["history", "email", "history", "attachment"]  # each idempotent retry answered, not redone
