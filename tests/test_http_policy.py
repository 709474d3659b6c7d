"""The HTTP policy against the sandbox's real faults: retries with backoff honouring Retry-After, timeouts,
resets, cut-short pages, the rate limiter, and a Xero day limit that ends the run at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connector.adapters.http import HostLimits, HostPolicy, RateLimiter
from connector.errors import DayLimitReached, RetriableHostError
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.sandbox_auth import code_flow


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=13, invoices=100), rate_limits="off") as server:
        yield server


ROOMY = HostLimits(per_minute=1000, concurrent=10)


class Client:
    """A session with the policy mounted, a sleep that records instead of waiting, and a Xero token."""

    def __init__(self, sandbox: SandboxServer, limits: HostLimits = ROOMY, **policy: object) -> None:
        self.waits: list[float] = []
        self.sandbox = sandbox
        self.policy = HostPolicy(RateLimiter(limits, sleep=self.waits.append), sleep=self.waits.append, **policy)
        self.session = requests.Session()
        self.session.mount("http://", self.policy)
        self.token = code_flow(sandbox, "xero")["access_token"]

    def contacts(self) -> requests.Response:
        return self.session.get(f"{self.sandbox.url}/api.xro/2.0/Contacts", headers={
            "Authorization": f"Bearer {self.token}", "xero-tenant-id": self.sandbox.app.config["TENANT"]})


def inject(sandbox: SandboxServer, kind: str, count: int, seconds: float = 0) -> None:
    requests.post(f"{sandbox.url}/_sandbox/faults", timeout=10,
                  json={"path": "/Contacts", "kind": kind, "count": count, "seconds": seconds})


@pytest.mark.parametrize("kind", ["500", "503", "reset", "truncated", "malformed"])
def test_transient_failures_are_retried_until_the_answer_is_good(sandbox: SandboxServer, kind: str) -> None:
    client = Client(sandbox)
    inject(sandbox, kind, count=2)
    answer = client.contacts()
    assert answer.status_code == 200 and answer.json()["Contacts"]
    assert client.policy.calls == 3 and len(client.waits) == 2  # two failures, two backoffs, then success


def test_a_stall_past_the_timeout_is_retried(sandbox: SandboxServer) -> None:
    client = Client(sandbox, timeout=0.3)
    inject(sandbox, "stall", count=1, seconds=1.5)
    assert client.contacts().status_code == 200 and client.policy.calls == 2


def test_429_waits_as_long_as_retry_after_says(sandbox: SandboxServer) -> None:
    client = Client(sandbox)
    requests.post(f"{sandbox.url}/_sandbox/ratelimits", json={"mode": "custom", "xero_per_minute": 1}, timeout=10)
    assert client.contacts().status_code == 200
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"path": "/Contacts", "kind": "429", "count": 1}, timeout=10)
    requests.post(f"{sandbox.url}/_sandbox/ratelimits", json={"mode": "off"}, timeout=10)
    assert client.contacts().status_code == 200
    assert client.waits and client.waits[0] >= 1  # the sandbox's Retry-After, not a blind backoff


def test_retries_run_out_with_an_error_that_says_try_later(sandbox: SandboxServer) -> None:
    client = Client(sandbox, attempts=3)
    inject(sandbox, "503", count=5)
    with pytest.raises(RetriableHostError, match="still failing after 3 tries .*try again later"):
        client.contacts()


def test_a_day_limit_ends_the_run_at_once(sandbox: SandboxServer) -> None:
    client = Client(sandbox)
    requests.post(f"{sandbox.url}/_sandbox/ratelimits", json={"mode": "custom", "xero_per_day": 1}, timeout=10)
    assert client.contacts().status_code == 200
    with pytest.raises(DayLimitReached):
        client.contacts()
    assert client.policy.calls == 2 and client.waits == []  # no waiting, no retrying


def test_our_limiter_waits_before_the_host_would_refuse(sandbox: SandboxServer) -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds
    limiter = RateLimiter(HostLimits(per_minute=2, concurrent=1, per_day=3), clock=lambda: clock[0], sleep=sleep)
    for _ in range(2):
        with limiter.slot():
            pass
    with limiter.slot():  # the third call in the same minute waits for the window to move
        pass
    assert waits and sum(waits) >= 59
    with pytest.raises(DayLimitReached, match="daily budget of 3"):
        with limiter.slot():
            pass


@pytest.mark.parametrize("body, parses", [
    (b'{"Contacts": [{"Name": "A"}]}', True),
    (b'{"Total": NaN}', True),  # refused by orjson, accepted by `json` and the SDKs: not a garbled page
    (b'{"Name": "\\ud800"}', True),  # a lone surrogate escape, the same
    (b'{"Contacts": [{"Name": "A"', False),  # cut short
    (b"<html><body>Service Unavailable</body></html>", False),
    (b'{"Contacts": [{"Name": "A}"}]', False),  # cut short where a string's bracket balances the count
    (b'{"Contacts": [{"Name": "Smith {Ltd}"}, {"Name": "B]"}]}', True),  # brackets in strings: parsed in full
    (b'{"Contacts": [{"Name": "A"}]} trailing', False),
])
def test_only_a_body_no_json_parser_accepts_counts_as_garbled(body: bytes, parses: bool) -> None:
    from connector.adapters.http import _parses

    assert _parses(body) is parses
