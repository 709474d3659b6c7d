"""Every Xero response the sandbox gives for the connector's endpoints validates against Xero's official
OpenAPI description (tests/data/xero, MIT)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.test_sandbox_guard import xero_token

SPECS = Path(__file__).parent / "data" / "xero"


@pytest.fixture(scope="module")
def accounting() -> OpenAPI:
    return OpenAPI.from_path((SPECS / "xero_accounting.yaml").resolve(), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def identity() -> OpenAPI:
    return OpenAPI.from_path((SPECS / "xero-identity.yaml").resolve(), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=12, invoices=300), rate_limits="off") as server:
        yield server


@pytest.fixture(scope="module")
def call(sandbox: SandboxServer):  # type: ignore[no-untyped-def]
    token = xero_token(sandbox)

    def send(method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": sandbox.app.config["TENANT"],
                   "Accept": "application/json", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return requests.request(method, sandbox.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]
    return send


def check(spec: OpenAPI, answer: requests.Response, host: str) -> None:
    """Validate an answer as if it came from Xero's own host (the descriptions' servers)."""
    base = answer.url.split("/api.xro")[0].split("/connections")[0].split("/Connections")[0]
    answer.request.url = answer.request.url.replace(base, host)
    spec.validate_response(RequestsOpenAPIRequest(answer.request), RequestsOpenAPIResponse(answer))


def first(call, name: str, key: str) -> str:  # type: ignore[no-untyped-def]
    return call("GET", f"/api.xro/2.0/{name}", params={"page": 1}).json()[name][0][key]


@pytest.mark.parametrize("name", ["Invoices", "Contacts", "Payments", "CreditNotes", "Overpayments", "Prepayments"])
def test_list_endpoints_validate(accounting: OpenAPI, call, name: str) -> None:  # type: ignore[no-untyped-def]
    for params in ({"page": 1, "pageSize": 100}, {"page": 2, "pageSize": 50, "order": "UpdatedDateUTC ASC"}):
        answer = call("GET", f"/api.xro/2.0/{name}", params=params)
        assert answer.status_code == 200
        assert params["page"] == 2 or answer.json()[name]  # the records themselves are validated, not just the envelope
        check(accounting, answer, "https://api.xero.com")
    if name in ("Invoices", "Contacts"):
        summary = call("GET", f"/api.xro/2.0/{name}", params={"page": 1, "summaryOnly": "true"})
        check(accounting, summary, "https://api.xero.com")


def test_report_online_invoice_and_writes_validate(accounting: OpenAPI, call) -> None:  # type: ignore[no-untyped-def]
    invoice = first(call, "Invoices", "InvoiceID")
    contact = first(call, "Contacts", "ContactID")
    answers = [
        call("GET", "/api.xro/2.0/Reports/AgedReceivablesByContact", params={"contactId": contact}),
        call("GET", f"/api.xro/2.0/Invoices/{invoice}/OnlineInvoice"),
        call("PUT", f"/api.xro/2.0/Invoices/{invoice}/History", json={"HistoryRecords": [{"Details": "Reminder sent"}]}),
        call("PUT", f"/api.xro/2.0/Contacts/{contact}/History", json={"HistoryRecords": [{"Details": "Called"}]}),
        call("PUT", f"/api.xro/2.0/Contacts/{contact}/Attachments/statement.pdf", data=b"%PDF-1.7",
             headers={"Content-Type": "application/octet-stream"}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        check(accounting, answer, "https://api.xero.com")


def test_connections_validate(identity: OpenAPI, call) -> None:  # type: ignore[no-untyped-def]
    for path in ("/Connections", "/connections"):  # the SDK's spelling and Xero's documented one
        answer = call("GET", path)
        answer.request.url = answer.request.url.replace("/connections", "/Connections")
        check(identity, answer, "https://api.xero.com")


def test_a_response_that_breaks_the_schema_is_caught(accounting: OpenAPI, call) -> None:  # type: ignore[no-untyped-def]
    answer = call("GET", "/api.xro/2.0/Invoices", params={"page": 1})
    broken = json.loads(answer.content)
    broken["Invoices"][0]["Total"] = "a lot"
    answer._content = json.dumps(broken).encode()
    with pytest.raises(Exception, match="(?i)valid"):
        check(accounting, answer, "https://api.xero.com")
