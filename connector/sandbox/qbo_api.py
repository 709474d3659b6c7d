"""QuickBooks Online v3 at its real paths: discovery, consent, tokens, `query` and read by id.

Tokens: authorization_code and rotating refresh_token grants with Basic client auth.  `query` is GET or
POST `application/text`.  Moving a client between the sandbox and Intuit changes host names only.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, redirect, request

from connector.sandbox import qbo_json
from connector.sandbox.oauth import OAuthError, TokenService
from connector.sandbox.qbo_query import QueryError, fault, page, parse, select
from connector.sandbox.qbo_reports import aged_receivable_detail, aged_receivables
from connector.sandbox.qbo_writes import realm_guard, register_qbo_writes
from connector.sandbox.world import PACIFIC, HostRecord, World

CDC_LIMIT = 1000


def _now() -> str:
    return dt.datetime.now(PACIFIC).isoformat(timespec="milliseconds")


def register_qbo(app: Flask, world: World, qbo_tokens: TokenService, realm: str) -> None:
    """Serve one QuickBooks company (`realm`) on `app`."""
    _register_oauth(app, qbo_tokens, realm)
    guarded = realm_guard(lambda company: _denied(qbo_tokens, company, realm))
    _register_queries(app, world, guarded)
    _register_changes(app, world, guarded)
    register_qbo_writes(app, world, lambda company: _denied(qbo_tokens, company, realm))


def _register_oauth(app: Flask, qbo_tokens: TokenService, realm: str) -> None:
    """Discovery, consent and the token endpoint, where intuit-oauth expects them."""

    @app.get("/.well-known/openid_sandbox_configuration")
    @app.get("/.well-known/openid_configuration")
    def discovery() -> Response:
        base = request.host_url.rstrip("/")
        return jsonify({"issuer": base, "authorization_endpoint": f"{base}/connect/oauth2",
                        "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                        "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
                        "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke", "jwks_uri": f"{base}/oauth2/v1/keys",
                        "response_types_supported": ["code"], "scopes_supported": ["com.intuit.quickbooks.accounting"]})

    @app.get("/connect/oauth2")
    def consent() -> Any:
        """Consent is given at once: back to the app's redirect URI with a code, its state and the realm."""
        args = request.args
        try:
            code = qbo_tokens.authorize(args.get("client_id", ""), args.get("redirect_uri", ""), realm)
        except OAuthError as exc:
            return jsonify({"error": exc.error}), exc.status
        query = urlencode({"code": code, "state": args.get("state", ""), "realmId": realm})
        return redirect(f"{args.get('redirect_uri', '')}?{query}")

    @app.post("/oauth2/v1/tokens/bearer")
    def token() -> Any:
        try:
            client_id = _basic_client(qbo_tokens)
            form = request.form
            if form.get("grant_type") == "authorization_code":
                return jsonify(qbo_tokens.exchange(client_id, form.get("code", ""), form.get("redirect_uri", "")))
            if form.get("grant_type") == "refresh_token":
                return jsonify(qbo_tokens.refresh(client_id, form.get("refresh_token", "")))
            raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return jsonify({"error": exc.error}), exc.status



def _company_time(world: World) -> str:
    """The `time` QBO stamps on answers: the company's clock, so a client's cursor follows its changes."""
    return world.now.astimezone(PACIFIC).isoformat(timespec="milliseconds")


def _register_queries(app: Flask, world: World, guarded: Callable[[Any], Any]) -> None:
    """`query` (the books, and CompanyInfo) and the aged-receivables reports."""

    def _now() -> str:
        return _company_time(world)

    @app.route("/v3/company/<company>/query", methods=["GET", "POST"])
    @guarded
    def query(company: str) -> Any:
        text = request.args.get("query") if request.method == "GET" else request.get_data(as_text=True)
        try:
            parsed = parse(text or "")
        except QueryError as exc:
            return jsonify(fault(exc, _now())), 400
        if parsed.entity.lower() == "companyinfo":  # a singleton, not one of the company's books
            info = qbo_json.company_info(world)
            answer = page(replace(parsed, entity="CompanyInfo"), select(parsed, [(info, info)]))
            return jsonify({"QueryResponse": answer, "time": _now()})
        entity = qbo_json.ENTITY_NAMES.get(parsed.entity)
        if entity is None:
            return jsonify(fault(QueryError(f"Invalid context declaration: {parsed.entity}"), _now())), 400
        selection = (parsed.entity, parsed.where, parsed.order, parsed.mentions_active)
        rows = world.selection(("qbo", repr(selection)), lambda: select(
            parsed, qbo_json.entity_records(world, entity, world.live(entity))))
        return jsonify({"QueryResponse": page(parsed, rows), "time": _now()})

    @app.get("/v3/company/<company>/reports/<name>")
    @guarded
    def report(company: str, name: str) -> Any:
        reports = {"AgedReceivables": aged_receivables, "AgedReceivableDetail": aged_receivable_detail}
        if name not in reports:
            return jsonify(fault(QueryError(f"Report {name} is not available in the sandbox"), _now())), 400
        try:
            return jsonify(reports[name](world, request.args))
        except ValueError as exc:
            return jsonify(fault(QueryError(str(exc)), _now())), 400



