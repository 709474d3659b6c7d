"""Build the replay cassettes from real recorded payloads (run once; the cassettes are committed).

- `qbo_full_sync.yaml`: QBO's discovery document (Intuit's own, tests data of intuit/QuickBooks-V3-DotNET-SDK,
  Apache-2.0) and one query answer per entity holding the real QBO sandbox records of tests/data/qbo (MIT).
- `xero_full_sync.yaml`: one page per endpoint built from the real Demo Company invoices of tests/data/xero
  (MIT): the invoices as recorded, their contacts and their embedded payments as Xero lists them.

    python tests/cassettes/build_from_real_payloads.py ../shared/data/qbo/oauth/discovery.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlencode

import yaml

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
REALM = "9130355377388596"
QBO_TIME = "2023-03-23T07:00:00.000-07:00"


def interaction(method: str, uri: str, body: object, request_body: str | None = None) -> dict:
    return {"request": {"body": request_body, "headers": {}, "method": method, "uri": uri},
            "response": {"body": {"string": json.dumps(body)}, "headers": {"Content-Type": ["application/json"]},
                         "status": {"code": 200, "message": "OK"}}}


def qbo(discovery: Path) -> None:
    records = json.loads((DATA / "qbo" / "sandbox_records.json").read_text())
    steps = [interaction("GET", "https://developer.api.intuit.com/.well-known/openid_configuration",
                         json.loads(discovery.read_text()))]
    for entity in ("Customer", "Invoice", "Payment", "CreditMemo"):
        page = {"QueryResponse": {entity: records[entity], "startPosition": 1, "maxResults": len(records[entity])},
                "time": QBO_TIME}
        steps.append(interaction("POST", f"https://quickbooks.api.intuit.com/v3/company/{REALM}/query?minorversion=75",
                                 page))
    (HERE / "qbo_full_sync.yaml").write_text(yaml.safe_dump({"interactions": steps, "version": 1}, sort_keys=False))


def xero() -> None:
    invoices = json.loads((DATA / "xero" / "demo_company_invoices.json").read_text())["Invoices"]
    contacts = {i["Contact"]["ContactID"]: {**i["Contact"], "IsCustomer": True, "ContactStatus": "ACTIVE",
                                            "UpdatedDateUTC": i["UpdatedDateUTC"]} for i in invoices}
    payments = [{**p, "Status": "AUTHORISED", "PaymentType": "ACCRECPAYMENT", "UpdatedDateUTC": i["UpdatedDateUTC"],
                 "Invoice": {"Type": "ACCREC", "InvoiceID": i["InvoiceID"], "InvoiceNumber": i["InvoiceNumber"],
                             "CurrencyCode": i["CurrencyCode"], "Contact": i["Contact"]}}
                for i in invoices for p in i.get("Payments", [])]
    lists = {"Contacts": (list(contacts.values()), "IsCustomer==true"), "Invoices": (invoices, 'Type=="ACCREC"'),
             "CreditNotes": ([], 'Type=="ACCRECCREDIT"'), "Payments": (payments, None),
             "Overpayments": ([], None), "Prepayments": ([], None)}
    steps = []
    for endpoint, (items, where) in lists.items():
        query = {"page": 1, "pageSize": 1000, "order": "UpdatedDateUTC ASC", **({"where": where} if where else {})}
        body = {"Id": "00000000-0000-0000-0000-000000000000", "Status": "OK", "ProviderName": "cassette",
                "DateTimeUTC": "/Date(1609459200000)/",
                "pagination": {"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": len(items)}, endpoint: items}
        steps.append(interaction("GET", f"https://api.xero.com/api.xro/2.0/{endpoint}?{urlencode(query)}", body))
    (HERE / "xero_full_sync.yaml").write_text(yaml.safe_dump({"interactions": steps, "version": 1}, sort_keys=False))


if __name__ == "__main__":
    qbo(Path(sys.argv[1]))
    xero()
