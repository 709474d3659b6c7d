"""Xero Accounting at its real paths: consent, tokens, connections, and the AR list endpoints.

Lists take `If-Modified-Since` (compared with `UpdatedDateUTC`, to the second), `page` (1-based; without
it, everything), `pageSize` (≤ 1000, default 100), `order` (`UpdatedDateUTC ASC|DESC` or any top-level
field), `Statuses`, `IDs`, `summaryOnly` and the `where` forms the connector uses (`Type=="ACCREC"`,
`Status=="X"`, `IsCustomer==true`); they answer with Xero's envelope and `pagination` block.  Every call
needs a bearer token and the `xero-tenant-id` it was issued for.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Flask, jsonify, redirect, request

from connector.records import PaymentKind
from connector.sandbox import xero_json
from connector.sandbox.oauth import OAuthError, TokenService
from connector.sandbox.world import Listed, World
from connector.sandbox.xero_reports import aged_receivables_by_contact
from connector.sandbox.xero_writes import register_xero_writes

MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE = 1000, 100


def _envelope(name: str, items: list[Any], page: int | None, size: int, total: int,
              now: dt.datetime) -> dict[str, Any]:
    body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "connector sandbox",
                            "DateTimeUTC": xero_json.ms_date(now)}
    if page is not None:
        body["pagination"] = {"page": page, "pageSize": size, "pageCount": max(1, -(-total // size)),
                              "itemCount": total}
    body[name] = items
    return body


def _problem(status: int, kind: str, message: str) -> Any:
    return jsonify({"Type": kind, "Title": kind, "Status": status, "Detail": message}), status


def _updated(item: dict[str, Any]) -> dt.datetime:
    ms = int(re.match(r"/Date\((-?\d+)", item["UpdatedDateUTC"]).group(1))  # type: ignore[union-attr]
    return xero_json.EPOCH + dt.timedelta(milliseconds=ms)


def _since(header: str | None) -> dt.datetime | None:
    if not header:
        return None
    moment = dt.datetime.fromisoformat(header.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).replace(microsecond=0)


_WHERE = re.compile(r'^\s*(\w+)\s*==\s*(?:"([^"]*)"|(true|false))\s*$', re.I)


def _where(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """The `where` forms the connector sends: `Field=="value"` or `Field==true`, joined by AND or &&."""
    if not text:
        return lambda item: True
    tests = []
    for part in re.split(r"\s+AND\s+|&&", text):
        match = _WHERE.match(part)
        if not match:
            raise ValueError(f"unsupported where clause: {part.strip()}")
        field, string, flag = match.groups()
        wanted: Any = string if string is not None else flag.lower() == "true"
        tests.append((field, wanted))
    return lambda item: all(item.get(f) == w for f, w in tests)


def register_xero(app: Flask, world: World, tokens: TokenService, tenant: str) -> None:
    """Serve one Xero organisation (`tenant`) on `app`."""
    denied = _denial(tokens, tenant)
    _register_identity(app, tokens, tenant)
    _register_lists(app, world, denied)
    register_xero_writes(app, world, denied)

    @app.get("/api.xro/2.0/Reports/AgedReceivablesByContact")
    def xero_aged_receivables() -> Any:
        refused = denied()
        if refused is not None:
            return refused
        try:
            on = dt.date.fromisoformat(request.args["date"]) if request.args.get("date") else None
        except ValueError:
            return _problem(400, "ValidationException", "date must be YYYY-MM-DD")
        body = aged_receivables_by_contact(world, request.args.get("contactId", ""), on)
        if body is None:
            return _problem(404, "NotFound", "no contact with that contactId")
        return jsonify(body)


def _denial(tokens: TokenService, tenant: str) -> Callable[[], Any]:
    """The answer refusing the current request (401, or 403 for another tenant), or None to go on."""
    def denied() -> Any:
        granted = tokens.tenant_of(request.headers.get("Authorization"))
        if granted is None:
            return _problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        if request.headers.get("xero-tenant-id") != granted or granted != tenant:
            return _problem(403, "Forbidden", "AuthorizationUnsuccessful: xero-tenant-id is missing or not yours")
        return None
    return denied


def _register_identity(app: Flask, tokens: TokenService, tenant: str) -> None:
    """Consent, the token endpoint and `/connections`."""

    @app.get("/identity/connect/authorize")
    def xero_consent() -> Any:
        args = request.args
        try:
            code = tokens.authorize(args.get("client_id", ""), args.get("redirect_uri", ""), tenant)
        except OAuthError as exc:
            return jsonify({"error": exc.error}), exc.status
        return redirect(f"{args.get('redirect_uri', '')}?{urlencode({'code': code, 'state': args.get('state', '')})}")

    @app.post("/connect/token")
    def xero_token() -> Any:
        form = request.form
        try:
            client_id, secret = _client(form)
            tokens.check_client(client_id, secret)
            if form.get("grant_type") == "authorization_code":
                issued = tokens.exchange(client_id, form.get("code", ""), form.get("redirect_uri", ""))
            elif form.get("grant_type") == "refresh_token":
                issued = tokens.refresh(client_id, form.get("refresh_token", ""))
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return jsonify({"error": exc.error}), exc.status
        issued.pop("x_refresh_token_expires_in", None)
        return jsonify({**issued, "token_type": "Bearer",
                        "scope": form.get("scope") or "offline_access accounting.transactions accounting.contacts"})

    @app.get("/connections")
    @app.get("/Connections")
    def xero_connections() -> Any:
        if tokens.tenant_of(request.headers.get("Authorization")) is None:
            return _problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        stamp = "2024-01-02T03:04:05.0000000Z"  # Xero sends no zone; its OpenAPI description wants one
        return jsonify([{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"connection/{tenant}")),
                         "authEventId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"auth/{tenant}")), "tenantId": tenant,
                         "tenantType": "ORGANISATION", "tenantName": "Sandbox Trading Ltd",
                         "createdDateUtc": stamp, "updatedDateUtc": stamp}])


def _register_lists(app: Flask, world: World, denied: Callable[[], Any]) -> None:
    """The AR list endpoints: every one filters, orders and pages the same way (`listing`)."""

    def listing(name: str, items: Callable[[], Iterable[Listed]]) -> Any:
        refused = denied()
        if refused is not None:
            return refused
        args = request.args
        try:
            keep = _where(args.get("where"))
            size = int(args.get("pageSize", DEFAULT_PAGE_SIZE))
            page = int(args["page"]) if "page" in args else None
            since = _since(request.headers.get("If-Modified-Since"))
        except ValueError as exc:
            return _problem(400, "ValidationException", str(exc))
        if not 1 <= size <= MAX_PAGE_SIZE:
            return _problem(400, "ValidationException", f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        query = repr((name, sorted((k, v) for k, v in args.items() if k not in ("page", "pageSize")), since))

        def choose() -> list[orjson.Fragment]:
            listed_only = _list_filter(args, name)
            rows = (pair for pair in items() if keep(pair[0]) and listed_only(pair[0])
                    and (since is None or _updated(pair[0]) >= since))
            return _ordered(rows, args.get("order"))
        rows = world.selection(("xero", query), choose)
        total = len(rows)
        if page is not None:
            rows = rows[(page - 1) * size: page * size]
        return jsonify(_envelope(name, rows, page, size, total, world.now))

    def every(kind: str, entity: str, render: Callable[[Any], Any], live: bool = False,
              only: Callable[[Any], bool] | None = None) -> Iterator[Listed]:
        """The entity's list items one at a time, so that only what the request keeps stays in memory;
        `only` picks the host records worth rendering at all."""
        hosts = world.live(entity) if live else list(world.records[entity].values())
        for h in hosts:
            if only is None or only(h):
                yield from world.listed(kind, entity, h.record.id, functools.partial(render, h))

    def invoices() -> Iterator[Listed]:
        brief = request.args.get("summaryOnly", "").lower() == "true"  # once, not per record: it is costly
        yield from every(f"xero-invoice-{brief}", "invoices", lambda h: xero_json.invoice(world, h, brief))
        yield from every("xero", "bills", lambda h: xero_json.bill(world, h))

    def contacts() -> Iterator[Listed]:
        yield from every("xero", "customers", lambda h: xero_json.contact(world, h), live=True)
        yield from every("xero", "suppliers", lambda h: xero_json.contact(world, h, supplier=True))

    lists: dict[str, Callable[[], Iterable[Listed]]] = {
        "Invoices": invoices, "Contacts": contacts,
        "Payments": lambda: every("xero", "payments", lambda h: xero_json.payments(world, h)),
        "CreditNotes": lambda: every("xero", "credit_notes", lambda h: xero_json.credit_note(world, h)),
        "Overpayments": lambda: every("xero-over", "payments", lambda h: xero_json.overpayment(world, h)),
        "Prepayments": lambda: every("xero-pre", "payments", lambda h: xero_json.prepayment(world, h),
                                     only=lambda h: h.record.kind is PaymentKind.PREPAYMENT),
    }
    for name, items in lists.items():
        app.add_url_rule(f"/api.xro/2.0/{name}", f"xero_{name.lower()}",
                         lambda name=name, items=items: listing(name, items))


def _client(form: Any) -> tuple[str, str]:
    """Client credentials from Basic auth (the code exchange) or the form (xero-python's refresh)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


_ID_KEYS = {"Invoices": "InvoiceID", "Contacts": "ContactID", "Payments": "PaymentID", "CreditNotes": "CreditNoteID",
            "Overpayments": "OverpaymentID", "Prepayments": "PrepaymentID"}


def _list_filter(args: Any, name: str) -> Callable[[dict[str, Any]], bool]:
    """`Statuses` and `IDs`, as a test of one item."""
    statuses = {s.strip().upper() for s in args.get("Statuses", "").split(",") if s.strip()}
    ids = {i.strip().lower() for i in args.get("IDs", "").split(",") if i.strip()}
    return lambda item: ((not statuses or item.get("Status", item.get("ContactStatus")) in statuses)
                         and (not ids or item[_ID_KEYS[name]].lower() in ids))


def _ordered(rows: Iterable[Listed], order: str | None) -> list[orjson.Fragment]:
    """The answers of the kept items, in `order` (`UpdatedDateUTC ASC|DESC` or a top-level field)."""
    if not order:
        return [answer for _, answer in rows]
    field, _, direction = order.strip().partition(" ")
    key: Callable[[dict[str, Any]], Any] = _updated if field == "UpdatedDateUTC" else (lambda r: str(r.get(field, "")))
    keyed = [(key(item), answer) for item, answer in rows]
    keyed.sort(key=lambda pair: pair[0], reverse=direction.strip().upper() == "DESC")
    return [answer for _, answer in keyed]