def _register_changes(app: Flask, world: World, guarded: Callable[[Any], Any]) -> None:
    """`cdc` (what changed since a moment, deletions included) and a record read by its id."""

    def _now() -> str:
        return _company_time(world)

    @app.get("/v3/company/<company>/cdc")
    @guarded
    def cdc(company: str) -> Any:
        """Changes since a moment, deletions as `status: Deleted`; 30 days back at most, 1,000 objects."""
        try:
            since = dt.datetime.fromisoformat(request.args.get("changedSince", "").replace("Z", "+00:00"))
            since = since if since.tzinfo else since.replace(tzinfo=PACIFIC)
        except ValueError:
            return jsonify(fault(QueryError("changedSince must be an ISO 8601 date-time"), _now())), 400
        if since < world.now - dt.timedelta(days=30):
            return jsonify(fault(QueryError("changedSince can not be more than 30 days in the past"), _now())), 400
        responses, left = [], CDC_LIMIT
        for name in filter(None, (e.strip() for e in request.args.get("entities", "").split(","))):
            entity = qbo_json.ENTITY_NAMES.get(name)
            if entity is None:
                return jsonify(fault(QueryError(f"Invalid entity for CDC: {name}"), _now())), 400
            changed = world.changed_since(entity, since)
            rows = [_deleted(h) if h.deleted else qbo_json.render(world, h) for h in changed]
            if entity == "payments":  # a credit memo's applications change when the credit memo does
                rows += [p for h in world.changed_since("credit_notes", since) if not h.deleted
                         for p in qbo_json.credit_applications(world, h)]
            rows = rows[:left]
            left -= len(rows)
            if rows:
                responses.append({name: rows, "startPosition": 1, "maxResults": len(rows)})
        return jsonify({"CDCResponse": [{"QueryResponse": responses}], "time": _now()})

    @app.get("/v3/company/<company>/<name>/<key>")
    @guarded
    def read(company: str, name: str, key: str) -> Any:
        if name.lower() == "companyinfo" and key == "1":
            return jsonify({"CompanyInfo": qbo_json.company_info(world), "time": _now()})
        kind = next((k for k in qbo_json.ENTITY_NAMES if k.lower() == name.lower()), None)
        found = next((h for h in world.live(qbo_json.ENTITY_NAMES[kind]) if h.qbo_id == key), None) if kind else None
        if found is None:
            body = {"Fault": {"Error": [{"Message": "Object Not Found", "Detail": f"Object Not Found : {name} {key}",
                                         "code": "610"}], "type": "ValidationFault"}, "time": _now()}
            return jsonify(body), 400
        return jsonify({kind: qbo_json.render(world, found), "time": _now()})


def _deleted(host: HostRecord) -> dict[str, Any]:
    return {"domain": "QBO", "status": "Deleted", "Id": host.qbo_id,
            "MetaData": {"LastUpdatedTime": host.updated.astimezone(PACIFIC).isoformat()}}


def _basic_client(tokens: TokenService) -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        raise OAuthError("invalid_client", 401)
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        raise OAuthError("invalid_client", 401) from None
    tokens.check_client(client_id, secret)
    return client_id


def _denied(tokens: TokenService, company: str, realm: str) -> Any:
    tenant = tokens.tenant_of(request.headers.get("Authorization"))
    if tenant is None:
        body = {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                     "code": "3200"}], "type": "AUTHENTICATION"}, "time": _now()}
        return jsonify(body), 401
    if tenant != company or company != realm:
        body = {"Fault": {"Error": [{"Message": "Authorization Failure", "Detail": "Authorization Failure",
                                     "code": "003100"}], "type": "AuthorizationFault"}, "time": _now()}
        return jsonify(body), 403
    return None
