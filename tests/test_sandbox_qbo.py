"""The official SDKs against the sandbox's QuickBooks emulator: intuit-oauth for the OAuth flow, and
python-quickbooks for queries, unmodified except for their base URLs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

from connector.sandbox.company import CompanySpec
from connector.sandbox.server import DEMO_CLIENTS, SandboxServer

REDIRECT = "http://127.0.0.1:8765/callback"
(CLIENT_ID, SECRET), = DEMO_CLIENTS.items()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=5, invoices=2_500)) as server:
        yield server


@pytest.fixture(autouse=True)
def plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests-oauthlib (under python-quickbooks) refuses http:// unless told the transport is local."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def connect(sandbox: SandboxServer) -> AuthClient:
    """The authorisation-code flow as `connector auth` will run it: consent URL, redirect, code exchange."""
    client = AuthClient(CLIENT_ID, SECRET, REDIRECT, sandbox.url + "/.well-known/openid_sandbox_configuration")
    url = client.get_authorization_url([Scopes.ACCOUNTING])
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = parse_qs(urlparse(answer.headers["Location"]).query)
    assert back["state"] == [client.state_token]
    client.get_bearer_token(back["code"][0], realm_id=back["realmId"][0])
    return client


def quickbooks(sandbox: SandboxServer, client: AuthClient) -> QuickBooks:
    qb = QuickBooks(auth_client=client, refresh_token=client.refresh_token, company_id=client.realm_id,
                    minorversion=75)
    qb.api_url_v3 = sandbox.url + "/v3"  # the base URL: the only change from Intuit's own host
    return qb


def test_intuit_oauth_completes_the_flow_and_refresh_tokens_rotate(sandbox: SandboxServer) -> None:
    client = connect(sandbox)
    assert client.access_token and client.refresh_token and client.realm_id == "9130357766900456"
    first = client.refresh_token
    client.refresh()
    assert client.refresh_token != first  # rotated
    assert client.access_token
    with pytest.raises(AuthClientError):
        AuthClient(CLIENT_ID, "wrong", REDIRECT, sandbox.url + "/.well-known/openid_sandbox_configuration"
                   ).refresh(refresh_token=client.refresh_token)


def test_python_quickbooks_reads_the_company_info_by_query_and_by_id(sandbox: SandboxServer) -> None:
    qb = quickbooks(sandbox, connect(sandbox))
    (queried,) = CompanyInfo.all(qb=qb)
    read = CompanyInfo.get(1, qb=qb)
    assert queried.Id == read.Id == "1" and read.CompanyName == queried.CompanyName
    assert read.Country == "GB" and read.FiscalYearStartMonth == "January"  # the company's home is GBP
    assert CompanyInfo.count(qb=qb) == 1
    assert CompanyInfo.filter(CompanyName="nobody", qb=qb) == []


def test_python_quickbooks_pages_through_every_invoice(sandbox: SandboxServer) -> None:
    qb = quickbooks(sandbox, connect(sandbox))
    assert Invoice.count(qb=qb) == 2_500
    seen: list[str] = []
    while True:
        page = Invoice.all(order_by="Id", start_position=len(seen) + 1, max_results=1000, qb=qb)
        if not page:
            break
        seen += [invoice.Id for invoice in page]
    assert len(seen) == len(set(seen)) == 2_500
    invoice = Invoice.get(seen[0], qb=qb)
    assert invoice.CustomerRef.value and invoice.TotalAmt >= invoice.Balance >= 0


def test_queries_filter_and_escape_like_the_real_api(sandbox: SandboxServer) -> None:
    qb = quickbooks(sandbox, connect(sandbox))
    customers = Customer.all(max_results=1000, qb=qb)
    assert customers and all(c.Active for c in customers)
    name = next(c.DisplayName for c in customers if "'" in c.DisplayName)
    escaped = name.replace("'", "\\'")
    (found,) = Customer.where(f"DisplayName = '{escaped}'", qb=qb)
    assert found.DisplayName == name
    owing = Invoice.where("Balance > '0'", max_results=1000, qb=qb)
    assert owing and all(i.Balance > 0 for i in owing)


def test_an_unknown_or_missing_token_is_refused(sandbox: SandboxServer) -> None:
    answer = requests.get(f"{sandbox.url}/v3/company/9130357766900456/query",
                          params={"query": "SELECT * FROM Invoice"}, timeout=10,
                          headers={"Authorization": "Bearer nonsense", "Accept": "application/json"})
    assert answer.status_code == 401 and answer.json()["fault"]["error"][0]["code"] == "3200"


def test_cdc_after_the_clock_moves_brings_changes_and_hard_deletes(sandbox: SandboxServer) -> None:
    from quickbooks.cdc import change_data_capture
    from quickbooks.objects.payment import Payment

    qb = quickbooks(sandbox, connect(sandbox))
    before = requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["now"]
    moved = requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_days": 7}, timeout=30).json()
    assert moved["made"]["invoices"] > 0 and moved["made"]["payments"] > 0
    changes = change_data_capture([Invoice, Payment], before, qb=qb)
    invoices = changes.Invoice._object_list
    assert len(invoices) >= moved["made"]["invoices"]
    deleted = [p for p in changes.Payment._object_list if getattr(p, "status", None) == "Deleted"]
    assert len(deleted) == moved["made"]["deletions"]
    raw = requests.get(f"{sandbox.url}/v3/company/9130357766900456/cdc", timeout=10,
                       params={"entities": "Invoice", "changedSince": "2020-01-01T00:00:00-08:00"},
                       headers={"Authorization": f"Bearer {qb.auth_client.access_token}", "Accept": "application/json"})
    assert raw.status_code == 400 and "30 days" in raw.json()["Fault"]["Error"][0]["Detail"]


def test_aged_receivables_report_in_the_real_layout_adds_up(sandbox: SandboxServer) -> None:
    from decimal import Decimal

    qb = quickbooks(sandbox, connect(sandbox))
    body = qb.get_report("AgedReceivables", qs={"report_date": "2026-06-30"})
    titles = [c["ColTitle"] for c in body["Columns"]["Column"]]
    assert titles == ["", "Current", "1 - 30", "31 - 60", "61 - 90", "91 and over", "Total"]
    *rows, total = body["Rows"]["Row"]
    assert total["group"] == "GrandTotal" and total["Summary"]["ColData"][0]["value"] == "TOTAL"

    def money(cell: dict) -> Decimal:
        return Decimal(cell["value"] or "0")
    for row in rows:
        cells = row["ColData"]
        assert sum(money(c) for c in cells[1:-1]) == money(cells[-1]) > 0
    assert sum(money(r["ColData"][-1]) for r in rows) == money(total["Summary"]["ColData"][-1])
    earlier = qb.get_report("AgedReceivables", qs={"report_date": "2026-01-31"})
    assert earlier["Header"]["Option"][0]["Value"] == "2026-01-31"
    assert earlier["Rows"]["Row"][-1]["Summary"]["ColData"][-1] != total["Summary"]["ColData"][-1]


def test_writes_sync_token_void_notes_send_and_requestid_replay(sandbox: SandboxServer) -> None:
    from quickbooks.exceptions import QuickbooksException

    qb = quickbooks(sandbox, connect(sandbox))
    invoice = Invoice.where("Balance > '0'", max_results=1, qb=qb)[0]
    invoice.PrivateNote = "Collections: reminder 1 sent 2026-07-01"
    updated = invoice.save(qb=qb, request_id="note-1")
    assert updated.PrivateNote == invoice.PrivateNote and int(updated.SyncToken) == int(invoice.SyncToken) + 1
    stale = Invoice.get(invoice.Id, qb=qb)
    stale.SyncToken = invoice.SyncToken  # the old token
    with pytest.raises(QuickbooksException) as caught:
        stale.save(qb=qb)
    assert caught.value.error_code == 5010
    again = qb.update_object("Invoice", json.dumps({"Id": invoice.Id, "SyncToken": invoice.SyncToken, "sparse": True,
                                                    "PrivateNote": "x"}), request_id="note-1")
    assert again["Invoice"]["SyncToken"] == updated.SyncToken  # replayed: the original answer, nothing redone
    note = qb.create_object("Attachable", json.dumps({"Note": "Promised to pay by 10 July", "AttachableRef": [
        {"EntityRef": {"type": "Invoice", "value": invoice.Id}}]}))
    assert note["Attachable"]["Id"]
    sent = Invoice.get(invoice.Id, qb=qb).send(qb=qb, send_to="ar@customer.example")
    assert sent["Invoice"]["EmailStatus"] == "EmailSent"
    writes = requests.get(f"{sandbox.url}/_sandbox/writes", timeout=10).json()
    assert [w["kind"] for w in writes[-3:]] == ["update", "note", "send"]
    assert sum(1 for w in writes if w["kind"] == "update") == 1  # the replay did not write twice


def test_python_quickbooks_creates_a_customer_and_an_invoice(sandbox: SandboxServer) -> None:
    from quickbooks.exceptions import QuickbooksException
    from quickbooks.objects.base import EmailAddress, Ref
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail

    qb = quickbooks(sandbox, connect(sandbox))
    customer = Customer()
    customer.DisplayName = "Ngāti Whātua Orākei Trust"
    customer.PrimaryEmailAddr = EmailAddress()
    customer.PrimaryEmailAddr.Address = "accounts@trust.example"
    saved = customer.save(qb=qb)
    assert saved.Id and saved.DisplayName == customer.DisplayName
    with pytest.raises(QuickbooksException):
        Customer.from_json({"DisplayName": customer.DisplayName}).save(qb=qb)  # duplicate name: Fault 6240
    invoice = Invoice()
    line = SalesItemLine()
    line.Amount = 125.5
    line.SalesItemLineDetail = SalesItemLineDetail()
    invoice.Line = [line]
    invoice.CustomerRef = Ref()
    invoice.CustomerRef.value = saved.Id
    created = invoice.save(qb=qb)
    assert created.Id and created.TotalAmt == 125.5 and created.Balance == 125.5
    assert Invoice.get(created.Id, qb=qb).CustomerRef.value == saved.Id


def test_upload_void_delete_and_paging_payments_and_credit_memos(sandbox: SandboxServer) -> None:
    from quickbooks.objects.attachable import Attachable, AttachableRef
    from quickbooks.objects.creditmemo import CreditMemo
    from quickbooks.objects.payment import Payment

    qb = quickbooks(sandbox, connect(sandbox))
    assert len(Payment.all(max_results=1000, qb=qb)) > 100 and CreditMemo.all(max_results=1000, qb=qb)
    invoice = Invoice.where("Balance > '0'", max_results=1, qb=qb)[0]
    statement = Attachable()
    ref = AttachableRef()
    ref.EntityRef = {"type": "Invoice", "value": invoice.Id}
    statement.AttachableRef.append(ref)
    statement.FileName = "statement.pdf"
    statement._FileBytes = b"%PDF-1.7 statement"
    statement.ContentType = "application/pdf"
    statement.save(qb=qb)
    upload = requests.get(f"{sandbox.url}/_sandbox/writes", timeout=10).json()[-1]
    assert (upload["kind"], upload["body"]["FileName"], upload["body"]["size"]) == ("upload", "statement.pdf", 18)
    Invoice.get(invoice.Id, qb=qb).void(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 0
    other = Invoice.where("Balance > '0'", max_results=1, qb=qb)[0]
    other.delete(qb=qb)
    assert other.Id not in [i.Id for i in Invoice.where(f"Id = '{other.Id}'", qb=qb)]


def test_credit_memo_applications_read_as_zero_total_payments_like_qbo(sandbox: SandboxServer) -> None:
    from decimal import Decimal

    from quickbooks.objects.creditmemo import CreditMemo
    from quickbooks.objects.payment import Payment

    qb = quickbooks(sandbox, connect(sandbox))
    memo = next(m for m in CreditMemo.all(max_results=1000, qb=qb) if m.RemainingCredit < m.TotalAmt)
    applied = [p for p in Payment.where("TotalAmt = '0'", max_results=1000, qb=qb)
               if any(t.TxnId == memo.Id and t.TxnType == "CreditMemo" for line in p.Line for t in line.LinkedTxn)]
    assert applied, "the credit memo's application is a Payment linking it"
    (application,) = applied
    invoice_line, memo_line = application.Line
    assert invoice_line.LinkedTxn[0].TxnType == "Invoice" and invoice_line.Amount == memo_line.Amount
    assert Decimal(str(memo.TotalAmt)) - Decimal(str(memo.RemainingCredit)) == Decimal(str(memo_line.Amount))
    invoice = Invoice.get(invoice_line.LinkedTxn[0].TxnId, qb=qb)
    assert {"TxnId": application.Id, "TxnType": "Payment"} in [{"TxnId": t.TxnId, "TxnType": t.TxnType}
                                                               for t in invoice.LinkedTxn]
