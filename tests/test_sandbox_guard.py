"""Sandbox rate limits (real, off, custom), injected faults and the request log, as a client meets them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests

from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.sandbox_auth import code_flow


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=8, invoices=200)) as server:
        yield server


def xero_token(sandbox: SandboxServer) -> str:
    return code_flow(sandbox, "xero")["access_token"]


def qbo_token(sandbox: SandboxServer) -> str:
    return code_flow(sandbox, "qbo")["access_token"]


def xero_get(sandbox: SandboxServer, token: str, timeout: float = 10) -> requests.Response:
    return requests.get(f"{sandbox.url}/api.xro/2.0/Contacts", timeout=timeout, headers={
        "Authorization": f"Bearer {token}", "xero-tenant-id": sandbox.app.config["TENANT"],
        "Accept": "application/json"})


def qbo_get(sandbox: SandboxServer, token: str, timeout: float = 10) -> requests.Response:
    return requests.get(f"{sandbox.url}/v3/company/9130357766900456/query", timeout=timeout,
                        params={"query": "SELECT * FROM Customer"},
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})


def limits(sandbox: SandboxServer, **settings: object) -> None:
    assert requests.post(f"{sandbox.url}/_sandbox/ratelimits", json=settings, timeout=10).status_code == 200


def fault(sandbox: SandboxServer, **spec: object) -> None:
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json=spec, timeout=10).status_code == 200


def test_xero_minute_limit_with_retry_after_and_remaining_headers(sandbox: SandboxServer) -> None:
    token = xero_token(sandbox)
    limits(sandbox, mode="custom", xero_per_minute=3)
    answers = [xero_get(sandbox, token) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-MinLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    day_left = [int(a.headers["X-DayLimit-Remaining"]) for a in answers[:3]]
    app_left = [int(a.headers["X-AppMinLimit-Remaining"]) for a in answers[:3]]
    assert day_left == sorted(day_left, reverse=True) and app_left == sorted(app_left, reverse=True)
    assert day_left[0] - day_left[2] == 2 and app_left[0] - app_left[2] == 2  # every call counted
    assert answers[3].headers["X-Rate-Limit-Problem"] == "minute" and int(answers[3].headers["Retry-After"]) >= 1
    limits(sandbox, mode="off")
    assert xero_get(sandbox, token).status_code == 200


def test_xero_day_limit_says_day(sandbox: SandboxServer) -> None:
    token = xero_token(sandbox)
    limits(sandbox, mode="custom", xero_per_day=2)
    answers = [xero_get(sandbox, token) for _ in range(3)]
    assert answers[2].status_code == 429 and answers[2].headers["X-Rate-Limit-Problem"] == "day"
    assert answers[1].headers["X-DayLimit-Remaining"] == "0"


def test_qbo_throttle_is_429_with_fault_3001_and_concurrency_counts(sandbox: SandboxServer) -> None:
    token = qbo_token(sandbox)
    limits(sandbox, mode="custom", qbo_per_minute=2)
    answers = [qbo_get(sandbox, token) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["Fault"]["Error"][0]["code"] == "3001"
    limits(sandbox, mode="custom", qbo_per_minute=500, qbo_concurrent=1)
    fault(sandbox, path="/query", kind="stall", count=1, seconds=1.0)
    slow = threading.Thread(target=qbo_get, args=(sandbox, token))
    slow.start()
    import time
    time.sleep(0.3)
    assert qbo_get(sandbox, token).status_code == 429  # one at a time, and one is stalled
    slow.join()


@pytest.mark.parametrize("kind, error", [("stall", requests.Timeout), ("reset", requests.ConnectionError),
                                         ("truncated", json.JSONDecodeError), ("malformed", json.JSONDecodeError)])
def test_injected_faults_hit_the_next_matching_requests_only(sandbox: SandboxServer, kind: str, error: type) -> None:
    token = xero_token(sandbox)
    fault(sandbox, path="/Contacts", kind=kind, count=1, seconds=2)
    with pytest.raises(error):
        xero_get(sandbox, token, timeout=0.5).json()
    assert xero_get(sandbox, token).json()["Contacts"]  # the next one is fine


def test_server_errors_for_n_requests_then_recovery_and_the_request_log(sandbox: SandboxServer) -> None:
    token = qbo_token(sandbox)
    fault(sandbox, path="/v3/", kind="503", count=2)
    assert [qbo_get(sandbox, token).status_code for _ in range(3)] == [503, 503, 200]
    log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()
    assert sum(1 for entry in log if entry["path"].endswith("/query")) == 3
    assert requests.post(f"{sandbox.url}/_sandbox/faults", json={"kind": "explode"}, timeout=10).status_code == 400


def test_the_clock_is_set_forward_never_back(sandbox: SandboxServer) -> None:
    today = requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["today"]
    import datetime as dt
    later = (dt.date.fromisoformat(today) + dt.timedelta(days=3)).isoformat()
    moved = requests.post(f"{sandbox.url}/_sandbox/clock", json={"set": later}, timeout=30).json()
    assert moved["today"] == later and moved["made"]["invoices"] >= 3
    back = requests.post(f"{sandbox.url}/_sandbox/clock", json={"set": today}, timeout=10)
    assert back.status_code == 400 and "only moves forward" in back.json()["error"]
