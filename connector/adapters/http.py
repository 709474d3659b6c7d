"""One HTTP policy for every host call: a timeout on each request, a per-client rate limiter that stays
under the host's published limits, and retries with backoff that honour `Retry-After`.

It is a `requests` transport adapter, so it mounts on any `requests.Session`, including the ones the
official SDKs use, and adapters never sprinkle their own retry loops.  What it retries: HTTP 429, 5xx,
connection errors, resets, timeouts, and a JSON body that does not parse (a page cut short).  What it
does not: a Xero day-limit 429 (`X-Rate-Limit-Problem:
day`) ends the client's run at once with `DayLimitReached`, since waiting minutes would not help.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connector.errors import DayLimitReached, RetriableHostError


@dataclass(frozen=True)
class HostLimits:
    """Our own ceilings, kept below each host's published limits (QBO 500/min and 10 at once per realm;
    Xero 60/min, 5 at once and 5,000 a day per tenant)."""

    per_minute: int
    concurrent: int
    per_day: int | None = None


QBO_LIMITS = HostLimits(per_minute=450, concurrent=8)
XERO_LIMITS = HostLimits(per_minute=55, concurrent=4, per_day=5000)


def limits_for(defaults: HostLimits, per_minute: int | None = None, concurrent: int | None = None,
               per_day: int | None = None) -> HostLimits:
    """The host's defaults with a client's own settings (`[limits]` in its config) laid over them."""
    return HostLimits(per_minute=per_minute or defaults.per_minute, concurrent=concurrent or defaults.concurrent,
                      per_day=per_day or defaults.per_day)


class RateLimiter:
    """A sliding one-minute window, a cap on calls in flight, and an optional daily budget, per client."""

    def __init__(self, limits: HostLimits, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits, self.clock, self.sleep = limits, clock, sleep
        self.calls: deque[float] = deque()
        self.today = 0
        self.lock = threading.Lock()
        self.in_flight = threading.BoundedSemaphore(limits.concurrent)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for room in the minute window and a free concurrent slot, then hold it for one call."""
        self._reserve()
        with self.in_flight:
            yield

    def _reserve(self) -> None:
        while True:
            with self.lock:
                now = self.clock()
                while self.calls and self.calls[0] <= now - 60:
                    self.calls.popleft()
                if self.limits.per_day is not None and self.today >= self.limits.per_day:
                    raise DayLimitReached(f"the daily budget of {self.limits.per_day} calls is spent; "
                                          "the next run resumes where this one stopped")
                if len(self.calls) < self.limits.per_minute:
                    self.calls.append(now)
                    self.today += 1
                    return
                wait = self.calls[0] + 60 - now
            self.sleep(max(wait, 0.01))


class _Retry(Exception):
    """A response or failure worth another try, with the host's `Retry-After` when it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None  # ok: seconds to wait, not money
    except ValueError:
        return None


class _Wait:
    """Honour `Retry-After` (capped); otherwise exponential backoff with jitter."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.backoff = wait_random_exponential(multiplier=0.5, max=cap)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retry) and error.retry_after is not None:
            return min(error.retry_after, self.cap)
        return self.backoff(state)


class HostPolicy(HTTPAdapter):
    """Mount on a session (`session.mount("https://", HostPolicy(limiter))`) to give every call the policy."""

    def __init__(self, limiter: RateLimiter, *, timeout: float | tuple[float, float] = (10, 60),
                 attempts: int = 6, max_wait: float = 60, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.limiter, self.timeout, self.attempts, self.max_wait, self.pause = limiter, timeout, attempts, max_wait, sleep
        self.calls = 0

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        if not kwargs.get("timeout"):
            kwargs["timeout"] = self.timeout
        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=_Wait(self.max_wait), sleep=self.pause,
                            retry=retry_if_exception_type(_Retry), reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(request, kwargs)
        except _Retry as exc:
            raise RetriableHostError(f"{request.method} {request.url}: still failing after {self.attempts} "
                                     f"tries ({exc}); try again later") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, request: requests.PreparedRequest, kwargs: dict) -> requests.Response:  # type: ignore[type-arg]
        with self.limiter.slot():
            self.calls += 1
            try:
                response = super().send(request, **kwargs)  # type: ignore[arg-type]
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _Retry(type(exc).__name__) from exc
        if response.status_code == 429:
            if response.headers.get("X-Rate-Limit-Problem", "").lower() == "day":
                raise DayLimitReached("the host's daily call limit for this client is reached; "
                                      "the next run resumes where this one stopped")
            raise _Retry("HTTP 429", _retry_after(response))
        if response.status_code >= 500:
            raise _Retry(f"HTTP {response.status_code}", _retry_after(response))
        try:
            body = response.content  # read the body now, so that a connection cut mid-body is retried here
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retry("body cut short") from exc
        if body and "json" in response.headers.get("Content-Type", "") and not _parses(body):
            raise _Retry("a JSON response that does not parse (cut short or garbled)")
        return response


def _parses(body: bytes) -> bool:
    """Whether a body is JSON, as far as a retry is concerned.

    The SDK parses every body again (with `Decimal` amounts), so a full parse here doubled a sync's JSON
    work.  A body that opens and closes as one object or array, with its brackets balanced, is taken on
    trust: a body cut short always has more openings than closings, and an error page is not bracketed.
    Anything else is parsed in full (brackets inside strings can unbalance a good body).  What this lets
    through and the SDK still cannot read fails that run rather than being retried.
    """
    text = body.strip()
    if text[:1] + text[-1:] in (b"{}", b"[]") and text.count(b"{") == text.count(b"}") \
            and text.count(b"[") == text.count(b"]"):
        return True
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # orjson is stricter than `json` and the SDKs (it refuses NaN and lone surrogates)
            json.loads(body)
        except ValueError:
            return False
    return True


def session_with(policy: HostPolicy) -> requests.Session:
    """A session whose every call goes through `policy` (one per client: its limiter is the client's)."""
    session = requests.Session()
    session.mount("https://", policy)
    session.mount("http://", policy)
    return session
