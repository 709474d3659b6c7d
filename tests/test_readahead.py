"""Reading one page ahead: same pages, same order, the same failures at the same point, no extra calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from connector.adapters.readahead import read_ahead
from connector.errors import DayLimitReached


def test_pages_arrive_in_order_and_the_next_is_fetched_while_this_one_is_worked_on() -> None:
    fetched: list[int] = []

    def pages() -> Iterator[int]:
        for n in range(5):
            fetched.append(n)
            yield n

    seen = []
    for page in read_ahead(pages()):
        time.sleep(0.05)  # the caller's work on this page
        seen.append((page, len(fetched)))
    assert [page for page, _ in seen] == [0, 1, 2, 3, 4]
    assert seen[0][1] >= 2  # page 1 was already fetched while page 0 was being worked on


def test_a_host_failure_is_raised_where_the_failed_page_is_asked_for() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise DayLimitReached("the host's daily call limit for this client is reached")

    got = []
    with pytest.raises(DayLimitReached, match="daily call limit"):
        for page in read_ahead(pages()):
            got.append(page)
    assert got == [1, 2]  # both pages before the failure were delivered and can be merged


def test_a_caller_that_stops_early_stops_the_calls_one_page_later() -> None:
    fetched: list[int] = []
    done = threading.Event()

    def pages() -> Iterator[int]:
        try:
            for n in range(100):
                fetched.append(n)
                yield n
        finally:
            done.set()

    reader = read_ahead(pages())
    assert next(reader) == 0
    reader.close()
    assert done.wait(5), "the page source was not closed after the caller stopped"
    assert len(fetched) <= 3  # page 0, the one read ahead, and at most one in flight when it stopped
