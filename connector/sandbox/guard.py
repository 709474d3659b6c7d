"""What stands between a client and the sandbox's data: rate limits, injected faults and the request log.

Rate limits follow the hosts' published ones (mode `real`): QuickBooks 500 requests a minute and 10 at once
per realm, answered with HTTP 429 and Fault 3001; Xero 60 a minute, 5 at once and 5,000 a day per tenant,
answered with 429, `Retry-After` and `X-Rate-Limit-Problem`, and with `X-MinLimit-Remaining`,
`X-DayLimit-Remaining` and `X-AppMinLimit-Remaining` on every response.  Mode `off` removes them and
`custom` takes other numbers.  Faults are injected for the next N requests whose path matches: 500, 503,
429, a stall of S seconds, a reset connection, a truncated or a malformed body.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Flask, Response, g, jsonify, request

KINDS = ("500", "503", "429", "stall", "reset", "truncated", "malformed")


@dataclass
class Limits:
    mode: str = "real"
    qbo_per_minute: int = 500
    qbo_concurrent: int = 10
    xero_per_minute: int = 60
    xero_concurrent: int = 5
    xero_per_day: int = 5000


@dataclass
class Fault:
    path: str
    kind: str
    count: int
    seconds: float = 0.0


@dataclass
class Guard:
    limits: Limits = field(default_factory=Limits)
    faults: list[Fault] = field(default_factory=list)
    log: deque = field(default_factory=lambda: deque(maxlen=10_000))
    calls: dict[str, deque] = field(default_factory=lambda: {"qbo": deque(), "xero": deque()})
    day_calls: dict[str, int] = field(default_factory=lambda: {"xero": 0})
    in_flight: dict[str, int] = field(default_factory=lambda: {"qbo": 0, "xero": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)
    replies: dict[tuple[str, str], tuple[int, bytes, str | None]] = field(default_factory=dict)

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and re.search(fault.path, path):
                    fault.count -= 1
                    return fault
        return None

    def admit(self, host: str, now: float) -> str | None:
        """Count a call against the host's limits; the problem ('minute', 'day', 'concurrent') if over one."""
        limits = self.limits
        if limits.mode == "off":
            return None
        per_minute = limits.qbo_per_minute if host == "qbo" else limits.xero_per_minute
        concurrent = limits.qbo_concurrent if host == "qbo" else limits.xero_concurrent
        with self.lock:
            window = self.calls[host]
            while window and window[0] <= now - 60:
                window.popleft()
            if self.in_flight[host] >= concurrent:
                return "concurrent"
            if len(window) >= per_minute:
                return "minute"
            if host == "xero" and self.day_calls["xero"] >= limits.xero_per_day:
                return "day"
            window.append(now)
            self.in_flight[host] += 1
            if host == "xero":
                self.day_calls["xero"] += 1
        return None

    def done(self, host: str) -> None:
        with self.lock:
            self.in_flight[host] = max(0, self.in_flight[host] - 1)

    def retry_after(self, host: str, now: float) -> int:
        window = self.calls[host]
        return max(1, int(60 - (now - window[0])) + 1) if window else 1

    def remaining(self, now: float) -> dict[str, str]:
        minute = [t for t in self.calls["xero"] if t > now - 60]
        return {"X-MinLimit-Remaining": str(max(0, self.limits.xero_per_minute - len(minute))),
                "X-DayLimit-Remaining": str(max(0, self.limits.xero_per_day - self.day_calls["xero"])),
                "X-AppMinLimit-Remaining": str(max(0, 10_000 - len(minute)))}


def _host(path: str) -> str | None:
    if path.startswith("/v3/company/"):
        return "qbo"
    if path.startswith("/api.xro/2.0/") or path.lower().startswith("/connections"):
        return "xero"
    return None


def _idempotency_key(host: str | None) -> tuple[str, str] | None:
    """QBO's `requestid` query parameter or Xero's `Idempotency-Key` header on a write, per host."""
    if host is None or request.method not in ("POST", "PUT", "DELETE"):
        return None
    key = request.args.get("requestid") if host == "qbo" else request.headers.get("Idempotency-Key")
    return (host, key) if key else None


