"""The sandbox's control API under `/_sandbox/`: the company clock and the writes clients made.

`GET /_sandbox/clock` gives the company's now and today; `POST /_sandbox/clock` with
`{"advance_days": N}` or `{"set": "YYYY-MM-DD"}` moves it ahead (never back) with a company's usual
activity on every day passed (see `activity.py`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, jsonify, request

from connector.sandbox.activity import advance
from connector.sandbox.world import World


def register_control(app: Flask, world: World) -> None:
    @app.get("/_sandbox/clock")
    def clock() -> Any:
        return jsonify({"now": world.now.isoformat(), "today": world.today.isoformat()})

    @app.get("/_sandbox/writes")
    def writes() -> Any:
        """Every write clients made (notes, history records, attachments, e-mails sent, updates)."""
        return jsonify(world.writes)

    @app.post("/_sandbox/oauth")
    def oauth_control() -> Any:
        """`{"expire_access_tokens": true}` and/or `{"advance_seconds": N}`, for both hosts' token services."""
        body = request.get_json(silent=True) or {}
        services = [app.config["QBO_TOKENS"], app.config["XERO_TOKENS"]]
        seconds = body.get("advance_seconds", 0)
        if not isinstance(seconds, (int, float)) or seconds < 0:
            return jsonify({"error": "advance_seconds must be a number of seconds, 0 or more"}), 400
        expired = 0
        for service in services:
            service.offset += seconds
            if body.get("expire_access_tokens"):
                expired += service.expire_access_tokens()
        return jsonify({"advanced_seconds": seconds, "expired_access_tokens": expired})

    @app.post("/_sandbox/clock")
    def move_clock() -> Any:
        body = request.get_json(silent=True) or {}
        days = body.get("advance_days")
        if "set" in body:
            try:
                days = (dt.date.fromisoformat(str(body["set"])) - world.today).days
            except ValueError:
                return jsonify({"error": "set takes a date, YYYY-MM-DD"}), 400
            if days < 0:
                return jsonify({"error": f"the clock only moves forward: today is {world.today}"}), 400
            if days == 0:
                return jsonify({"now": world.now.isoformat(), "today": world.today.isoformat(), "made": {}})
        if not isinstance(days, int) or not 0 < days <= 366:
            return jsonify({"error": 'send {"advance_days": N} (1 to 366) or {"set": "YYYY-MM-DD"}'}), 400
        made = advance(world, days)
        return jsonify({"now": world.now.isoformat(), "today": world.today.isoformat(), "made": made})
