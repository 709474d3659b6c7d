"""Xero writes the connector makes: history notes on invoices and contacts (250 characters at most), the
invoice e-mail (204, only for an authorised or paid sales invoice whose contact has an e-mail address),
contact attachments, and the online-invoice link.  Every write is kept in `World.writes`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

from connector.sandbox import xero_json
from connector.sandbox.world import HostRecord, World

NOTE_LIMIT = 250


def _invalid(message: str) -> Any:
    body = {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}]}
    return jsonify(body), 400


def _by_xero_id(world: World, entity: str, key: str) -> HostRecord | None:
    return next((h for h in world.records[entity].values() if h.xero_id.lower() == key.lower()), None)


# The record a write is about, or the answer to give instead: (record, None) or (None, answer).
Target = Callable[[str, str], tuple[HostRecord | None, Any]]


def register_xero_writes(app: Flask, world: World, denied: Any) -> None:
    """`denied()` answers the token and tenant checks, or None when the caller may write."""

    def target(entity: str, key: str) -> tuple[HostRecord | None, Any]:
        """The record a write is about, or the answer to give instead (refused, or not found)."""
        refused = denied()
        if refused is not None:
            return None, refused
        host = _by_xero_id(world, entity, key)
        if host is None:
            return None, (jsonify({"Type": "NotFound", "Status": 404, "Detail": "Resource not found"}), 404)
        return host, None

    _register_history(app, world, target)
    _register_emails_and_files(app, world, target)


def _register_history(app: Flask, world: World, target: Target) -> None:
    """History notes on invoices and contacts (`PUT …/History`), Xero's notes in the ledger."""

    def history(entity: str, key: str) -> Any:
        host, answer = target(entity, key)
        if host is None:
            return answer
        records = (request.get_json(force=True, silent=True) or {}).get("HistoryRecords") or []
        details = [r.get("Details", "") for r in records]
        if not details or any(not d or len(d) > NOTE_LIMIT for d in details):
            return _invalid(f"Each history record needs Details of 1 to {NOTE_LIMIT} characters")
        now = dt.datetime.now(dt.UTC)
        for text in details:
            world.record_write("xero", "history", f"{entity}/{host.xero_id}", {"Details": text})
        return jsonify({"HistoryRecords": [{"Details": d, "DateUTC": xero_json.ms_date(now),
                                            "DateUTCString": now.strftime("%Y-%m-%dT%H:%M:%S"),
                                            "User": "System Generated", "Changes": "Note"} for d in details]})

    app.add_url_rule("/api.xro/2.0/Invoices/<key>/History", "xero_invoice_history",
                     lambda key: history("invoices", key), methods=["PUT"])
    app.add_url_rule("/api.xro/2.0/Contacts/<key>/History", "xero_contact_history",
                     lambda key: history("customers", key), methods=["PUT"])


def _register_emails_and_files(app: Flask, world: World, target: Target) -> None:
    """Invoices e-mailed by Xero, files attached to contacts, and an invoice's online link."""

    @app.post("/api.xro/2.0/Invoices/<key>/Email")
    def xero_email(key: str) -> Any:
        host, answer = target("invoices", key)
        if host is None:
            return answer
        status = xero_json.invoice_status(world, host)
        contact = world.records["customers"][host.record.customer_id].record  # type: ignore[union-attr]
        if status not in ("AUTHORISED", "PAID"):
            return _invalid(f"Invoice must be AUTHORISED or PAID to be emailed, not {status}")
        if not contact.email:  # type: ignore[union-attr]
            return _invalid("The contact has no email address")
        world.record_write("xero", "email", f"invoices/{host.xero_id}", {"to": contact.email})  # type: ignore[union-attr]
        return Response(status=204)

    @app.put("/api.xro/2.0/Contacts/<key>/Attachments/<name>")
    def xero_contact_attachment(key: str, name: str) -> Any:
        host, answer = target("customers", key)
        if host is None:
            return answer
        content = request.get_data()
        attachment_id = str(uuid.uuid4())
        world.record_write("xero", "attachment", f"customers/{host.xero_id}", {"FileName": name, "size": len(content)})
        return jsonify({"Attachments": [{"AttachmentID": attachment_id, "FileName": name,
                                         "Url": f"{request.host_url}api.xro/2.0/Contacts/{key}/Attachments/{name}",
                                         "MimeType": request.mimetype or "application/octet-stream",
                                         "ContentLength": len(content)}]})

    @app.get("/api.xro/2.0/Invoices/<key>/OnlineInvoice")
    def xero_online_invoice(key: str) -> Any:
        host, answer = target("invoices", key)
        if host is None:
            return answer
        return jsonify({"OnlineInvoices": [{"OnlineInvoiceUrl": f"{request.host_url}online/{host.xero_id}"}]})