def _throttled(host: str, problem: str, guard: Guard, now: float) -> Response:
    if host == "qbo":
        body = {"Fault": {"Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                                     "Detail": "ThrottleExceeded", "code": "3001"}], "type": "SERVICE"}}
        response = jsonify(body)
    else:
        response = jsonify({"Title": "Too Many Requests", "Status": 429, "Detail": f"{problem} rate limit exceeded"})
        wait = 3600 if problem == "day" else guard.retry_after(host, now)
        response.headers.update({"Retry-After": str(wait), "X-Rate-Limit-Problem": problem})
    response.status_code = 429
    return response


def _reset_connection() -> None:
    """Drop the client's connection without an answer, the way a failing load balancer does.

    The socket is shut down rather than closed: the server's own handler still holds it and closes it
    afterwards, so no descriptor is closed twice (which could hit a newer connection reusing its number).
    """
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _fault_response(fault: Fault, host: str | None, guard: Guard, now: float) -> Response | None:
    if fault.kind == "stall":
        time.sleep(fault.seconds)
        return None
    if fault.kind == "reset":
        _reset_connection()
        return Response(status=500)
    if fault.kind == "truncated":
        g.truncate = True
        return None
    if fault.kind == "malformed":
        return Response("<html><body>Service Unavailable</body></html>", status=200, mimetype="application/json")
    if fault.kind == "429":
        return _throttled(host or "xero", "minute", guard, now)
    body = {"Fault": {"Error": [{"Message": "An application error has occurred while processing your request",
                                 "code": "10000"}], "type": "SystemFault"}}
    return Response(response=jsonify(body).get_data(), status=int(fault.kind), mimetype="application/json")


def register_guard(app: Flask, guard: Guard) -> None:
    """The guard's hooks around every host call, and the `/_sandbox/` endpoints that set and show it."""
    app.config["GUARD"] = guard
    _register_hooks(app, guard)
    _register_controls(app, guard)


def _register_hooks(app: Flask, guard: Guard) -> None:
    """Before a call: log it, apply the limits and injected faults, replay an idempotent retry; after it:
    keep the reply for such retries, cut a truncated one, report Xero's remaining limits."""

    @app.before_request
    def before() -> Response | None:
        now = time.time()
        path = request.path
        if path.startswith("/_sandbox/"):
            return None
        guard.log.append({"at": now, "method": request.method, "path": path, "query": request.query_string.decode(),
                          "tenant": request.headers.get("xero-tenant-id"),
                          "request_id": request.args.get("requestid") or request.headers.get("Idempotency-Key")})
        host = _host(path)
        if host is not None:
            problem = guard.admit(host, now)
            if problem is not None:
                return _throttled(host, problem, guard, now)
            g.counted = host  # from here the call holds one of the host's concurrent slots
        fault = guard.take_fault(path)
        if fault is not None:
            return _fault_response(fault, host, guard, now)
        key = _idempotency_key(host)
        if key is not None and key in guard.replies:
            status, data, mimetype = guard.replies[key]
            return Response(data, status=status, mimetype=mimetype)  # the original answer; nothing done again
        g.idempotency_key = key
        return None

    @app.after_request
    def after(response: Response) -> Response:
        key = getattr(g, "idempotency_key", None)
        if key is not None and response.status_code < 500 and not response.direct_passthrough:
            guard.replies[key] = (response.status_code, response.get_data(), response.mimetype)
        if getattr(g, "truncate", False) and not response.direct_passthrough:
            data = response.get_data()
            response.set_data(data[: len(data) // 2])
        if _host(request.path) == "xero" and guard.limits.mode != "off":
            response.headers.update(guard.remaining(time.time()))
        return response

    @app.teardown_request
    def teardown(_: BaseException | None) -> None:
        host = getattr(g, "counted", None)
        if host is not None:
            guard.done(host)


def _register_controls(app: Flask, guard: Guard) -> None:
    """`/_sandbox/ratelimits`, `/_sandbox/faults` and `/_sandbox/requests`: what tests set and read."""

    @app.route("/_sandbox/ratelimits", methods=["GET", "POST"])
    def ratelimits() -> Any:
        if request.method == "POST":
            changes = request.get_json(silent=True) or {}
            unknown = sorted(set(changes) - set(asdict(guard.limits)))
            if unknown or changes.get("mode", "real") not in ("real", "off", "custom"):
                return jsonify({"error": f"unknown setting(s) {unknown} or mode (real, off, custom)"}), 400
            if changes.get("mode") == "real":
                guard.limits = Limits()
            else:
                for key, value in changes.items():
                    setattr(guard.limits, key, value)
        return jsonify(asdict(guard.limits))

    @app.route("/_sandbox/faults", methods=["GET", "POST", "DELETE"])
    def faults() -> Any:
        if request.method == "POST":
            spec = request.get_json(silent=True) or {}
            if spec.get("kind") not in KINDS or not isinstance(spec.get("count", 1), int):
                return jsonify({"error": f"kind must be one of {', '.join(KINDS)}"}), 400
            with guard.lock:
                guard.faults.append(Fault(spec.get("path", ".*"), spec["kind"], spec.get("count", 1),
                                          float(spec.get("seconds", 0))))
        elif request.method == "DELETE":
            with guard.lock:
                guard.faults.clear()
        return jsonify([asdict(f) for f in guard.faults if f.count > 0])

    @app.get("/_sandbox/requests")
    def requests_log() -> Any:
        return jsonify(list(guard.log))
