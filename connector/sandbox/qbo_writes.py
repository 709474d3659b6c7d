"""QuickBooks writes the connector makes: sparse and full updates (SyncToken checked; a stale one is Fault
5010), void and delete, attachable notes, `/upload`, and invoice `/send`.

Only what the product writes back is modelled: `PrivateNote`, `CustomerMemo` and `DueDate` on an update;
other fields of a full update are accepted and ignored.  Every write is kept in `World.writes` for the
control API (`GET /_sandbox/writes`).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Flask, jsonify, request

from connector.records import Customer, Invoice, InvoiceStatus
from connector.sandbox import qbo_json
from connector.sandbox.world import PACIFIC, HostRecord, World


def _fault(code: str, message: str, detail: str, status: int = 400) -> Any:
    body = {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
                      "type": "ValidationFault"}, "time": dt.datetime.now(PACIFIC).isoformat(timespec="milliseconds")}
    return jsonify(body), status


def _find(world: World, entity: str, qbo_id: str) -> HostRecord | None:
    return next((h for h in world.live(entity) if h.qbo_id == str(qbo_id)), None)


def create_invoice(world: World, body: dict[str, Any]) -> Any:
    """A new invoice: CustomerRef and sales lines required; dates default to today and 30 days on."""
    customer = _find(world, "customers", (body.get("CustomerRef") or {}).get("value", ""))
    lines = [line for line in body.get("Line") or [] if line.get("DetailType") == "SalesItemLineDetail"]
    if customer is None or not lines:
        return _fault("2020", "Required param missing", "An invoice needs a known CustomerRef and at least one "
                      "SalesItemLineDetail line")
    total = sum((Decimal(str(line.get("Amount", 0))) for line in lines), Decimal(0))
    issued = dt.date.fromisoformat(body["TxnDate"]) if body.get("TxnDate") else world.today
    number = world.next_number("invoice")
    invoice = Invoice(id=f"INV-API{number:06d}", customer_id=customer.record.id,
                      number=body.get("DocNumber") or f"API{number}", issue_date=issued,
                      due_date=dt.date.fromisoformat(body["DueDate"]) if body.get("DueDate") else
                      issued + dt.timedelta(days=30),
                      currency=customer.record.currency or world.spec.home_currency,  # type: ignore[union-attr]
                      total=total, exchange_rate=world.rate_for(customer.record.currency))  # type: ignore[union-attr]
    host = world.add(invoice, world.now)
    world.record_write("qbo", "create", f"Invoice/{host.qbo_id}", body)
    return jsonify({"Invoice": qbo_json.render(world, host)})


def update_invoice(world: World, body: dict[str, Any], operation: str | None) -> Any:
    host = _find(world, "invoices", body.get("Id", ""))
    if host is None:
        return _fault("610", "Object Not Found", f"Object Not Found : Invoice {body.get('Id')}")
    if str(body.get("SyncToken")) != str(host.sync_token):
        return _fault("5010", "Stale Object Error", "Stale Object Error : You and someone else were working on "
                      f"this at the same time. SyncToken {body.get('SyncToken')} is not {host.sync_token}")
    at = max(world.now, host.updated + dt.timedelta(seconds=1))
    if operation == "delete":
        world.delete(host, at)
        world.record_write("qbo", "delete", f"Invoice/{host.qbo_id}", body)
        return jsonify({"Invoice": {"domain": "QBO", "status": "Deleted", "Id": host.qbo_id}})
    if operation == "void":
        world.change(host, host.record.model_copy(update={"status": InvoiceStatus.VOID}), at)
        world.record_write("qbo", "void", f"Invoice/{host.qbo_id}", body)
        return jsonify({"Invoice": qbo_json.render(world, host)})
    changes = {}
    if "DueDate" in body:
        changes["due_date"] = dt.date.fromisoformat(body["DueDate"])
    for field in ("PrivateNote", "CustomerMemo"):
        if field in body:
            host.set_extra(field, body[field])
    world.change(host, host.record.model_copy(update=changes), at)  # after the extras: answers re-render
    world.record_write("qbo", "update", f"Invoice/{host.qbo_id}", body)
    return jsonify({"Invoice": qbo_json.render(world, host)})


def realm_guard(denied: Callable[[str], Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator for QBO views: answer `denied(company)` first; run the view only for a caller who may."""
    def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(**kwargs: Any) -> Any:
            refused = denied(kwargs["company"])
            return refused if refused is not None else view(**kwargs)
        return checked
    return guarded


def register_qbo_writes(app: Flask, world: World, denied: Callable[[str], Any]) -> None:
    """`denied(company)` answers the auth check for a realm, or None when the caller may write."""
    guarded = realm_guard(denied)
    _register_record_writes(app, world, guarded)
    _register_notes_and_sends(app, world, guarded)


def _register_record_writes(app: Flask, world: World, guarded: Callable[[Any], Any]) -> None:
    """Invoices (created, updated, voided) and customers (created)."""

    @app.post("/v3/company/<company>/invoice")
    @guarded
    def qbo_invoice_write(company: str) -> Any:
        body = request.get_json(force=True, silent=True) or {}
        if not body.get("Id"):
            return create_invoice(world, body)
        return update_invoice(world, body, request.args.get("operation"))

    @app.post("/v3/company/<company>/customer")
    @guarded
    def qbo_customer_write(company: str) -> Any:
        body = request.get_json(force=True, silent=True) or {}
        if body.get("Id"):
            return _fault("2020", "Required param missing", "The sandbox only creates customers")
        name = (body.get("DisplayName") or "").strip()
        if not name:
            return _fault("2020", "Required param missing", "Required parameter DisplayName is missing")
        if any(isinstance(h.record, Customer) and h.record.name == name for h in world.live("customers")):
            return _fault("6240", "Duplicate Name Exists Error", f"The name supplied already exists. : {name}")
        email = (body.get("PrimaryEmailAddr") or {}).get("Address")
        customer = Customer(id=f"C-API{world.next_number('customer'):05d}", name=name, email=email,
                            currency=(body.get("CurrencyRef") or {}).get("value"))
        host = world.add(customer, world.now)
        world.record_write("qbo", "create", f"Customer/{host.qbo_id}", body)
        return jsonify({"Customer": qbo_json.render(world, host)})


def _register_notes_and_sends(app: Flask, world: World, guarded: Callable[[Any], Any]) -> None:
    """Notes and files attached to records (`attachable`, `upload`) and invoices e-mailed by QuickBooks (`send`)."""

    @app.post("/v3/company/<company>/attachable")
    @guarded
    def qbo_attachable(company: str) -> Any:
        body = request.get_json(force=True, silent=True) or {}
        refs = body.get("AttachableRef") or []
        if not body.get("Note") or not refs:
            return _fault("2020", "Required param missing", "An attachable note needs Note and AttachableRef")
        entry = world.record_write("qbo", "note", _targets(refs), body)
        return jsonify({"Attachable": _attachable(world, body, len(world.writes), entry["at"])})

    @app.post("/v3/company/<company>/upload")
    @guarded
    def qbo_upload(company: str) -> Any:
        parts = _multipart(request.get_data(), request.headers.get("Content-Type", ""))
        meta = json.loads(parts.get("file_metadata_01", (b"{}", ""))[0] or b"{}")
        if "file_content_01" not in parts:
            return _fault("2020", "Required param missing", "multipart upload with a file_content_01 part is required")
        content, encoding = parts["file_content_01"]
        if encoding == "base64":
            content = base64.b64decode(content)
        name = meta.get("FileName") or "upload"
        entry = world.record_write("qbo", "upload", _targets(meta.get("AttachableRef") or []),
                                   {"FileName": name, "size": len(content), **meta})
        attachable = _attachable(world, {**meta, "FileName": name, "Size": len(content)}, len(world.writes),
                                 entry["at"])
        return jsonify({"AttachableResponse": [{"Attachable": attachable}]})

    @app.post("/v3/company/<company>/invoice/<key>/send")
    @guarded
    def qbo_send(company: str, key: str) -> Any:
        host = _find(world, "invoices", key)
        if host is None:
            return _fault("610", "Object Not Found", f"Object Not Found : Invoice {key}")
        to = request.args.get("sendTo") or world.records["customers"][host.record.customer_id].record.email  # type: ignore[union-attr]
        if not to:
            return _fault("6000", "A business validation error has occurred", "No e-mail address to send to")
        for name, value in {"EmailStatus": "EmailSent", "BillEmail": {"Address": to},
                            "DeliveryInfo": {"DeliveryType": "Email", "DeliveryTime": world.now.isoformat()}}.items():
            host.set_extra(name, value)
        world.change(host, host.record, max(world.now, host.updated + dt.timedelta(seconds=1)))
        world.record_write("qbo", "send", f"Invoice/{host.qbo_id}", {"sendTo": to})
        return jsonify({"Invoice": qbo_json.render(world, host)})


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[bytes, str]]:
    """Parts by name as (content, transfer encoding), tolerating the bare LF line ends some SDKs send."""
    boundary = content_type.partition("boundary=")[2].strip('"')
    if not boundary:
        return {}
    parts: dict[str, tuple[bytes, str]] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.strip() in (b"--", b""):
            continue
        head, _, content = chunk.lstrip(b"\r\n").replace(b"\r\n", b"\n").partition(b"\n\n")
        headers = head.decode(errors="replace").lower()
        name = headers.partition('name="')[2].partition('"')[0]
        encoding = "base64" if "content-transfer-encoding: base64" in headers else ""
        parts[name] = (content.strip(b"\n"), encoding)
    return parts


def _targets(refs: list[dict[str, Any]]) -> str:
    return ",".join(f"{r.get('EntityRef', {}).get('type')}/{r.get('EntityRef', {}).get('value')}" for r in refs)


def _attachable(world: World, body: dict[str, Any], number: int, at: str) -> dict[str, Any]:
    return {**body, "domain": "QBO", "sparse": False, "Id": str(5000 + number), "SyncToken": "0",
            "MetaData": {"CreateTime": at, "LastUpdatedTime": at}}
